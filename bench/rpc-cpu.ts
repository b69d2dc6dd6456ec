// The CPU time one RPC costs in each process on its way (`node --import tsx bench/rpc-cpu.ts [caller:responder,...]`):
// the caller, the responder and the nats-server between them, 64 in flight. On a 2-core machine the three take
// turns on one batch of requests after another, so throughput follows their sum, and the sum shows which layer costs what.
// Pairs alternate over ROUNDS rounds (3 by default); each figure is the median of its rounds. PROFILE_DIR=<dir> writes
// each responder's CPU profile there (node --cpu-prof), to see where its microseconds go.
import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createCaller,
  createClient,
  createIdentityForwarder,
  createIdentityVerifier,
  createLogger,
  createReports,
  hostService,
  loadConfig,
  reportSettings,
  rpc,
  startHop,
  startTracing,
} from '../mesh/gateway.ts';
import GreetingService from '../services/greeting/index.ts';
import { answerGreeting, REQUEST, REQUEST_JSON } from './baselines/greeting.ts';
import { IDLE_HOOKS, IDLE_POLICY } from './baselines/idle-resilience.ts';
import { leanCaller } from './baselines/lean-caller.ts';
import { median } from './stats.ts';

const REQUESTS = Number(process.env.REQUESTS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WARMUP = 10_000;
const IN_FLIGHT = 64;
const EXPECTED = 'Hello, Bob Ross';

/**
 * raw: a nats.js queue subscription answering as the bench's floor (baselines/greeting.ts); plain: greeting as a plain
 * @rpc; unobserved: that one with metrics and tracing off; schema: greeting with its zod schema; verifying: that one
 * verifying the Mesh-Identity each request carries; hooked: the schema one with hooks that run on every call and do
 * nothing (bench/baselines/idle-resilience.ts).
 */
type Responder = 'raw' | 'plain' | 'unobserved' | 'schema' | 'verifying' | 'hooked';
/**
 * lean: the baseline mux; client: the mesh client; traced: the mesh's caller sending a fresh trace context, as gateway-http
 * does; identity: that one also sending the caller's Mesh-Identity bound to the subject and the deadline, as an authenticating gateway does;
 * resilient: the mesh client with idle hooks, retries and a breaker declared for the procedure, none of them acting.
 */
type Caller = 'lean' | 'client' | 'traced' | 'identity' | 'resilient';

/** The mesh secret of the identity pair: the caller mints with it, the responder verifies with it. */
const AUTH = { 'auth.meshSecret': 'bench-mesh-secret-that-is-long-enough-0123' };

const DEFAULT_PAIRS = 'lean:raw,client:raw,lean:plain,client:plain,client:schema,traced:schema';

/** CPU time a process has used, in µs, from /proc (clock ticks of 10 ms: measure long enough). */
function processCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** The nats-server process the connection talks to, found by its port. */
function natsServerPid(nc: NatsConnection): number {
  const port = nc.info!.port;
  const found = execFileSync('pgrep', ['-f', `nats-server.*(-p|--port) ${port}`])
    .toString()
    .trim()
    .split('\n')[0];
  if (!found) throw new Error(`no nats-server process listens on port ${port}`);
  return Number(found);
}

async function respond(kind: Responder): Promise<void> {
  const nc = await connect();
  const name = `rpc_cpu_${process.pid}`;
  class PlainGreeting {
    name = name;
    @rpc async hello(first_name: string, last_name = '') {
      return `Hello, ${first_name} ${last_name}`.trim();
    }
  }
  if (kind === 'raw') {
    nc.subscribe(`${name}.hello`, { queue: 'q', callback: (_err, msg) => answerGreeting(msg) });
  } else {
    const observed = kind !== 'unobserved';
    // No slow-call reports (hostService takes them from `reports`, not from the config): under callgrind
    // (call-instructions.ts) on a busy machine a call can take over the default second, and each report's log line
    // would be counted as the call's cost.
    const config = loadConfig({ env: {}, overrides: { 'metrics.enabled': observed, 'tracing.enabled': observed, 'reports.slowMs': 3_600_000, ...AUTH } });
    await startTracing(name, config.tracing, {});
    const service = kind === 'schema' || kind === 'verifying' || kind === 'hooked' ? Object.assign(new GreetingService(), { name }) : new PlainGreeting();
    const identity = kind === 'verifying' ? createIdentityVerifier(config.auth) : undefined;
    const use = kind === 'hooked' ? [IDLE_HOOKS] : undefined;
    const logger = createLogger({ level: 'info', format: 'json' }, 'rpc-cpu');
    const reports = createReports(nc, logger, await reportSettings(config.reports));
    await hostService(service, { nc, config, identity, use, logger, reports });
  }
  await nc.flush();
  let since = process.cpuUsage();
  process.on('message', (message) => {
    if (message === 'start') since = process.cpuUsage();
    if (message === 'stop') {
      const used = process.cpuUsage(since);
      process.send!({ microseconds: used.user + used.system });
    }
  });
  // exit rather than die on the parent's kill, so that a --cpu-prof profile gets written
  process.once('SIGTERM', () => process.exit(0));
  process.send!({ subject: `${name}.hello` });
}

function callerFor(kind: Caller, nc: NatsConnection, subject: string): () => Promise<void> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const check = (greeting: unknown) => {
    if (greeting !== EXPECTED) throw new Error(`unexpected reply ${JSON.stringify(greeting)}`);
  };
  if (kind === 'lean') {
    const lean = leanCaller(nc);
    return async () => check((JSON.parse(decoder.decode((await lean(subject, encoder.encode(JSON.stringify(REQUEST)))).data)) as [[string]])[0][0]);
  }
  if (kind === 'client' || kind === 'resilient') {
    const client = createClient(nc, kind === 'client' ? { timeoutMs: 10_000 } : { timeoutMs: 10_000, use: [IDLE_HOOKS], procedures: { [subject]: IDLE_POLICY } });
    return async () => check((await client.call(subject, ...REQUEST))[0][0]);
  }
  const caller = createCaller(nc, { timeoutMs: 10_000 });
  const body = encoder.encode(REQUEST_JSON);
  const forwarder = kind === 'identity' ? createIdentityForwarder(loadConfig({ env: {}, overrides: AUTH }).auth)! : undefined;
  const bench = { id: 'bench', roles: ['bench'], method: 'jwt' } as const;
  return async () => {
    const deadline = Date.now() + 10_000;
    const headers = forwarder?.headers(bench, subject, deadline);
    const reply = await caller.request(subject, body, { deadline, headers, trace: startHop('POST /greeting.hello', 'server', undefined) });
    check((JSON.parse(decoder.decode(reply.data)) as [[string]])[0][0]);
  };
}

/** One round of a pair: µs of CPU per request in the caller, the responder and nats-server, and requests per second. */
async function measure(callerKind: Caller, responder: Responder): Promise<number[]> {
  const profile = process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
  const child = fork(fileURLToPath(import.meta.url), ['respond', responder], { execArgv: ['--import', 'tsx', ...profile] });
  const next = <T>() => new Promise<T>((resolve) => child.once('message', (message) => resolve(message as T)));
  const { subject } = await next<{ subject: string }>();
  const nc = await connect();
  const natsPid = natsServerPid(nc);
  const call = callerFor(callerKind, nc, subject);
  const load = async (count: number) => {
    let sent = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent++ < count) await call();
      }),
    );
  };
  await load(WARMUP);
  child.send('start');
  const mine = process.cpuUsage();
  const natsBefore = processCpuMicros(natsPid);
  const started = performance.now();
  await load(REQUESTS);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(mine);
  const natsUsed = processCpuMicros(natsPid) - natsBefore;
  child.send('stop');
  const { microseconds } = await next<{ microseconds: number }>();
  child.kill();
  await nc.close();
  return [(used.user + used.system) / REQUESTS, microseconds / REQUESTS, natsUsed / REQUESTS, REQUESTS / seconds];
}

if (process.argv[2] === 'respond') {
  await respond(process.argv[3] as Responder);
} else {
  const pairs = (process.argv[2] ?? DEFAULT_PAIRS).split(',');
  const rounds = new Map<string, number[][]>(pairs.map((pair) => [pair, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const pair of round % 2 === 0 ? pairs : [...pairs].reverse()) {
      const [callerKind, responder] = pair.split(':') as [Caller, Responder];
      rounds.get(pair)!.push(await measure(callerKind, responder));
    }
  }
  process.stdout.write(`${'caller:responder'.padEnd(18)} µs of CPU per request: caller, responder, nats-server, sum (medians of ${ROUNDS})\n`);
  for (const [pair, figures] of rounds) {
    const [caller, responder, nats, rate] = [0, 1, 2, 3].map((i) => median(figures.map((f) => f[i]!)));
    const columns = [caller!, responder!, nats!, caller! + responder! + nats!].map((us) => us.toFixed(1).padStart(5));
    process.stdout.write(`${pair.padEnd(18)} ${columns.join(' ')}   ${rate!.toFixed(0)}/s\n`);
  }
}
