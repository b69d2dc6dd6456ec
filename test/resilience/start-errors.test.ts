// A service whose declarations are wrong does not start: `mesh run` stops with one configuration error line naming
// the method or the hook and exits 78, whether the mistake is on @rpc, @task or @event (found as the class is read) or in `use`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { OwnNatsServer } from '../helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MESH = join(root, 'bin/mesh.js');
const MESH_INDEX = join(root, 'mesh/index.ts');

/** A service folder whose index.ts is the class given (its body), importing nats-mesh from this checkout. */
function service(dir: string, name: string, body: string): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  writeFileSync(join(folder, 'index.ts'), `import { event, rpc, task } from '${MESH_INDEX}';\nexport default class Bad {\n  name = '${name}';\n${body}\n}\n`);
  return folder;
}

describe('mesh run with a wrong declaration', () => {
  let server: OwnNatsServer;
  // Inside the checkout, so the modules get this repository's tsconfig (decorators) when tsx loads them.
  const dir = mkdtempSync(join(fileURLToPath(new URL('.', import.meta.url)), '.start-'));

  before(async () => (server = await OwnNatsServer.start()));
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { name: 'typo', body: `  @rpc({ idempotant: true } as never) async get() {}`, says: /^@rpc on 'get': unknown option 'idempotant' \(it takes params, result,/ },
    { name: 'policy', body: `  @rpc({ retries: { max: 3 } } as never) async get() {}`, says: /^@rpc on 'get': unknown option 'retries'/ },
    { name: 'kind', body: `  @rpc({ idempotent: 'yes' } as never) async get() {}`, says: /^@rpc on 'get': idempotent must be a boolean, got string$/ },
    { name: 'narrow', body: `  @rpc({ bulkhead: { limit: 0 } }) async get() {}`, says: /^@rpc on 'get': bulkhead\.limit must be at least 1$/ },
    { name: 'zero', body: `  @rpc({ bulkhead: 0 } as never) async get() {}`, says: /^@rpc on 'get': bulkhead must be an object, got number$/ },
    { name: 'task option', body: `  @task({ retry: 3 } as never) async sweep() {}`, says: /^@task on 'sweep': unknown option 'retry' \(it takes params, result, description, concurrency, retries,/ },
    { name: 'task option kind', body: `  @task({ ignoreResult: 'yes' } as never) async sweep() {}`, says: /^@task on 'sweep': ignoreResult must be a boolean, got string$/ },
    { name: 'not a method', body: `  @task() count = 1;`, says: /^@task can only mark methods, not 'count'$/ },
    { name: 'tick', body: `  @task({ cron: '61 * * * *' }) async sweep() {}`, says: /^@task on 'sweep': cron: "61 \* \* \* \*" is not a cron expression/ },
    { name: 'subject', body: `  @event('a..b') async heard() {}`, says: /^@event\("a\.\.b"\): / },
    { name: 'hooks', body: `  use = [{ befor() {} }];\n  @rpc async get() {}`, says: /^hooks: hosting: use\[0\] has unknown key 'befor'$/ },
  ];

  for (const { name, body, says } of cases) {
    it(`${name}: exits 78 with one line saying what is wrong`, async () => {
      const folder = service(dir, name, body);
      const failed = (await promisify(execFile)(process.execPath, [MESH, 'run', folder], {
        cwd: root,
        env: { ...process.env, NATS_URL: server.url, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
        timeout: 30_000,
      }).then(
        () => assert.fail('mesh run started'),
        (err: unknown) => err,
      )) as { code: number; stdout: string; stderr: string };
      assert.equal(failed.code, 78, failed.stdout + failed.stderr);
      const lines = (failed.stdout + failed.stderr).trim().split('\n');
      assert.equal(lines.length, 1, lines.join('\n'));
      const line = JSON.parse(lines[0]!) as { level: number; msg: string; err?: unknown };
      assert.equal(line.level, 60);
      assert.equal(line.err, undefined, 'no stack');
      assert.match(line.msg.replace(/^could not start: /, ''), says);
    });
  }
});
