// Instructions per HTTP request in the server's process, counted by callgrind (`valgrind --tool=callgrind`), one
// request in flight: what the gateway's own steps cost per call against bare Koa with the lean caller, below the noise.
// `node --import tsx bench/http-instructions.ts [kind,...]`, kinds of bench/workers/http-server.ts (koa-lean, gateway,
// gateway-unobserved, ...); each serves WARMUP requests, then CALLS and 2 x CALLS are counted, and their difference
// divided by CALLS is the figure, so what a count costs once is not in it, nor (see measure) what its timers cost.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUEST_JSON } from './baselines/greeting.ts';
import { STEADY_HEAP } from './callgrind.ts';
import { GREETING_REPLY_JSON, WrongReply } from './replies.ts';
import { startWorker } from './worker.ts';
import { freePort } from './free-port.ts';

const WARMUP = Number(process.env.WARMUP ?? 3_000);
const CALLS = Number(process.env.CALLS ?? 1_000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 10_000);
const DEFAULT_KINDS = 'koa-lean,gateway-unobserved,gateway';
const HTTP_SERVER = fileURLToPath(new URL('./workers/http-server.ts', import.meta.url));

/** One connection, kept alive: each request is sent when the last one's answer has been read. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(REQUEST_JSON) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(REQUEST_JSON);
  });
}

async function requests(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const answer = await post(url);
    if (answer !== GREETING_REPLY_JSON) throw new WrongReply(`expected ${GREETING_REPLY_JSON}, got ${answer.slice(0, 200)}`);
  }
}

/**
 * Waits until the server answers right: under callgrind a gateway's first look at the mesh (a window of 250 ms) can
 * miss the service, which its next refresh finds.
 */
async function answering(url: string): Promise<void> {
  for (let attempt = 1; (await post(url)) !== GREETING_REPLY_JSON; attempt++) {
    if (attempt === 60) throw new WrongReply(`${url} did not answer ${GREETING_REPLY_JSON} in a minute`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * The instructions the server runs while `work` runs, and the milliseconds it took: after a full garbage collection
 * (so a major one the warmup left due does not fall in the count), its counts are zeroed (callgrind_control -z), then
 * dumped (-d).
 */
async function counted(server: ChildProcess, dir: string, work: () => Promise<void>): Promise<{ instructions: number; ms: number }> {
  const pid = server.pid!;
  const before = new Set(readdirSync(dir));
  server.send({ gc: true });
  await once(server, 'message');
  spawnSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  spawnSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const dump = readdirSync(dir).find((file) => file.startsWith('cg.out.') && !before.has(file));
  const summary = dump && /^summary: (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
  if (!summary) throw new Error(`no new callgrind dump in ${dir}`);
  return { instructions: Number(summary[1]), ms };
}

/**
 * Instructions per request: the difference of the two counts less what the server runs meanwhile when no request
 * comes (its timers: the registry's refresh, metrics, the HTTP server's connection checks), at the rate an idle
 * count of IDLE_MS measured; callgrind slows the process some fifty times, which makes those timers weigh as much.
 * Also the two counts per request as they are.
 */
async function measure(kind: string, service: string, secret: string): Promise<[number, number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'http-instructions-'));
  const server: ChildProcess = fork(HTTP_SERVER, [kind, service, secret], {
    execPath: 'valgrind',
    execArgv: ['--quiet', '--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${dir}/cg.out`, process.execPath, ...STEADY_HEAP, '--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // A gateway looks at the mesh again every 10 minutes rather than 5 s: under callgrind a refresh can miss the service.
    env: { ...process.env, REGISTRY_REFRESH_MS: '600000' },
  });
  try {
    const [{ info }] = (await once(server, 'message')) as [{ info: { url: string } }];
    const url = `${info.url}/${service}.hello`;
    await answering(url);
    await requests(url, WARMUP);
    const idle = await counted(server, dir, () => new Promise((resolve) => setTimeout(resolve, IDLE_MS)));
    const perMs = idle.instructions / idle.ms;
    const single = await counted(server, dir, () => requests(url, CALLS));
    const twice = await counted(server, dir, () => requests(url, 2 * CALLS));
    const busy = (count: { instructions: number; ms: number }) => count.instructions - perMs * count.ms;
    return [(busy(twice) - busy(single)) / CALLS, single.instructions / CALLS, twice.instructions / (2 * CALLS)];
  } finally {
    agent.destroy();
    server.kill('SIGKILL');
  }
}

/**
 * A nats-server of this run's own on a free port: on the machine's shared one, other work (services starting and
 * stopping, their announcements) reached the gateway under test and moved its counts by several percent.
 */
async function ownNatsServer(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  for (let attempt = 0; !(await listening()); attempt++) {
    if (attempt === 100 || child.exitCode !== null) throw new Error('nats-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

const nats = await ownNatsServer();
process.env.NATS_URL = nats.url;
const service = `http_instructions_${randomBytes(3).toString('hex')}`;
const secret = randomBytes(32).toString('base64');
const responder = await startWorker('responder', ['mesh', service, secret]);
try {
  process.stdout.write(`instructions per request in the HTTP server, 1 in flight, (${2 * CALLS} - ${CALLS}) / ${CALLS} requests after ${WARMUP}, idle rate subtracted (callgrind)\n`);
  for (const kind of (process.argv[2] ?? DEFAULT_KINDS).split(',')) {
    const [perRequest, single, twice] = (await measure(kind, service, secret)).map(Math.round);
    process.stdout.write(`${kind.padEnd(24)} ${String(perRequest).padStart(9)}   (${single} and ${twice} per request in each count as it is)\n`);
  }
} finally {
  await responder.stop();
  nats.stop();
}
