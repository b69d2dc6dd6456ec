// The `mesh` command as a user runs it: up (with its own nats-server), run (draining on SIGTERM), call.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { createClient } from '../../mesh/index.ts';
import { isListening } from '../../mesh/cli/nats-server.ts';
import { freePort, NATS_URL, uniqueName } from '../helpers.ts';
import { thingDataDir } from '../databases.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));
const MESH_INDEX = fileURLToPath(new URL('../../mesh/index.ts', import.meta.url));
const run = promisify(execFile);

function mesh(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [MESH, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every complete line of a process's output parsed as JSON; a line that is not JSON fails the test. */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .slice(0, -1)
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('mesh up', () => {
  it('starts a nats-server when none runs, serves the curl example, and stops everything on Ctrl-C', async () => {
    const [natsPort, httpPort, wampPort] = [await freePort(), await freePort(), await freePort()];
    // thing_service's embedded database ready-made: creating one is test/services/thing.test.ts's subject, not this one's
    const dataDir = await thingDataDir('mesh-up-');
    // Every port free: another mesh on this machine may hold the defaults (5000, 8080).
    const env = { NATS_URL: `nats://127.0.0.1:${natsPort}`, HTTP_PORT: String(httpPort), WAMP_PORT: String(wampPort), DATA_DIR: dataDir, LOG_LEVEL: 'info', LOG_FORMAT: 'json' };
    const child = mesh(['up'], env);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const url = `http://127.0.0.1:${httpPort}/greeting_service.hello`;
    const call = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[["Bob"], {"last_name": "Ross"}]' });
    const readyLines = () => jsonLines(stdout).filter((line) => String(line.msg).startsWith('mesh ready'));
    try {
      await until(async () => (await call().catch(() => undefined))?.status === 200, 'the gateway to answer');
      assert.equal(await (await call()).text(), '[["Hello, Bob Ross"],{}]');
      assert.equal(await isListening('127.0.0.1', natsPort), true);
      await until(async () => readyLines().length > 0, 'the mesh ready line');
      const declared = ['run services/greeting', 'run services/thing', 'run services/websocket-test', 'run services/mailer', 'gateway gateway-http', 'gateway gateway-wamp'];
      assert.deepEqual([...(readyLines()[0]!.processes as string[])].sort(), [...declared].sort());
    } finally {
      // a failed check must not leave the mesh running: the test file would never end
      child.kill('SIGINT');
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.equal(await isListening('127.0.0.1', natsPort), false, 'the nats-server it started is stopped');
    assert.equal(await isListening('127.0.0.1', httpPort), false, 'the gateway is stopped');
    assert.equal(readyLines().length, 1, 'one mesh ready line');
  });

  it('restarts a failing process with growing delays and says once, in JSON, that it keeps failing', async () => {
    const child = mesh(['up', 'run /nonexistent/service', '--restart-delay', '20', '--max-restart-delay', '80'], { NATS_URL, LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const failing = () => jsonLines(output).filter((line) => /keeps failing/.test(String(line.msg)));
    const restarts = () => jsonLines(output).filter((line) => /restarting in/.test(String(line.msg)));
    const fatal = () => jsonLines(output).filter((line) => /could not start/.test(String(line.msg)));
    await until(async () => fatal().length >= 6, 'six failed starts', 60_000);
    child.kill('SIGINT');
    await once(child, 'exit');
    assert.equal(failing().length, 1);
    assert.deepEqual(
      restarts().map((line) => Number(/restarting in (\d+) ms/.exec(String(line.msg))![1])),
      [20, 40, 80, 80],
    );
    for (const line of jsonLines(output)) assert.equal(typeof line.level, 'number', 'every line is a pino line');
    assert.equal(fatal()[0]!.level, 60);
    assert.match(String(fatal()[0]!.msg), /cannot find '\/nonexistent\/service'/);
  });

  it('explains how to get NATS when none runs and nats-server is not on PATH', async () => {
    const child = mesh(['up'], { NATS_URL: `nats://127.0.0.1:${await freePort()}`, PATH: '/nonexistent' });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(stderr, /nats-mesh needs a NATS server\. Nothing answers at nats:\/\/127\.0\.0\.1:\d+ and no nats-server is on PATH/);
    assert.match(stderr, /apt-get install nats-server/);
  });
});

describe('mesh run', () => {
  it('runs a service from a file and drains it on SIGTERM: the call in flight is answered', async () => {
    const name = uniqueName('cli_sleep');
    const dir = mkdtempSync(join(tmpdir(), 'mesh-run-'));
    writeFileSync(
      join(dir, 'index.ts'),
      `import { rpc } from ${JSON.stringify(MESH_INDEX)};
export default class SleepService {
  name = ${JSON.stringify(name)};
  @rpc async nap(ms: number) { await new Promise((r) => setTimeout(r, ms)); return 'rested'; }
}
`,
    );
    const child = mesh(['run', dir], { NATS_URL, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const nc = await connect({ servers: NATS_URL });
    const client = createClient(nc, { timeoutMs: 10_000 });
    await until(
      async () =>
        await client.call(`${name}.nap`, [0]).then(
          () => true,
          () => false,
        ),
      'the service to answer',
    );
    const inFlight = client.call(`${name}.nap`, [1000]);
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    assert.deepEqual(await inFlight, [['rested'], {}]);
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    const requests = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.msg === 'request');
    assert.ok(requests.length >= 2, 'one debug line per request');
    for (const line of requests) {
      assert.equal(line.subject, `${name}.nap`);
      assert.equal(line.outcome, 'ok');
      assert.equal(typeof line.ms, 'number');
    }
    client.close();
    await nc.close();
  });
});

describe('mesh config', () => {
  it('prints a complete default config file, and the effective configuration', async () => {
    const { stdout } = await run(process.execPath, [MESH, 'config', '--defaults'], { env: { ...process.env, HTTP_PORT: '6123' } });
    const defaults = JSON.parse(stdout) as { http: { port: number }; nats: { url: string[] } };
    assert.equal(defaults.http.port, 5000);
    assert.deepEqual(defaults.nats.url, ['nats://127.0.0.1:4222']);
    const effective = JSON.parse((await run(process.execPath, [MESH, 'config', '--log-level', 'warn'], { env: { ...process.env, HTTP_PORT: '6123' } })).stdout) as {
      http: { port: number };
      log: { level: string };
    };
    assert.equal(effective.http.port, 6123);
    assert.equal(effective.log.level, 'warn');
  });

  it("shows each built-in component's section, and the sections of the components named", async () => {
    const shown = JSON.parse((await run(process.execPath, [MESH, 'config'], { env: { ...process.env, DATA_DIR: '/srv/data' } })).stdout) as Record<string, Record<string, unknown>>;
    assert.deepEqual([shown.http?.port, shown.wamp?.port, shown.database?.dataDir, shown.up?.dataDir], [5000, 8080, '/srv/data', '/srv/data']);
    const dir = mkdtempSync(join(tmpdir(), 'mesh-config-'));
    writeFileSync(
      join(dir, 'index.ts'),
      `import { configSection, z } from ${JSON.stringify(MESH_INDEX)};
export const settings = configSection('greeter', z.strictObject({ greeting: z.string().default('Hello') }), { GREETER_GREETING: 'greeting' });
export default class Greeter { name = 'greeter_service'; }
`,
    );
    writeFileSync(join(dir, 'mesh.config.json'), JSON.stringify({ greeter: { greeting: 'Hi' } }));
    const withGreeter = await run(process.execPath, [MESH, '--config', join(dir, 'mesh.config.json'), 'config', dir]);
    assert.deepEqual((JSON.parse(withGreeter.stdout) as { greeter: unknown }).greeter, { greeting: 'Hi' });
    const unknown = await run(process.execPath, [MESH, '--config', join(dir, 'mesh.config.json'), 'config']).catch((err: { code: number; stderr: string }) => err);
    assert.equal((unknown as { code: number }).code, 78);
    assert.match((unknown as { stderr: string }).stderr, /unknown setting greeter: neither the framework nor a component declares it/);
  });
});

describe('mesh gateway', () => {
  it("runs a gateway by path, --port setting the port of the gateway's own section", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-gateway-'));
    writeFileSync(
      join(dir, 'index.ts'),
      `import { once } from 'node:events';
import { createServer } from 'node:http';
import { configSection, setting, z, type ProcessContext } from ${JSON.stringify(MESH_INDEX)};
export const settings = configSection('echo', z.strictObject({ host: z.string().default('127.0.0.1'), port: setting.port.default(0), greeting: z.string().default('hi') }), { ECHO_GREETING: 'greeting' });
export async function start({ config }: ProcessContext) {
  const echo = settings.of(config);
  const server = createServer((req, res) => res.end(JSON.stringify(echo))).listen(echo.port, echo.host);
  await once(server, 'listening');
  return { url: \`http://\${echo.host}:\${echo.port}\`, stop: async () => void server.close() };
}
`,
    );
    const port = await freePort();
    const child = mesh(['gateway', dir, '--port', String(port)], { ECHO_GREETING: 'hello' });
    const url = `http://127.0.0.1:${port}/health`;
    await until(async () => (await fetch(url).catch(() => undefined))?.status === 200, 'the gateway to answer');
    assert.deepEqual(await (await fetch(url)).json(), { host: '127.0.0.1', port, greeting: 'hello' });
    child.kill('SIGTERM');
    assert.deepEqual(await once(child, 'exit'), [0, null]);
  });

  it('refuses a wrong setting of its section before it listens, naming the setting, with exit code 78', async () => {
    const child = mesh(['gateway', 'http', '--host', '127.0.0.1'], { HTTP_PORT: '70000', LOG_FORMAT: 'json' });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 78);
    const [line] = jsonLines(stdout);
    assert.equal(line?.level, 60);
    assert.match(String(line?.msg), /could not start: invalid configuration:\n {2}- http\.port \(environment HTTP_PORT\): /);
  });
});

describe('mesh call', () => {
  it('prints the error body and exits 1 when the call fails', async () => {
    const result = await run(process.execPath, [MESH, 'call', `${uniqueName('nobody')}.x`], { env: { ...process.env, NATS_URL } }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((result as { code: number }).code, 1);
    assert.match((result as { stderr: string }).stderr, /"code":"UNKNOWN_PROCEDURE"/);
  });

  it('refuses arguments that are not JSON, and a bad setting, before connecting', async () => {
    const bad = await run(process.execPath, [MESH, 'call', 'a.b', '[oops'], { env: { ...process.env, NATS_URL } }).catch((err: { code: number; stderr: string }) => err);
    assert.match((bad as { stderr: string }).stderr, /args must be JSON/);
    const config = await run(process.execPath, [MESH, 'call', 'a.b'], { env: { ...process.env, NATS_URL: 'http://nope' } }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((config as { code: number }).code, 78);
    assert.match((config as { stderr: string }).stderr, /nats\.url\[0\] \(environment NATS_URL\): must be a NATS URL/);
  });
});

describe('a password in NATS_URL', () => {
  it("is masked wherever the CLI prints the URL: mesh config, mesh ls and mesh call errors, mesh run's fatal start-up log", async () => {
    const password = 'pa55-in-the-url';
    const env = { ...process.env, NATS_URL: `nats://bob:${password}@127.0.0.1:${await freePort()}`, LOG_FORMAT: 'json' };
    const outputOf = async (args: string[]) => {
      const result = await run(process.execPath, [MESH, ...args], { env, timeout: 30_000 }).catch((err: { stdout: string; stderr: string }) => err);
      return `${result.stdout}${result.stderr}`;
    };
    for (const args of [['config'], ['ls'], ['call', 'a.b'], ['run', 'services/greeting']]) {
      const output = await outputOf(args);
      assert.doesNotMatch(output, new RegExp(password), args.join(' '));
      assert.match(output, /nats:\/\/bob:\*{8}@127\.0\.0\.1/, args.join(' '));
    }
  });
});
