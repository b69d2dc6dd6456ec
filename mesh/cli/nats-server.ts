// Makes sure a NATS server answers at the configured URL for `mesh up`: uses a running one, or starts a
// local nats-server for the session when the URL is on this machine and the binary is on PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { resolve } from 'node:path';
import { MeshError } from '../wire/errors.ts';
import { maskUrlPasswords } from '../process/mask.ts';

export interface LocalNats {
  /** True when this process started the server (and stop() will stop it). */
  readonly started: boolean;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port || 4222) };
}

export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = tcpConnect({ host: host.replace(/^\[|\]$/g, ''), port, timeout: timeoutMs });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}

function hasNatsServer(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export const HOW_TO_GET_NATS =
  'nats-mesh needs a NATS server. Nothing answers at %URL% and no nats-server is on PATH to start one. ' +
  'Install it (Debian/Ubuntu: apt-get install nats-server; macOS: brew install nats-server; ' +
  'or download a release from the NATS project), or start one with Docker (docker run -p 4222:4222 nats -js), ' +
  'or point NATS_URL at a server you already run; then run npm start again.';

async function waitUntilListening(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}`);
    if (await isListening(host, port, 200)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nats-server did not listen on ${host}:${port} within 10 s`);
}

/** Uses the NATS server at url, or starts one with JetStream under dataDir/nats. */
export async function ensureNats(url: string, dataDir: string): Promise<LocalNats> {
  const { host, port } = hostAndPort(url);
  if (await isListening(host, port)) return { started: false, stop: async () => {} };
  if (!LOOPBACK.has(host) || !hasNatsServer()) {
    throw new MeshError('UNAVAILABLE', HOW_TO_GET_NATS.replace('%URL%', maskUrlPasswords(url)));
  }
  const storeDir = resolve(dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const child = spawn('nats-server', ['-a', host.replace(/^\[|\]$/g, ''), '-p', String(port), '-js', '-sd', storeDir], {
    stdio: 'ignore',
  });
  await waitUntilListening(host, port, child);
  return {
    started: true,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
