// Watch mode as a developer uses it: change a service's source and the new code answers; break it and
// the watcher survives, then picks up the fix.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { createClient } from '../../mesh/index.ts';
import { NATS_URL, uniqueName } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));
const MESH_INDEX = fileURLToPath(new URL('../../mesh/index.ts', import.meta.url));

function serviceSource(name: string, answer: string): string {
  return `import { rpc } from ${JSON.stringify(MESH_INDEX)};
export default class VersionService {
  name = ${JSON.stringify(name)};
  @rpc async version() { return ${JSON.stringify(answer)}; }
}
`;
}

it('restarts a service when its source changes and survives a syntax error', async () => {
  const name = uniqueName('watched');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-watch-'));
  const file = join(dir, 'index.ts');
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  writeFileSync(file, serviceSource(name, 'v1'));

  const watcher = spawn(process.execPath, [MESH, 'run', dir, '--watch'], {
    env: { ...process.env, NATS_URL, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  watcher.stdout.on('data', (d) => (output += d));
  watcher.stderr.on('data', (d) => (output += d));

  const nc = await connect({ servers: NATS_URL });
  const client = createClient(nc, { timeoutMs: 2000 });
  const answers = async (expected: string) => {
    for (let i = 0; i < 200; i++) {
      const reply = await client.call(`${name}.version`).catch(() => undefined);
      if (reply?.[0][0] === expected) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`never answered ${expected}; output:\n${output}`);
  };

  const exercise = async () => {
    await answers('v1');
    writeFileSync(file, serviceSource(name, 'v2'));
    await answers('v2');

    writeFileSync(file, `${serviceSource(name, 'v3')}\nthis is not typescript {{{\n`);
    for (let i = 0; i < 200 && !output.includes('process failed'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(output, /process failed; fix the source/);
    assert.equal(watcher.exitCode, null, 'the watcher is still running');

    writeFileSync(file, serviceSource(name, 'v3'));
    await answers('v3');
  };

  // A failed step must not leave the watcher (and so this test file) running: stopped in any case below.
  const exited = once(watcher, 'exit');
  try {
    await exercise();
  } finally {
    if (watcher.exitCode === null && watcher.signalCode === null) watcher.kill('SIGTERM');
    client.close();
    await nc.close();
  }
  const [code] = await exited;
  assert.equal(code, 0);
});
