// The package as a newcomer gets it: `npm pack`, installed into an empty project outside the repository, the
// service files of docs/services.md written there verbatim, run with `npx mesh run`, called over raw NATS and over HTTP.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { errorTextWithoutId, freePort, OwnNatsServer, withoutErrorId } from './helpers.ts';

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

describe('the installed package', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'nats-mesh-package-'));
  const project = join(work, 'my-mesh');
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
    await run('npm', ['pack', '--pack-destination', work], { cwd: ROOT });
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
    mkdirSync(project);
    await run('npm', ['init', '-y'], { cwd: project });
    // The tarball's dependencies come from the npm cache where it has them (--prefer-offline), else the registry.
    phase('packed');
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project });
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
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        process.kill(-child.pid!, 'SIGTERM');
        await exited;
      }
    }
    await nc?.close();
    await nats?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript, declarations and the docs, not the sources', () => {
    const installed = join(project, 'node_modules', 'nats-mesh');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, { types: string }> };
    for (const entry of ['.', './gateway']) readFileSync(join(installed, manifest.exports[entry]!.types));
    assert.deepEqual(readdirSync(installed).sort(), ['CHANGELOG.md', 'README.md', 'bin', 'dist', 'docs', 'package.json']);
  });

  it("type-checks the page's services against the package's declarations", async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', strict: true, experimentalDecorators: true, noEmit: true, skipLibCheck: true, types: [] } }),
    );
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
    const call = async (subject: string, payload: unknown) =>
      decoder.decode((await nc.request(subject, encoder.encode(JSON.stringify(payload)), { timeout: 5000 })).data);
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
