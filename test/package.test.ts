// The package as a newcomer gets it: `npm pack`, installed into an empty project outside the repository, the
// service files of docs/services.md written there verbatim, run with `npx mesh run`, called over raw NATS and over HTTP;
// and a project made by `mesh init`: its own tests with no NATS server, `npm start` serving its sample, nothing else.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { errorTextWithoutId, freePort, OwnNatsServer, withoutErrorId } from './helpers.ts';
import { packedTarball } from './packed.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE = readFileSync(join(ROOT, 'docs', 'services.md'), 'utf8');
/** "Writing a service": the page up to its first subsection. */
const SECTION = PAGE.slice(PAGE.indexOf('# Writing a service\n'), PAGE.indexOf('\n## '));

/** The section's ```ts title="path" blocks: the files a reader writes. */
function serviceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [, path, code] of SECTION.matchAll(/```ts title="([^"]+)"\n([\s\S]*?)```/g)) files.set(path!, code!);
  return files;
}

/** The section's `$ nats request <subject> '<payload>'` lines with the line printed after each. */
function natsRequests(): { subject: string; payload: string; output: string }[] {
  return [...SECTION.matchAll(/^\$ nats request (\S+) '(.*)'\n(.*)$/gm)].map(([, subject, payload, output]) => ({
    subject: subject!,
    payload: payload!,
    output: output!,
  }));
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up in ${ms} ms`);
}

const work = mkdtempSync(join(tmpdir(), 'nats-mesh-package-'));
// Deleting the two installed projects (24,000 files) took a minute on a disk mounted with discard: a process of its own
// deletes them after this file ends, rather than the file holding its place in the test run meanwhile.
after(() => spawn('rm', ['-rf', work], { detached: true, stdio: 'ignore' }).unref());

/** Installs the package's tarball into a project; its dependencies come from the npm cache where it has them (--prefer-offline), else the registry. */
async function installInto(project: string): Promise<void> {
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', await packedTarball()], { cwd: project });
}

/** The newcomer's project, as docs/services.md makes it: npm init, an ES module, the package installed. */
const newcomer = join(work, 'my-mesh');
let newcomerMade: Promise<void> | undefined;
function newcomerProject(): Promise<void> {
  return (newcomerMade ??= (async () => {
    mkdirSync(newcomer);
    // As docs/services.md says: npm init -y writes "type": "commonjs", and a service is an ES module.
    await run('npm', ['init', '-y'], { cwd: newcomer });
    await run('npm', ['pkg', 'set', 'type=module'], { cwd: newcomer });
    await installInto(newcomer);
  })());
}

/** Stops each child that still runs, with its process group (npx or npm and the mesh processes under it). */
async function stopAll(children: ChildProcess[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      process.kill(-child.pid!, signal);
      await exited;
    }
  }
}

describe('the installed package', { timeout: 240_000 }, () => {
  const project = newcomer;
  const children: ChildProcess[] = [];
  let nats: OwnNatsServer;
  let nc: NatsConnection;
  let httpUrl: string;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();

  function mesh(args: string[]): ChildProcess {
    // Its own process group, so that stopping it stops npx and the mesh process under it.
    const child = spawn('npx', ['mesh', ...args], {
      cwd: project,
      env: { ...process.env, NATS_URL: nats.url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    });
    children.push(child);
    return child;
  }

  before(async () => {
    const started = Date.now();
    const phase = (name: string) => console.log(`# ${name} after ${Date.now() - started} ms`);
    await packedTarball();
    phase('packed');
    await newcomerProject();
    phase('installed');
    for (const [path, code] of serviceFiles()) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), code);
    }
    nats = await OwnNatsServer.start();
    nc = await connect({ servers: nats.url });
    mesh(['run', ...[...serviceFiles().keys()].map((p) => `./${dirname(p)}`)]);
    const port = await freePort();
    httpUrl = `http://127.0.0.1:${port}`;
    mesh(['gateway', 'http', '--host', '127.0.0.1', '--port', String(port)]);
    await waitFor(async () => (await nc.request('$SRV.PING.things', new Uint8Array(0), { timeout: 500 })) !== undefined, 'the services');
    await waitFor(async () => (await fetch(`${httpUrl}/health`)).ok, 'the HTTP gateway');
    phase('running');
  });

  after(async () => {
    await stopAll(children);
    await nc?.close();
    await nats?.stop();
  });

  it('ships compiled JavaScript, declarations and the docs, not the sources', () => {
    const installed = join(project, 'node_modules', 'nats-mesh');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, { types: string }> };
    for (const entry of ['.', './gateway']) readFileSync(join(installed, manifest.exports[entry]!.types));
    assert.deepEqual(readdirSync(installed).sort(), ['CHANGELOG.md', 'README.md', 'bin', 'dist', 'docs', 'package.json']);
  });

  it("type-checks the page's services against the package's declarations", async () => {
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', strict: true, experimentalDecorators: true, noEmit: true, skipLibCheck: true, types: [] } }));
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project]);
  });

  it("answers the page's raw NATS requests exactly as printed", async () => {
    const requests = natsRequests();
    assert.ok(requests.length >= 2, 'the page shows raw NATS requests');
    for (const { subject, payload, output } of requests) {
      const msg = await nc.request(subject, encoder.encode(payload), { timeout: 5000 });
      // An error id is new on every call: the page's printed one and the answer's are both checked, then set aside.
      const comparable = (text: string) => (text.startsWith('{"error"') ? errorTextWithoutId(text) : text);
      assert.equal(comparable(decoder.decode(msg.data)), comparable(output), `nats request ${subject} '${payload}'`);
    }
  });

  it('runs a service that uses reply, variadic @rpc and MeshError from the package', async () => {
    const call = async (subject: string, payload: unknown) => decoder.decode((await nc.request(subject, encoder.encode(JSON.stringify(payload)), { timeout: 5000 })).data);
    assert.equal(await call('things.pair', [[1]]), '[[1,2],{"sum":3}]');
    assert.equal(errorTextWithoutId(await call('things.find', [['x']])), '{"error":{"code":"NOT_FOUND","message":"no thing x","status":404}}');
    assert.equal(await call('things.shout', [['hey'], { loud: true }]), '[[],{}]');
  });

  it('publishes the declared contract in $SRV.INFO', async () => {
    const msg = await nc.request('$SRV.INFO.greeting_service', new Uint8Array(0), { timeout: 5000 });
    const info = JSON.parse(decoder.decode(msg.data)) as { version: string; description: string; endpoints: { name: string; metadata: Record<string, string> }[] };
    assert.equal(info.version, '1.0.0');
    assert.equal(info.description, 'Says hello');
    const hello = info.endpoints.find((e) => e.name === 'hello')!;
    assert.equal(hello.metadata.description, 'Greets a person by name');
    assert.deepEqual(JSON.parse(hello.metadata.params_schema!).required, ['first_name']);
  });

  it("answers over HTTP through the package's own gateway", async () => {
    const post = (path: string, body: string) => fetch(`${httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const ok = await post('/greeting_service.hello', '[["Bob"], {"last_name": "Ross"}]');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '[["Hello, Bob Ross"],{}]');
    const bad = await post('/greeting_service.hello', '[[], {"first_name": 7}]');
    assert.equal(bad.status, 400);
    assert.deepEqual(withoutErrorId(await bad.json()), {
      error: {
        code: 'INVALID_ARGUMENT',
        message: 'first_name must be a string, got number',
        status: 400,
        details: [{ field: 'first_name', message: 'must be a string, got number' }],
      },
    });
  });
});

describe('a project made by mesh init', { timeout: 240_000 }, () => {
  const app = join(work, 'my-app');
  const children: ChildProcess[] = [];
  /** The project's own `mesh` command, as npx runs it there. */
  const mesh = (args: string[], env: NodeJS.ProcessEnv = {}) => run('npx', ['mesh', ...args], { cwd: app, env: { ...process.env, ...env } });

  before(async () => {
    // mesh init as the newcomer's project has it
    await newcomerProject();
    await run('npx', ['mesh', 'init', app], { cwd: newcomer });
    await installInto(app);
  });

  after(() => stopAll(children, 'SIGINT'));

  it('writes a project of its own: ES module, scripts, tsconfig, config, .gitignore, a service and its test', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { type: string; scripts: Record<string, string>; dependencies: Record<string, string>; mesh: { up: string[] } };
    assert.equal(manifest.type, 'module');
    assert.deepEqual(Object.keys(manifest.scripts).sort(), ['dev', 'start', 'test']);
    assert.ok(manifest.dependencies['nats-mesh'], 'it depends on nats-mesh');
    assert.deepEqual(manifest.mesh.up, ['run services/hello', 'gateway http', 'gateway wamp']);
    for (const file of ['tsconfig.json', 'mesh.config.json', '.gitignore', 'services/hello/index.ts', 'test/hello.test.ts']) assert.ok(existsSync(join(app, file)), file);
  });

  it('passes its own tests with no NATS server anywhere', async () => {
    // Without NODE_TEST_CONTEXT, which would make the project's test runner report to this one instead of printing.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const { stdout } = await run('npm', ['test'], { cwd: app, env: { ...env, NATS_URL: 'nats://127.0.0.1:1' } });
    assert.match(stdout, /^ℹ pass 3$/m);
    assert.match(stdout, /^ℹ fail 0$/m);
  });

  it('refuses to init a folder that holds anything, and leaves it as it was', async () => {
    const before = readFileSync(join(app, 'package.json'), 'utf8');
    const refused = await mesh(['init', '.']).then(
      () => assert.fail('mesh init succeeded'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^mesh: \S+ is not an empty folder: mesh init writes a new project only into a new or empty one\n$/);
    assert.equal(readFileSync(join(app, 'package.json'), 'utf8'), before);
  });

  it('refuses a TypeScript service of a CommonJS package in one line naming the fix', async () => {
    const probe = join(app, 'probe');
    mkdirSync(probe);
    writeFileSync(join(probe, 'package.json'), '{"type": "commonjs"}');
    writeFileSync(join(probe, 'index.ts'), "import { rpc } from 'nats-mesh';\nexport default class Probe { name = 'probe'; @rpc async ping() { return 1; } }\n");
    const refused = await mesh(['run', './probe'], { LOG_FORMAT: 'json' }).then(
      () => assert.fail('mesh run started'),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(refused.code, 78);
    const lines = refused.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.msg, /would run as CommonJS .* set "type": "module" in package.json/);
  });

  it('npm start serves the sample over HTTP and WAMP, the call context kept, and runs nothing but the project', async () => {
    const [natsPort, httpPort, wampPort] = [await freePort(), await freePort(), await freePort()];
    // A second service of the project, reading the call context: an ES module project loads nats-mesh once.
    mkdirSync(join(app, 'services', 'context'));
    writeFileSync(
      join(app, 'services', 'context', 'index.ts'),
      `import { currentCall, rpc } from 'nats-mesh';
export default class ContextProbe {
  name = 'context_probe';
  @rpc async context() {
    return { procedure: currentCall()?.procedure, traced: /^[0-9a-f]{32}$/.test(currentCall()?.traceId ?? '') };
  }
}
`,
    );
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { mesh: { up: string[] } };
    manifest.mesh.up.push('run services/context');
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    const child = spawn('npm', ['start'], {
      cwd: app,
      env: { ...process.env, NATS_URL: `nats://127.0.0.1:${natsPort}`, HTTP_PORT: String(httpPort), WAMP_PORT: String(wampPort), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    });
    children.push(child);
    const post = (procedure: string, body: string) => fetch(`http://127.0.0.1:${httpPort}/${procedure}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await waitFor(async () => (await post('hello_service.greet', '[["Ada"], {"excited": true}]')).ok, 'the sample over HTTP', 60_000);
    assert.equal(await (await post('hello_service.greet', '[["Ada"], {"excited": true}]')).text(), '[["Hello, Ada!"],{}]');
    await waitFor(async () => (await post('context_probe.context', '[]')).ok, 'the second service');
    assert.equal(await (await post('context_probe.context', '[]')).text(), '[[{"procedure":"context_probe.context","traced":true}],{}]');
    // the WAMP gateway starts beside the HTTP one, and may be listening a moment later
    await waitFor(async () => (await fetch(`http://127.0.0.1:${wampPort}/health`)).status === 200, 'the WAMP gateway');
    assert.equal((await post('greeting_service.hello', '[["Bob"]]')).status, 404, "the framework's demo does not run");
    assert.equal(existsSync(join(app, '.data', 'thing')), false);
  });
});
