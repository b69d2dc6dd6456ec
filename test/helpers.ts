// Shared test fixtures: configuration on free ports, unique names, and nats-servers a test owns.
// Tests talk to the machine's nats-server unless they need to stop one; then they spawn their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createLogger, loadConfig, type MeshConfig, type Report } from '../mesh/gateway.ts';
import { isListening } from '../mesh/cli/nats-server.ts';

export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export const silentLogger = createLogger({ level: 'silent', format: 'json' }, 'test');

/**
 * Subscribes a subject on nc and returns a way to publish one message and get it back as it arrives, the way a
 * responder would receive it; resolves once the server has the subscription.
 */
export async function roundTrips(nc: NatsConnection, subject: string): Promise<(publish: () => void) => Promise<Msg>> {
  const received: Msg[] = [];
  let arrived: (() => void) | undefined;
  nc.subscribe(subject, { callback: (_err, msg) => (received.push(msg), arrived?.()) });
  await nc.flush();
  return async (publish) => {
    const next = new Promise<void>((resolve) => (arrived = resolve));
    publish();
    await next;
    return received.shift()!;
  };
}

/** A name no other test run uses, for services and subjects. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Configuration for a test: the given NATS, gateways on free loopback ports, nothing from the environment. */
export function testConfig(overrides: Record<string, unknown> = {}): MeshConfig {
  return loadConfig({
    env: {},
    file: undefined,
    overrides: {
      'nats.url': NATS_URL,
      'http.host': '127.0.0.1',
      'http.port': 0,
      'wamp.host': '127.0.0.1',
      'wamp.port': 0,
      'log.level': 'silent',
      ...overrides,
    },
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A TCP relay in front of a nats-server that counts the chunks it reads carrying `marker`: a chunk per socket write of
 * a client in another process (the relay reads while that process is busy), for tests of batched writes.
 */
export async function writeCountingRelay(natsUrl: string, marker: string): Promise<{ url: string; writes(): number; close(): void }> {
  const { hostname, port } = new URL(natsUrl);
  let writes = 0;
  const server = createServer((client) => {
    const upstream = netConnect(Number(port || 4222), hostname);
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes(marker)) writes++;
      upstream.write(chunk);
    });
    upstream.pipe(client);
    // A client that hangs up takes its upstream connection along: left open, it would keep the test's process
    // alive until nats-server gives up on it (two unanswered pings, minutes later).
    const hangUp = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', hangUp).on('close', hangUp);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `nats://127.0.0.1:${(server.address() as AddressInfo).port}`, writes: () => writes, close: () => void server.close() };
}

/**
 * Calls `make` once in each of `count` timer callbacks of one event-loop turn, each callback busy for `busyMs` first,
 * and resolves with what they resolve with: a process doing so shows whether the writes of one turn go out together.
 */
export function inCallbacksOfOneTurn<T>(count: number, busyMs: number, make: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<T>((resolve, reject) => {
          setTimeout(() => {
            const until = performance.now() + busyMs;
            while (performance.now() < until);
            make(i).then(resolve, reject);
          }, 0);
        }),
    ),
  );
}

/** A nats-server this test owns, on a free port, that it can stop and start again on the same port. */
export class OwnNatsServer {
  private child: ChildProcess | undefined;
  private readonly storeDir = mkdtempSync(join(tmpdir(), 'mesh-nats-'));

  private constructor(
    readonly port: number,
    /** The HTTP monitoring port (`/connz`, `/varz`), when started with `{ monitoring: true }`. */
    readonly monitorPort: number | undefined,
    /** A configuration file to start from, and the environment it reads (its users' passwords). */
    private readonly config?: { file: string; env: Record<string, string> },
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** What the server logged, e.g. why it closed a client connection. */
  get logPath(): string {
    return join(this.storeDir, 'nats-server.log');
  }

  /** The server's log lines about clients it disconnected (slow consumers, protocol or permission errors). */
  disconnectReasons(): string[] {
    if (!existsSync(this.logPath)) return [];
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter((line) => /\[(ERR|WRN)\]|Slow Consumer|Disconnect/i.test(line) && !/Client connection closed: Client Closed/.test(line));
  }

  get monitorUrl(): string | undefined {
    return this.monitorPort === undefined ? undefined : `http://127.0.0.1:${this.monitorPort}`;
  }

  static async start(options: { monitoring?: boolean; config?: { file: string; env: Record<string, string> } } = {}): Promise<OwnNatsServer> {
    const server = new OwnNatsServer(await freePort(), options.monitoring ? await freePort() : undefined, options.config);
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    const monitor = this.monitorPort === undefined ? [] : ['-m', String(this.monitorPort)];
    const config = this.config ? ['-c', this.config.file] : [];
    const env = this.config ? { PATH: process.env.PATH, ...this.config.env } : process.env;
    this.child = spawn('nats-server', [...config, '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, '-l', this.logPath, ...monitor], { stdio: 'ignore', env });
    for (let i = 0; i < 100; i++) {
      if (await isListening('127.0.0.1', this.port, 200)) return;
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8').trim() : '';
    throw new Error(`test nats-server did not start${this.config ? ` from ${this.config.file}` : ''}: ${log || 'no output'}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/** A fresh password; it starts with a letter, since nats-server reads a variable's value that starts with a digit as a number. */
const password = () => `p${randomBytes(12).toString('hex')}`;

/** Each user of a configuration file with a fresh password, and the environment nats-server reads them from. */
function passwordsOf(file: string): { passwords: Map<string, string>; env: Record<string, string> } {
  const passwords = new Map<string, string>();
  const env: Record<string, string> = {};
  for (const [, user, variable] of readFileSync(file, 'utf8').matchAll(/user: "([^"]+)"\s+password: \$(\w+)/g)) {
    passwords.set(user!, (env[variable!] = password()));
  }
  return { passwords, env };
}

/** A nats-server started from a configuration file (as `mesh nats-config` writes one), and how to be each of its users. */
export interface ConfiguredNats {
  readonly server: OwnNatsServer;
  readonly users: string[];
  /** A raw connection as the user, with the inbox prefix the configuration gives it. */
  as(user: string, inboxPrefix?: string): Promise<NatsConnection>;
  /** A process's configuration as the user, as compose sets it (NATS_USER, NATS_PASSWORD, NATS_INBOX_PREFIX). */
  configAs(user: string, overrides?: Record<string, unknown>): MeshConfig;
  passwordOf(user: string): string;
  /**
   * The permission violations of the processes' connections so far (each names itself; those `as` opens do not, and
   * are refused on purpose): nats-server logs "Publish Violation" or "Subscription Violation". None when each kept to its rights.
   */
  violations(): string[];
  stop(): Promise<void>;
}

/** Starts a nats-server of the test's own from a configuration file, each of its users with a fresh password. */
export async function natsFromConfig(file: string): Promise<ConfiguredNats> {
  const { passwords, env } = passwordsOf(file);
  const server = await OwnNatsServer.start({ config: { file, env } });
  const connections: NatsConnection[] = [];
  return {
    server,
    users: [...passwords.keys()],
    async as(user, inboxPrefix = `_INBOX_${user}`) {
      const nc = await connect({ servers: server.url, user, pass: passwords.get(user), inboxPrefix });
      connections.push(nc);
      return nc;
    },
    configAs(user, overrides = {}) {
      return testConfig({ 'nats.url': server.url, 'nats.user': user, 'nats.password': passwords.get(user), 'nats.inboxPrefix': `_INBOX_${user}`, 'rpc.registryRefreshMs': 200, ...overrides });
    },
    passwordOf: (user) => passwords.get(user)!,
    violations: () =>
      readFileSync(server.logPath, 'utf8')
        .split('\n')
        .filter((line) => /:nats\.js:[^"]+" - (Publish|Subscription) Violation - /.test(line)),
    async stop() {
      await Promise.all(connections.map((nc) => nc.close()));
      await server.stop();
    },
  };
}

/** What an error id looks like: 16 hex digits (mesh/wire/errors.ts newErrorId). */
export const ERROR_ID = /^[0-9a-f]{16}$/;

/** An error body with its id checked and taken out, so the rest can be compared exactly. */
export function withoutErrorId(body: unknown): unknown {
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error.id !== 'string' || !ERROR_ID.test(error.id)) throw new Error(`no error id in ${JSON.stringify(body)}`);
  const { id: _id, ...rest } = error;
  return { ...(body as object), error: rest };
}

/** A JSON error body's text with its `"id":"…"` checked and taken out. */
export function errorTextWithoutId(text: string): string {
  const match = /,"id":"([0-9a-f]{16})"/.exec(text);
  if (!match) throw new Error(`no error id in ${text}`);
  return text.replace(match[0], '');
}

/** The report with the given error id among those received so far or within five seconds; fails the test otherwise. */
export async function reportWithId(reported: readonly Report[], errorId: string): Promise<Report> {
  for (let i = 0; i < 250; i++) {
    const report = reported.find((r) => r.error_id === errorId);
    if (report) return report;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no crash report with error id ${errorId}`);
}

/** WAMP ERROR kwargs (the error object) with their id checked and taken out. */
export function kwargsWithoutErrorId(kwargs: unknown): unknown {
  return (withoutErrorId({ error: kwargs }) as { error: unknown }).error;
}
