// The mesh a fuzz run attacks, as a user runs it: its own nats-server (with monitoring and JetStream), greeting_service,
// the mailer (tasks; its outbox in a temp dir) and both
// gateways as `mesh` CLI child processes. It reports liveness and NATS disconnects; it judges no reply itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OwnNatsServer } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));

/** The gateways' call deadline: a CALL to a fuzz callee that never answers gets its ERROR within a probe's wait. */
export const REQUEST_TIMEOUT_MS = 1500;

/** The NATS connection names of the processes under fuzz: a service process is named after its classes (mesh/service/runner.ts). */
export const CONNECTION_NAMES = ['GreetingService', 'Mailer', 'gateway-http', 'gateway-wamp'] as const;

interface MeshChild {
  label: string;
  child: ChildProcess;
  /** Everything the process wrote, for the failure message when it dies. */
  output: string;
}

interface Connz {
  connections: Array<{ cid: number; name?: string }>;
}

export interface FuzzedMesh {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Processes that exited, with their exit code or signal and the end of their output. */
  deaths(): string[];
  /** The NATS client ids of each named connection, from nats-server's `/connz`. */
  connectionIds(): Promise<Record<string, number[]>>;
  /** nats-server's own log lines about connections it dropped, to say why a connection id changed. */
  disconnectReasons(): string[];
  stop(): Promise<void>;
}

function startChild(label: string, args: string[], natsUrl: string, env: Record<string, string> = {}): MeshChild {
  const child = spawn(process.execPath, [MESH, ...args], {
    env: { ...process.env, NATS_URL: natsUrl, LOG_FORMAT: 'json', LOG_LEVEL: 'info', REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entry: MeshChild = { label, child, output: '' };
  const keep = (chunk: Buffer) => (entry.output = (entry.output + chunk.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return entry;
}

/** Resolves with the first JSON log line of the process whose `msg` is `message`. */
async function logLine(entry: MeshChild, message: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of entry.output.split('\n')) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === message) return parsed;
    }
    if (entry.child.exitCode !== null) throw new Error(`${entry.label} exited with ${entry.child.exitCode} before '${message}':\n${entry.output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${entry.label} did not log '${message}' within ${timeoutMs} ms:\n${entry.output}`);
}

export async function startFuzzedMesh(): Promise<FuzzedMesh> {
  const nats = await OwnNatsServer.start({ monitoring: true });
  const children = [
    startChild('mesh run services/greeting', ['run', 'services/greeting'], nats.url),
    startChild('mesh run services/mailer', ['run', 'services/mailer'], nats.url, { DATA_DIR: mkdtempSync(join(tmpdir(), 'fuzz-mailer-')) }),
    startChild('mesh gateway http', ['gateway', 'http', '--port', '0', '--host', '127.0.0.1'], nats.url),
    startChild('mesh gateway wamp', ['gateway', 'wamp', '--port', '0', '--host', '127.0.0.1'], nats.url),
  ] as const;
  try {
    const [, , http, wamp] = await Promise.all([
      logLine(children[0], 'service ready'),
      logLine(children[1], 'service ready'),
      logLine(children[2], 'http gateway listening'),
      logLine(children[3], 'wamp gateway listening'),
    ]);
    return {
      httpUrl: http.url as string,
      wsUrl: wamp.ws as string,
      deaths: () =>
        children
          .filter(({ child }) => child.exitCode !== null || child.signalCode !== null)
          .map(({ label, child, output }) => `${label} exited (code ${child.exitCode}, signal ${child.signalCode}); its last output:\n${output.slice(-3000)}`),
      disconnectReasons: () => nats.disconnectReasons(),
      async connectionIds() {
        const connz = (await (await fetch(`${nats.monitorUrl}/connz?limit=1024`)).json()) as Connz;
        const ids: Record<string, number[]> = Object.fromEntries(CONNECTION_NAMES.map((name) => [name, []]));
        for (const { cid, name } of connz.connections) if (name !== undefined && name in ids) ids[name]!.push(cid);
        return ids;
      },
      stop: () => stopAll(children, nats),
    };
  } catch (err) {
    await stopAll(children, nats);
    throw err;
  }
}

async function stopAll(children: readonly MeshChild[], nats: OwnNatsServer): Promise<void> {
  await Promise.all(
    children.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
  await nats.stop();
}
