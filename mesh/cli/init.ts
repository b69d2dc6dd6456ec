// `mesh init <dir>`: writes a new project that runs at once: package.json, tsconfig.json, a sample service with a
// schema and its test (on createTestMesh, no server), mesh.config.json and .gitignore. It never writes into a folder in use.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MeshError } from '../wire/errors.ts';
import { PACKAGE_JSON } from './package-json.ts';

interface Manifest {
  name: string;
  version: string;
  dependencies: Record<string, string>;
}

/** A package name npm accepts, made from the folder's name: lower case, letters, digits, dashes. */
function packageName(dir: string): string {
  return (
    basename(resolve(dir))
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+|-+$/g, '') || 'my-mesh'
  );
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

const SERVICE = `// hello_service: the sample service of this project. A class, a name, and @rpc methods whose parameters a
// zod schema declares; \`npm start\` serves it over HTTP and WAMP, \`npm test\` tests it without a NATS server.
import { MeshError, rpc, z } from 'nats-mesh';

export default class HelloService {
  name = 'hello_service';
  version = '0.1.0';
  description = 'Greets people';

  @rpc({
    params: z.object({ name: z.string().min(1, 'must not be empty'), excited: z.boolean().default(false) }),
    result: z.string(),
    description: 'Greets a person by name',
  })
  async greet(name: string, excited: boolean) {
    if (name.toLowerCase() === 'nobody') throw new MeshError('NOT_FOUND', 'nobody is not here');
    return \`Hello, \${name}\${excited ? '!' : '.'}\`;
  }
}
`;

const TEST = `// hello_service's tests, on createTestMesh: the real service host and client in this process, no NATS server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestMesh, type TestMesh } from 'nats-mesh/testing';
import HelloService from '../services/hello/index.ts';

describe('hello_service', () => {
  let mesh: TestMesh<{ hello_service: HelloService }>;
  before(async () => (mesh = await createTestMesh([HelloService])));
  after(() => mesh.stop());

  it('greets by name', async () => {
    assert.equal(await mesh.client.hello_service.greet('Ada'), 'Hello, Ada.');
    assert.equal(await mesh.client.hello_service.greet('Ada', { excited: true }), 'Hello, Ada!');
  });

  it('refuses what its schema refuses, naming the field', async () => {
    await assert.rejects(mesh.client.call('hello_service.greet', [''], {}), { code: 'INVALID_ARGUMENT', message: 'name must not be empty' });
  });

  it('answers with the error the service throws', async () => {
    await assert.rejects(mesh.client.hello_service.greet('nobody'), { code: 'NOT_FOUND' });
  });
});
`;

/** The files of a new project, by path, for nats-mesh at `version` (and the tsx it runs TypeScript with). */
export function projectFiles(name: string, own: Manifest): Map<string, string> {
  return new Map([
    [
      'package.json',
      json({
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        scripts: { start: 'mesh up', dev: 'mesh up --watch', test: "node --import tsx --test 'test/**/*.test.ts'" },
        dependencies: { [own.name]: `^${own.version}`, tsx: own.dependencies.tsx },
        mesh: { up: ['run services/hello', 'gateway http', 'gateway wamp'] },
      }),
    ],
    [
      'tsconfig.json',
      json({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          experimentalDecorators: true,
          useDefineForClassFields: true,
          allowImportingTsExtensions: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['services', 'test'],
      }),
    ],
    ['mesh.config.json', json({ nats: { url: ['nats://127.0.0.1:4222'] }, rpc: { timeoutMs: 10_000 }, http: { host: '127.0.0.1', port: 5000 }, wamp: { host: '127.0.0.1', port: 8080 } })],
    ['.gitignore', 'node_modules/\n.data/\n'],
    ['services/hello/index.ts', SERVICE],
    ['test/hello.test.ts', TEST],
  ]);
}

/** Writes a new project into dir (made when missing); refuses, writing nothing, when dir is a file or holds anything. */
export function initProject(dir: string): string[] {
  const root = resolve(dir);
  if (existsSync(root) && (!statSync(root).isDirectory() || readdirSync(root).length > 0)) {
    throw new MeshError('CONFLICT', `${root} is not an empty folder: mesh init writes a new project only into a new or empty one`);
  }
  const files = projectFiles(packageName(root), JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as Manifest);
  for (const [path, text] of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text, { flag: 'wx' });
  }
  return [...files.keys()];
}
