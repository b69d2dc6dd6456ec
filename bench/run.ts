// `npm run bench`: nats-mesh side by side with its baselines, in the same run, on the same nats-server.
// Callers, responders, servers and load generators each run in their own process; rounds alternate
// their order to cancel drift; each figure is the median of its rounds. Nothing here fails on a figure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { REQUEST_JSON } from './baselines/greeting.ts';
import { writeReport, type Row, type Target } from './report.ts';
import { median, type Measurement } from './stats.ts';
import { benchToken } from './token.ts';
import { startWorker, type Worker } from './worker.ts';
import { BENCH_POOL_SIZE } from './workers/ipc.ts';

const quick = process.argv.includes('--quick');
/** `--only TEXT` runs the scenarios whose name contains TEXT (case-insensitive), e.g. --only wamp. */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.toLowerCase() : undefined;
const selected = (name: string) => only === undefined || name.toLowerCase().includes(only);
const ROUNDS = quick ? 1 : 5;
const ROUND_MS = quick ? 400 : 1000;
/** Every variant runs once unrecorded first (not in --quick): JIT, pools and the database's caches warm up. */
const WARMUP_MS = quick ? 0 : 600;
/** In flight (or connections); the targets are stated at 64, so --quick measures only that. */
const LEVELS = quick ? [64] : [1, 64];

interface Variant {
  label: string;
  baseline?: boolean;
  measure(inflight: number, durationMs: number): Promise<Measurement>;
}

interface Scenario {
  name: string;
  /** What a level means is the scenario's: requests in flight, connections, or sessions. */
  levels?: number[];
  levelUnit?: string;
  variants: Variant[];
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

const rows: Row[] = [];
const workers: Worker<Record<string, unknown>>[] = [];
const unique = (prefix: string) => `${prefix}_${randomBytes(3).toString('hex')}`;

async function worker<T = Record<string, unknown>>(name: string, ...args: string[]): Promise<Worker<T>> {
  const w = await startWorker<T>(name, args, name === 'wamp-server' ? ['--expose-gc'] : []);
  workers.push(w as Worker<Record<string, unknown>>);
  return w;
}

async function stopAll(): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
}

/** Stateless workers (callers, load generators) live for the whole run: fewer processes to start. */
const sharedWorkers = new Map<string, Promise<Worker<Record<string, unknown>>>>();
function shared(name: 'rpc-caller' | 'http-load'): Promise<Worker<Record<string, unknown>>> {
  if (!sharedWorkers.has(name)) sharedWorkers.set(name, startWorker(name));
  return sharedWorkers.get(name)!;
}

async function runScenario(scenario: Scenario): Promise<void> {
  process.stdout.write(`\n${scenario.name}\n`);
  const started = performance.now();
  await scenario.setup();
  process.stdout.write(`  (set up in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  try {
    for (const level of scenario.levels ?? LEVELS) {
      const samples = new Map<Variant, Measurement[]>(scenario.variants.map((v) => [v, []]));
      if (WARMUP_MS > 0) for (const variant of scenario.variants) await variant.measure(level, WARMUP_MS);
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? scenario.variants : [...scenario.variants].reverse();
        for (const variant of order) samples.get(variant)!.push(await variant.measure(level, ROUND_MS));
      }
      const summary = (variant: Variant): Measurement => {
        const s = samples.get(variant)!;
        return {
          rate: median(s.map((m) => m.rate)),
          p50Ms: median(s.map((m) => m.p50Ms)),
          p99Ms: median(s.map((m) => m.p99Ms)),
          errors: s.reduce((n, m) => n + m.errors, 0),
        };
      };
      const baseline = scenario.variants.find((v) => v.baseline) ?? scenario.variants[0]!;
      for (const variant of scenario.variants) {
        const measurement = summary(variant);
        const ratio = measurement.rate / summary(baseline).rate;
        rows.push({ scenario: scenario.name, level: String(level), variant: variant.label, baseline: variant === baseline, measurement, ratio });
        process.stdout.write(`  ${String(level).padStart(4)} ${(scenario.levelUnit ?? 'in flight').padEnd(9)} ${variant.label.padEnd(44)} ${measurement.rate.toFixed(0).padStart(7)}/s  p50 ${measurement.p50Ms.toFixed(2)} ms  p99 ${measurement.p99Ms.toFixed(2)} ms  ${ratio.toFixed(2)}x\n`);
      }
    }
  } finally {
    await scenario.teardown();
    process.stdout.write(`  (${((performance.now() - started) / 1000).toFixed(1)} s in all)\n`);
  }
}

interface RpcVariant {
  label: string;
  /** How the caller process calls (see workers/rpc-caller.ts). */
  mode: 'mesh' | 'lean' | 'request';
  responder: 'mesh' | 'mesh-plain' | 'mesh-plain-unobserved' | 'raw';
  baseline?: boolean;
}

const FLOOR = 'raw nats.js responder + lean caller (floor)';
const MESH_RPC = 'nats-mesh service + mesh client';
const MESH_RPC_PLAIN = 'nats-mesh service, plain @rpc (no schema)';
const MESH_RPC_UNOBSERVED = 'nats-mesh service, plain @rpc, metrics and tracing off';

function rpcScenario(name: string, encoding: 'json' | 'msgpack', variants: RpcVariant[]): Scenario {
  let caller: Worker<Record<string, unknown>>;
  const subjects = {
    mesh: `${unique('bench_mesh')}.hello`,
    'mesh-plain': `${unique('bench_plain')}.hello`,
    'mesh-plain-unobserved': `${unique('bench_unobserved')}.hello`,
    raw: `${unique('bench_raw')}.hello`,
  };
  return {
    name,
    variants: variants.map((v) => ({
      label: v.label,
      baseline: v.baseline,
      measure: (inflight, durationMs) => caller.request<Measurement>({ mode: v.mode, subject: subjects[v.responder], encoding, inflight, durationMs }),
    })),
    async setup() {
      const kinds = [...new Set(variants.map((v) => v.responder))];
      await Promise.all(kinds.map((kind) => worker('responder', kind, subjects[kind].split('.')[0]!)));
      caller = await shared('rpc-caller');
    },
    teardown: stopAll,
  };
}

const MESH_HTTP_AUTH = 'nats-mesh gateway-http, JWT + policy';
const MESH_HTTP_UNOBSERVED = 'nats-mesh gateway-http, metrics and tracing off';

interface GatewayLayer {
  label: string;
  /** The http-server worker kind: gateway, gateway-auth, gateway-unobserved (see workers/http-server.ts). */
  kind: string;
  baseline?: boolean;
  /** Send the bench token as a bearer credential. */
  authorized?: boolean;
}

/** gateway-http in two configurations in front of the same service, to show what one layer costs. */
function gatewayLayerScenario(name: string, layers: GatewayLayer[]): Scenario {
  const mesh = unique('bench_layer');
  const secret = randomBytes(32).toString('base64');
  let load: Worker<Record<string, unknown>>;
  const urls = new Map<string, string>();
  let token = '';
  return {
    name,
    variants: layers.map((layer) => ({
      label: layer.label,
      baseline: layer.baseline,
      measure: (connections, durationMs) => load.request<Measurement>({
        url: `${urls.get(layer.kind)}/${mesh}.hello`, body: REQUEST_JSON, connections, durationMs,
        headers: layer.authorized ? { authorization: `Bearer ${token}` } : {},
      }),
    })),
    async setup() {
      token = await benchToken(secret);
      // The service verifies the identity an authenticating gateway forwards: it shares the gateway's secret.
      await worker('responder', 'mesh', mesh, secret);
      for (const { kind } of layers) urls.set(kind, (await worker<{ url: string }>('http-server', kind, mesh, secret)).info.url);
      load = await shared('http-load');
    },
    teardown: stopAll,
  };
}

function httpScenario(): Scenario {
  const mesh = unique('bench_http');
  let load: Worker<Record<string, unknown>>;
  const urls = new Map<string, string>();
  const measure = (kind: string): Variant['measure'] => (connections, durationMs) =>
    load.request<Measurement>({ url: `${urls.get(kind)}/${mesh}.hello`, body: REQUEST_JSON, connections, durationMs });
  return {
    name: 'HTTP gateway: POST /greeting.hello (autocannon, connections = in flight)',
    variants: [
      { label: 'bare Koa + lean caller, inline', baseline: true, measure: measure('koa-lean') },
      { label: MESH_HTTP, measure: measure('gateway') },
      { label: 'bare Koa + nc.request, inline', measure: measure('koa-request') },
      { label: 'bare Koa returning a constant (HTTP ceiling)', measure: measure('koa-constant') },
    ],
    async setup() {
      await worker('responder', 'mesh', mesh);
      for (const kind of ['koa-lean', 'gateway', 'koa-request', 'koa-constant']) {
        urls.set(kind, (await worker<{ url: string }>('http-server', kind, mesh)).info.url);
      }
      load = await shared('http-load');
    },
    teardown: stopAll,
  };
}

/** A nats-server of the scenario's own on a free port, so that every `$SRV.INFO` seen on it is the gateway's. */
async function ownNatsServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await (await connect({ servers: url })).close();
      break;
    } catch (err) {
      if (i === 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A well-formed name no service answers, against one service on a nats-server of its own: how fast the 404 comes
 * and how many `$SRV.INFO` queries a second the flood makes the gateway send (each one costs every service a reply).
 */
function unknownProcedureScenario(): Scenario {
  const mesh = unique('bench_known');
  let load: Worker<Record<string, unknown>>;
  let nats: Awaited<ReturnType<typeof ownNatsServer>>;
  let watcher: NatsConnection;
  let queries = 0;
  let url = '';
  return {
    name: 'HTTP gateway: unknown procedure (404 UNKNOWN_PROCEDURE; autocannon, connections = in flight)',
    levels: [1, 64],
    variants: [
      {
        label: MESH_HTTP,
        async measure(connections, durationMs) {
          const before = queries;
          const measurement = await load.request<Measurement>({ url: `${url}/${unique('nope')}.x`, body: REQUEST_JSON, connections, durationMs, expect: '4xx' });
          await watcher.flush();
          process.stdout.write(`       $SRV.INFO during ${durationMs} ms of misses at ${connections} in flight: ${queries - before} (${(((queries - before) * 1000) / durationMs).toFixed(1)}/s)\n`);
          return measurement;
        },
      },
    ],
    async setup() {
      nats = await ownNatsServer();
      watcher = await connect({ servers: nats.url });
      watcher.subscribe('$SRV.INFO', { callback: () => queries++ });
      await watcher.flush();
      workers.push(await startWorker('responder', ['mesh', mesh], [], { NATS_URL: nats.url }));
      const gateway = await startWorker<{ url: string }>('http-server', ['gateway', mesh], [], { NATS_URL: nats.url });
      workers.push(gateway as Worker<Record<string, unknown>>);
      url = gateway.info.url;
      load = await shared('http-load');
    },
    async teardown() {
      await stopAll();
      await watcher.close();
      await nats.stop();
    },
  };
}

/** Connection counts the gateway should hold; the goal (not asserted) is p99 < 250 ms at 1,000 with no timeout. */
const CONNECTION_LEVELS = [1000, 5000];

/**
 * Many connections against the gateway, and against bare Koa answering a constant: what the machine itself does
 * with that many connections (wrk's connection burst at the start of each round costs both some timeouts).
 */
function connectionsScenario(): Scenario {
  const mesh = unique('bench_conns');
  let load: Worker<Record<string, unknown>>;
  const urls = new Map<string, string>();
  const measure = (kind: string): Variant['measure'] => async (connections, durationMs) => {
    const m = await load.request<Measurement & { timeouts: number }>({ url: `${urls.get(kind)}/${mesh}.hello`, body: REQUEST_JSON, connections, durationMs: Math.max(durationMs, 3000) });
    process.stdout.write(`       ${kind}, ${connections} connections: ${m.rate.toFixed(0)}/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms, ${m.errors} errors of which ${m.timeouts} timeouts\n`);
    return m;
  };
  return {
    name: 'HTTP gateway under many connections: POST /greeting.hello (wrk, 2 s timeout)',
    levels: CONNECTION_LEVELS,
    levelUnit: 'conns',
    variants: [
      { label: 'bare Koa returning a constant (HTTP ceiling)', baseline: true, measure: measure('koa-constant') },
      { label: MESH_HTTP, measure: measure('gateway') },
    ],
    async setup() {
      await worker('responder', 'mesh', mesh);
      for (const kind of ['gateway', 'koa-constant']) urls.set(kind, (await worker<{ url: string }>('http-server', kind, mesh)).info.url);
      load = await worker('http-connections');
    },
    teardown: stopAll,
  };
}

const MOLECULER_RPC = 'Moleculer broker.call';
const MOLECULER_WEB = 'moleculer-web';
const MESH_HTTP = 'nats-mesh gateway-http';

function moleculerRpcScenario(): Scenario {
  const service = unique('greeting');
  const mesh = unique('bench_mol_mesh');
  let caller: Worker<Record<string, unknown>>;
  const rpc = (mode: string, subject: string): Variant['measure'] => (inflight, durationMs) =>
    caller.request<Measurement>({ mode, subject, encoding: 'json', inflight, durationMs });
  return {
    name: 'Moleculer 0.14 RPC over the same nats-server',
    variants: [
      { label: MOLECULER_RPC, baseline: true, measure: rpc('moleculer', `${service}.hello`) },
      { label: MESH_RPC, measure: rpc('mesh', `${mesh}.hello`) },
    ],
    async setup() {
      await Promise.all([worker('responder', 'mesh', mesh), worker('responder', 'moleculer', service)]);
      caller = await shared('rpc-caller');
    },
    teardown: stopAll,
  };
}

function moleculerHttpScenario(): Scenario {
  const service = unique('greeting');
  const mesh = unique('bench_mol_http');
  let load: Worker<Record<string, unknown>>;
  const urls = new Map<string, string>();
  return {
    name: 'moleculer-web 0.10 over the same nats-server (autocannon, connections = in flight)',
    variants: [
      { label: MOLECULER_WEB, baseline: true, measure: (connections, durationMs) => load.request({ url: `${urls.get('moleculer-web')}/${service}.hello`, body: JSON.stringify({ first_name: 'Bob', last_name: 'Ross' }), connections, durationMs }) },
      { label: MESH_HTTP, measure: (connections, durationMs) => load.request({ url: `${urls.get('gateway')}/${mesh}.hello`, body: REQUEST_JSON, connections, durationMs }) },
    ],
    async setup() {
      await Promise.all([worker('responder', 'mesh', mesh), worker('responder', 'moleculer', service)]);
      urls.set('moleculer-web', (await worker<{ url: string }>('http-server', 'moleculer-web', service)).info.url);
      urls.set('gateway', (await worker<{ url: string }>('http-server', 'gateway', mesh)).info.url);
      load = await shared('http-load');
    },
    teardown: stopAll,
  };
}

/** The Postgres server thing_service is measured on; each scenario makes a database of its own there. */
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_FLOOR = 'pg directly, same pool size (database floor)';
const MESH_THING = 'thing_service through the mesh (TypeORM)';

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function thingScenario(query: 'create' | 'list'): Scenario {
  const database = unique('bench_thing');
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  const service = unique('thing_service');
  let caller: Worker<Record<string, unknown>>;
  let floor: Worker<Record<string, unknown>>;
  const call = query === 'create' ? { procedure: 'create_thing', args: ['bench'], kwargs: {} } : { procedure: 'get_things', args: [], kwargs: { limit: 100 } };
  return {
    name: query === 'create' ? 'thing_service.create_thing on Postgres' : 'thing_service.get_things(limit=100) on Postgres (1,000 rows)',
    variants: [
      { label: PG_FLOOR, baseline: true, measure: (inflight, durationMs) => floor.request({ query, inflight, durationMs }) },
      {
        label: MESH_THING,
        measure: (inflight, durationMs) =>
          caller.request({ mode: 'mesh', subject: `${service}.${call.procedure}`, encoding: 'json', call, inflight, durationMs }),
      },
    ],
    async setup() {
      await onServer(`CREATE DATABASE "${database}"`);
      await worker('responder', 'thing', service, url.href);
      if (query === 'list') {
        const client = new pg.Client({ connectionString: url.href });
        await client.connect();
        await client.query(`INSERT INTO "thing" ("name") SELECT 'seed ' || n FROM generate_series(1, 1000) AS n`);
        await client.end();
      }
      floor = await worker('pg-floor', url.href, String(BENCH_POOL_SIZE));
      caller = await shared('rpc-caller');
    },
    async teardown() {
      await stopAll();
      await onServer(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    },
  };
}

const FANOUT_SESSIONS = 1000;
const BARE_WS = 'bare ws broadcasting the NATS subscription';
const MESH_WAMP = 'nats-mesh gateway-wamp (WAMP sessions)';

function fanoutScenario(): Scenario {
  const topic = `${unique('bench_fanout')}.events`;
  let publisher: Worker<Record<string, unknown>>;
  const clients = new Map<string, Worker<Record<string, unknown>>>();
  const deliver = (kind: string): Variant['measure'] => async (sessions, durationMs) => {
    const events = Math.max(5, Math.round(durationMs / 25));
    const expected = clients.get(kind)!.request<{ received: number; lastAt: number }>({ op: 'expect', events, timeoutMs: 30_000 });
    const { startedAt } = await publisher.request<{ startedAt: number }>({ subject: topic, events });
    const { received, lastAt } = await expected;
    return { rate: received / ((lastAt - startedAt) / 1000), p50Ms: Number.NaN, p99Ms: Number.NaN, errors: events * sessions - received };
  };
  return {
    name: `WAMP fan-out: one publisher, ${FANOUT_SESSIONS} subscribers in another process (events delivered per second)`,
    levels: [FANOUT_SESSIONS],
    levelUnit: 'sessions',
    variants: [
      { label: BARE_WS, baseline: true, measure: deliver('raw') },
      { label: MESH_WAMP, measure: deliver('wamp') },
    ],
    async setup() {
      const bare = await worker<{ url: string }>('ws-broadcast', topic);
      const wamp = await worker<{ url: string }>('wamp-server');
      publisher = await worker('publisher');
      for (const [kind, url] of [['raw', bare.info.url], ['wamp', wamp.info.url]] as const) {
        const w = await worker('ws-clients');
        await w.request({ op: 'connect', url, count: FANOUT_SESSIONS, mode: kind, topic });
        clients.set(kind, w);
      }
    },
    teardown: stopAll,
  };
}

interface MemoryReading {
  sessions: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerSession: number;
}

async function idleSessionMemory(sessions: number): Promise<MemoryReading> {
  process.stdout.write(`\n${MEMORY}: ${sessions}\n`);
  try {
    const gateway = await worker<{ url: string }>('wamp-server');
    const clients = await worker('ws-clients');
    const before = await gateway.request<NodeJS.MemoryUsage>({ op: 'memory' });
    await clients.request({ op: 'connect', url: gateway.info.url, count: sessions, mode: 'wamp', topic: `${unique('bench_idle')}.idle` });
    const after = await gateway.request<NodeJS.MemoryUsage>({ op: 'memory' });
    const reading = {
      sessions,
      rssBeforeMiB: before.rss / 2 ** 20,
      rssAfterMiB: after.rss / 2 ** 20,
      kibPerSession: (after.rss - before.rss) / 1024 / sessions,
    };
    process.stdout.write(`  rss ${reading.rssBeforeMiB.toFixed(0)} MiB -> ${reading.rssAfterMiB.toFixed(0)} MiB, ${reading.kibPerSession.toFixed(1)} KiB per session\n`);
    return reading;
  } finally {
    await stopAll();
  }
}

function ratio(scenario: string, level: string, variant: string, against: string): number {
  const find = (label: string) => rows.find((r) => r.scenario === scenario && r.level === level && r.variant === label)?.measurement.rate ?? Number.NaN;
  return find(variant) / find(against);
}

const started = Date.now();
const scenarios: Scenario[] = [
  rpcScenario('RPC over NATS, JSON: greeting.hello', 'json', [
    { label: FLOOR, mode: 'lean', responder: 'raw', baseline: true },
    { label: MESH_RPC, mode: 'mesh', responder: 'mesh' },
    { label: MESH_RPC_PLAIN, mode: 'mesh', responder: 'mesh-plain' },
    { label: 'raw nats.js responder + nc.request', mode: 'request', responder: 'raw' },
  ]),
  rpcScenario('RPC over NATS, MessagePack: greeting.hello', 'msgpack', [
    { label: FLOOR, mode: 'lean', responder: 'raw', baseline: true },
    { label: MESH_RPC, mode: 'mesh', responder: 'mesh' },
  ]),
  httpScenario(),
  unknownProcedureScenario(),
  moleculerRpcScenario(),
  moleculerHttpScenario(),
  thingScenario('create'),
  thingScenario('list'),
  fanoutScenario(),
  connectionsScenario(),
  gatewayLayerScenario('HTTP gateway with authentication: POST /greeting.hello with a bearer JWT and a policy', [
    { label: MESH_HTTP, kind: 'gateway', baseline: true },
    { label: MESH_HTTP_AUTH, kind: 'gateway-auth', authorized: true },
  ]),
  gatewayLayerScenario('HTTP gateway with metrics and tracing: POST /greeting.hello, both on (the default) and both off', [
    { label: MESH_HTTP_UNOBSERVED, kind: 'gateway-unobserved', baseline: true },
    { label: MESH_HTTP, kind: 'gateway' },
  ]),
  rpcScenario('RPC with metrics and tracing: greeting.hello as a plain @rpc, both on (the default) and both off', 'json', [
    { label: MESH_RPC_UNOBSERVED, mode: 'mesh', responder: 'mesh-plain-unobserved', baseline: true },
    { label: MESH_RPC_PLAIN, mode: 'mesh', responder: 'mesh-plain' },
  ]),
];

const MEMORY = 'WAMP gateway memory with idle sessions';
let memory: MemoryReading | undefined;
try {
  for (const scenario of scenarios.filter((s) => selected(s.name))) await runScenario(scenario);
  if (selected(MEMORY)) memory = await idleSessionMemory(quick ? 2000 : 10_000);
} finally {
  await stopAll();
  await Promise.all([...sharedWorkers.values()].map(async (w) => (await w).stop()));
}

const [rpcJson, rpcMsgpack, http, , moleculerRpc, moleculerHttp, thingCreate, thingList, fanout, , httpAuth, httpObserved, rpcObserved] = scenarios.map((s) => s.name) as [
  string, string, string, string, string, string, string, string, string, string, string, string, string,
];
const targets: Target[] = [
  { scenario: rpcJson, description: 'RPC JSON, 64 in flight: mesh, plain @rpc / floor', ratio: ratio(rpcJson, '64', MESH_RPC_PLAIN, FLOOR), goal: 0.95 },
  { scenario: rpcJson, description: 'RPC JSON, 64 in flight: mesh, zod schema / floor', ratio: ratio(rpcJson, '64', MESH_RPC, FLOOR), goal: 0.85 },
  { scenario: rpcMsgpack, description: 'RPC MessagePack, 64 in flight: mesh / floor', ratio: ratio(rpcMsgpack, '64', MESH_RPC, FLOOR), goal: 0.9 },
  { scenario: http, description: 'HTTP, 64 connections: gateway / Koa + lean caller', ratio: ratio(http, '64', MESH_HTTP, 'bare Koa + lean caller, inline'), goal: 0.9 },
  { scenario: moleculerRpc, description: 'RPC, 64 in flight: nats-mesh / Moleculer', ratio: ratio(moleculerRpc, '64', MESH_RPC, MOLECULER_RPC), goal: 1.3 },
  { scenario: moleculerHttp, description: 'HTTP, 64 connections: gateway-http / moleculer-web', ratio: ratio(moleculerHttp, '64', MESH_HTTP, MOLECULER_WEB), goal: 1.5 },
  { scenario: thingCreate, description: 'create_thing, 64 in flight: mesh / pg floor', ratio: ratio(thingCreate, '64', MESH_THING, PG_FLOOR), goal: 0.8 },
  { scenario: thingList, description: 'get_things(limit=100), 64 in flight: mesh / pg floor', ratio: ratio(thingList, '64', MESH_THING, PG_FLOOR), goal: 0.8 },
  { scenario: fanout, description: `WAMP fan-out to ${FANOUT_SESSIONS} sessions: gateway-wamp / bare ws`, ratio: ratio(fanout, String(FANOUT_SESSIONS), MESH_WAMP, BARE_WS), goal: 0.8 },
  { scenario: httpAuth, description: 'HTTP, 64 connections: JWT + policy / authentication off', ratio: ratio(httpAuth, '64', MESH_HTTP_AUTH, MESH_HTTP), goal: 0.9 },
  { scenario: httpObserved, description: 'HTTP, 64 connections: metrics and tracing on / both off', ratio: ratio(httpObserved, '64', MESH_HTTP, MESH_HTTP_UNOBSERVED), goal: 0.9 },
  { scenario: rpcObserved, description: 'RPC, 64 in flight: metrics and tracing on / both off', ratio: ratio(rpcObserved, '64', MESH_RPC_PLAIN, MESH_RPC_UNOBSERVED), goal: 0.9 },
];
const markdown = writeReport(rows, targets, memory, {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  rounds: String(ROUNDS),
  roundMs: String(ROUND_MS),
  seconds: ((Date.now() - started) / 1000).toFixed(0),
});
process.stdout.write(`\n${markdown.slice(markdown.indexOf('## Targets'))}\nwritten to bench/results/latest.md (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
