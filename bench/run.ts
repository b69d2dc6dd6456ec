// `npm run bench`: nats-mesh side by side with its baselines, in the same run, on the same nats-server.
// Callers, responders, servers and load generators each run in their own process; rounds alternate
// their order to cancel drift; each figure is the median of its rounds. Nothing here fails on a figure; a scenario
// whose replies are wrong fails (the run goes on, lists it and exits 1). A full run writes results/latest.*, which
// the table of docs/performance.md is made from (performance-table.ts, run at the end); a quick or --only run writes results/partial.*.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { REQUEST_JSON } from './baselines/greeting.ts';
import { updatePerformancePage } from './performance-table.ts';
import { GREETING, GREETING_REPLY_JSON } from './replies.ts';
import { environment, writeReport, type Failure, type Row, type Target } from './report.ts';
import { median, type Measurement } from './stats.ts';
import { benchToken } from './token.ts';
import { startWorker, type Worker } from './worker.ts';
import { THING_CALLS, type ThingCallName } from './baselines/thing.ts';
import { BENCH_POOL_SIZE } from './workers/ipc.ts';
import { freePort } from './free-port.ts';

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
const failures: Failure[] = [];
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
function shared(name: 'rpc-caller' | 'http-load' | 'stream-caller'): Promise<Worker<Record<string, unknown>>> {
  if (!sharedWorkers.has(name)) sharedWorkers.set(name, startWorker(name));
  return sharedWorkers.get(name)!;
}

/** Runs a scenario; one that fails (wrong replies, a worker gone) is listed in `failures` and its rows dropped. */
async function runScenario(scenario: Scenario): Promise<void> {
  const before = rows.length;
  try {
    await measureScenario(scenario);
  } catch (err) {
    rows.splice(before);
    failures.push({ scenario: scenario.name, error: err instanceof Error ? err.message : String(err) });
    process.stdout.write(`  FAILED: ${failures.at(-1)!.error}\n`);
    await stopAll();
  }
}

async function measureScenario(scenario: Scenario): Promise<void> {
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
        process.stdout.write(
          `  ${String(level).padStart(4)} ${(scenario.levelUnit ?? 'in flight').padEnd(9)} ${variant.label.padEnd(44)} ${measurement.rate.toFixed(0).padStart(7)}/s  p50 ${measurement.p50Ms.toFixed(2)} ms  p99 ${measurement.p99Ms.toFixed(2)} ms  ${ratio.toFixed(2)}x\n`,
        );
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
  mode: 'mesh' | 'mesh-resilient' | 'lean' | 'request';
  responder: 'mesh' | 'mesh-hooked' | 'mesh-plain' | 'mesh-plain-unobserved' | 'raw';
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
    'mesh-hooked': `${unique('bench_hooked')}.hello`,
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

/** What every answer of greeting.hello through an HTTP server must be. */
const GREETING_ANSWER = { equals: GREETING_REPLY_JSON };

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
      measure: (connections, durationMs) =>
        load.request<Measurement>({
          url: `${urls.get(layer.kind)}/${mesh}.hello`,
          body: REQUEST_JSON,
          answer: GREETING_ANSWER,
          connections,
          durationMs,
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

const KOA_LEAN = 'bare Koa + lean caller, inline (as people write it)';
const KOA_BATCHING = "bare Koa + batching caller (a turn's requests published together)";

function httpScenario(): Scenario {
  const mesh = unique('bench_http');
  let load: Worker<Record<string, unknown>>;
  const urls = new Map<string, string>();
  const measure =
    (kind: string): Variant['measure'] =>
    (connections, durationMs) =>
      load.request<Measurement>({ url: `${urls.get(kind)}/${mesh}.hello`, body: REQUEST_JSON, answer: GREETING_ANSWER, connections, durationMs });
  return {
    name: HTTP,
    variants: [
      { label: KOA_LEAN, baseline: true, measure: measure('koa-lean') },
      { label: KOA_BATCHING, measure: measure('koa-batching') },
      { label: MESH_HTTP, measure: measure('gateway') },
      { label: 'bare Koa + nc.request, inline', measure: measure('koa-request') },
      { label: 'bare Koa returning a constant (HTTP ceiling)', measure: measure('koa-constant') },
    ],
    async setup() {
      await worker('responder', 'mesh', mesh);
      for (const kind of ['koa-lean', 'koa-batching', 'gateway', 'koa-request', 'koa-constant']) {
        urls.set(kind, (await worker<{ url: string }>('http-server', kind, mesh)).info.url);
      }
      load = await shared('http-load');
    },
    teardown: stopAll,
  };
}

/** A nats-server of the scenario's own on a free port, so that every `$SRV.INFO` seen on it is the gateway's. */
async function ownNatsServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
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
          const measurement = await load.request<Measurement>({
            url: `${url}/${unique('nope')}.x`,
            body: REQUEST_JSON,
            answer: { includes: '"UNKNOWN_PROCEDURE"' },
            connections,
            durationMs,
            expect: '4xx',
          });
          await watcher.flush();
          process.stdout.write(`       $SRV.INFO during ${durationMs} ms of misses at ${connections} in flight: ${queries - before} (${(((queries - before) * 1000) / durationMs).toFixed(1)}/s)\n`);
          return measurement;
        },
      },
    ],
    async setup() {
      nats = await ownNatsServer();
      watcher = await connect({ servers: nats.url });
      watcher.subscribe('$SRV.INFO', {
        callback: () => {
          queries++;
        },
      });
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
  const measure =
    (kind: string): Variant['measure'] =>
    async (connections, durationMs) => {
      const m = await load.request<Measurement & { timeouts: number }>({
        url: `${urls.get(kind)}/${mesh}.hello`,
        body: REQUEST_JSON,
        expected: GREETING_REPLY_JSON,
        connections,
        durationMs: Math.max(durationMs, 3000),
      });
      process.stdout.write(
        `       ${kind}, ${connections} connections: ${m.rate.toFixed(0)}/s, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms, ${m.errors} errors of which ${m.timeouts} timeouts\n`,
      );
      return m;
    };
  return {
    name: CONNECTIONS,
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
  const rpc =
    (mode: string, subject: string): Variant['measure'] =>
    (inflight, durationMs) =>
      caller.request<Measurement>({ mode, subject, encoding: 'json', inflight, durationMs });
  return {
    name: MOLECULER,
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
    name: MOLECULER_HTTP,
    variants: [
      {
        label: MOLECULER_WEB,
        baseline: true,
        measure: (connections, durationMs) =>
          load.request({
            url: `${urls.get('moleculer-web')}/${service}.hello`,
            body: JSON.stringify({ first_name: 'Bob', last_name: 'Ross' }),
            answer: { equals: JSON.stringify(GREETING) },
            connections,
            durationMs,
          }),
      },
      { label: MESH_HTTP, measure: (connections, durationMs) => load.request({ url: `${urls.get('gateway')}/${mesh}.hello`, body: REQUEST_JSON, answer: GREETING_ANSWER, connections, durationMs }) },
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
const THING_FLOOR = 'nats.js responder + lean caller, pg, same pool size (floor)';
const PG_IN_PROCESS = "pg in the caller's process, same pool size (no NATS hop)";
const MESH_THING = 'thing_service through the mesh';

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * thing_service against its floor, a bare nats.js responder doing the same SQL with `pg` one NATS hop away on a pool of
 * the same size, called by the lean caller; and `pg` in the caller's own process, for the cost of the hop itself.
 */
function thingScenario(query: ThingCallName): Scenario {
  const database = unique('bench_thing');
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  const service = unique('thing_service');
  const floorService = unique('thing_floor');
  const { procedure } = THING_CALLS[query];
  let caller: Worker<Record<string, unknown>>;
  let inProcess: Worker<Record<string, unknown>>;
  const call =
    (mode: 'mesh' | 'lean', name: string): Variant['measure'] =>
    (inflight, durationMs) =>
      caller.request({ mode, subject: `${name}.${procedure}`, encoding: 'json', thing: query, inflight, durationMs });
  return {
    name: query === 'create' ? THING_CREATE : THING_LIST,
    variants: [
      { label: THING_FLOOR, baseline: true, measure: call('lean', floorService) },
      { label: MESH_THING, measure: call('mesh', service) },
      { label: PG_IN_PROCESS, measure: (inflight, durationMs) => inProcess.request({ query, inflight, durationMs }) },
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
      await worker('responder', 'thing-floor', floorService, url.href);
      inProcess = await worker('pg-floor', url.href, String(BENCH_POOL_SIZE));
      caller = await shared('rpc-caller');
    },
    async teardown() {
      await stopAll();
      await onServer(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    },
  };
}

const STREAM_ITEMS = 1000;
const STREAM_FLOOR = 'nats.js responder + bare subscription (floor)';
const MESH_STREAM = 'nats-mesh async generator + client.stream()';

/** A stream of STREAM_ITEMS small items ([[i], {}] each, then the final [[n], {}]), in items per second. */
function streamScenario(): Scenario {
  const mesh = unique('bench_stream');
  const raw = unique('bench_stream_raw');
  let caller: Worker<Record<string, unknown>>;
  const read =
    (mode: 'mesh' | 'raw', name: string): Variant['measure'] =>
    (inflight, durationMs) =>
      caller.request({ op: 'items', mode, subject: `${name}.items`, items: STREAM_ITEMS, inflight, durationMs });
  return {
    name: STREAM,
    levels: STREAM_LEVELS,
    levelUnit: 'streams',
    variants: [
      { label: STREAM_FLOOR, baseline: true, measure: read('raw', raw) },
      { label: MESH_STREAM, measure: read('mesh', mesh) },
    ],
    async setup() {
      await Promise.all([worker('stream-responder', 'mesh', mesh), worker('stream-responder', 'raw', raw)]);
      caller = await shared('stream-caller');
    },
    teardown: stopAll,
  };
}

const CANCELS = 200;
const MESH_CANCEL = 'nats-mesh: client.stream() aborted, its handler in another process';

/** From a caller's abort to the handler's signal firing, one call at a time: p50 and p99 of CANCELS cancels a round. */
function cancelScenario(): Scenario {
  const mesh = unique('bench_cancel');
  let caller: Worker<Record<string, unknown>>;
  return {
    name: CANCEL,
    levels: [1],
    levelUnit: 'at once',
    variants: [{ label: MESH_CANCEL, measure: () => caller.request({ op: 'cancel', subject: `${mesh}.wait_for_cancel`, cancels: CANCELS }) }],
    async setup() {
      await worker('stream-responder', 'mesh', mesh);
      caller = await shared('stream-caller');
    },
    teardown: stopAll,
  };
}

const FANOUT_SESSIONS = 1000;
const BARE_WS = 'bare ws broadcasting the NATS subscription';
const MESH_WAMP = 'nats-mesh gateway-wamp (WAMP sessions)';

function fanoutScenario(): Scenario {
  const topic = `${unique('bench_fanout')}.events`;
  let publisher: Worker<Record<string, unknown>>;
  const clients = new Map<string, Worker<Record<string, unknown>>>();
  const deliver =
    (kind: string): Variant['measure'] =>
    async (sessions, durationMs) => {
      const events = Math.max(5, Math.round(durationMs / 25));
      const expected = clients.get(kind)!.request<{ received: number; lastAt: number; wrong: number; firstWrong: string }>({ op: 'expect', events, timeoutMs: 30_000 });
      const { startedAt } = await publisher.request<{ startedAt: number }>({ subject: topic, events });
      const { received, lastAt, wrong, firstWrong } = await expected;
      if (wrong > 0) throw new Error(`${wrong} events delivered were not the one published, the first ${JSON.stringify(firstWrong)}`);
      return { rate: received / ((lastAt - startedAt) / 1000), p50Ms: Number.NaN, p99Ms: Number.NaN, errors: events * sessions - received };
    };
  return {
    name: FANOUT,
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
      for (const [kind, url] of [
        ['raw', bare.info.url],
        ['wamp', wamp.info.url],
      ] as const) {
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

const row = (scenario: string, level: string, variant: string) => rows.find((r) => r.scenario === scenario && r.level === level && r.variant === variant);

/** A goal for the ratio of two rows' rates at one level: `variant` against `against`. */
function versus(scenario: string, level: string, variant: string, against: string, goal: number, description: string): Target {
  const value = (row(scenario, level, variant)?.measurement.rate ?? Number.NaN) / (row(scenario, level, against)?.measurement.rate ?? Number.NaN);
  return { scenario, description, value, goal, unit: 'x', level, variant, against };
}

const RPC_JSON = 'RPC over NATS, JSON: greeting.hello';
const RPC_MSGPACK = 'RPC over NATS, MessagePack: greeting.hello';
const HTTP = 'HTTP gateway: POST /greeting.hello (autocannon, connections = in flight)';
const MOLECULER = 'Moleculer 0.14 RPC over the same nats-server';
const MOLECULER_HTTP = 'moleculer-web 0.10 over the same nats-server (autocannon, connections = in flight)';
const THING_CREATE = 'thing_service.create_thing on Postgres';
const THING_LIST = 'thing_service.get_things(limit=100) on Postgres (1,000 rows)';
const STREAM = `A stream of ${STREAM_ITEMS.toLocaleString('en')} small items (items per second)`;
const STREAM_LEVELS = [1, 8];
const CANCEL = `Cancellation latency: a caller's abort to the handler's signal firing (${CANCELS} cancels a round; ms)`;
const FANOUT = `WAMP fan-out: one publisher, ${FANOUT_SESSIONS} subscribers in another process (events delivered per second)`;
const CONNECTIONS = 'HTTP gateway under many connections: POST /greeting.hello (wrk, 2 s timeout)';
const HTTP_AUTH = 'HTTP gateway with authentication: POST /greeting.hello with a bearer JWT and a policy';
const HTTP_OBSERVED = 'HTTP gateway with metrics and tracing: POST /greeting.hello, both on (the default) and both off';
const RPC_OBSERVED = 'RPC with metrics and tracing: greeting.hello as a plain @rpc, both on (the default) and both off';
const MEMORY = 'WAMP gateway memory with idle sessions';
const RPC_RESILIENT = 'RPC with hooks+retries+breaker declared, not triggered: greeting.hello, plain and declared';
const MESH_RPC_RESILIENT = 'nats-mesh, idle hooks both sides, retries + breaker declared';

const started = Date.now();
const scenarios: Scenario[] = [
  rpcScenario(RPC_JSON, 'json', [
    { label: FLOOR, mode: 'lean', responder: 'raw', baseline: true },
    { label: MESH_RPC, mode: 'mesh', responder: 'mesh' },
    { label: MESH_RPC_PLAIN, mode: 'mesh', responder: 'mesh-plain' },
    { label: 'raw nats.js responder + nc.request', mode: 'request', responder: 'raw' },
  ]),
  rpcScenario(RPC_MSGPACK, 'msgpack', [
    { label: FLOOR, mode: 'lean', responder: 'raw', baseline: true },
    { label: MESH_RPC, mode: 'mesh', responder: 'mesh' },
  ]),
  httpScenario(),
  unknownProcedureScenario(),
  moleculerRpcScenario(),
  moleculerHttpScenario(),
  thingScenario('create'),
  thingScenario('list'),
  streamScenario(),
  cancelScenario(),
  fanoutScenario(),
  connectionsScenario(),
  gatewayLayerScenario(HTTP_AUTH, [
    { label: MESH_HTTP, kind: 'gateway', baseline: true },
    { label: MESH_HTTP_AUTH, kind: 'gateway-auth', authorized: true },
  ]),
  gatewayLayerScenario(HTTP_OBSERVED, [
    { label: MESH_HTTP_UNOBSERVED, kind: 'gateway-unobserved', baseline: true },
    { label: MESH_HTTP, kind: 'gateway' },
  ]),
  rpcScenario(RPC_OBSERVED, 'json', [
    { label: MESH_RPC_UNOBSERVED, mode: 'mesh', responder: 'mesh-plain-unobserved', baseline: true },
    { label: MESH_RPC_PLAIN, mode: 'mesh', responder: 'mesh-plain' },
  ]),
  rpcScenario(RPC_RESILIENT, 'json', [
    { label: MESH_RPC, mode: 'mesh', responder: 'mesh', baseline: true },
    { label: MESH_RPC_RESILIENT, mode: 'mesh-resilient', responder: 'mesh-hooked' },
  ]),
];

process.stdout.write(
  `${Object.entries(environment())
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ')}\n`,
);
let memory: MemoryReading | undefined;
try {
  for (const scenario of scenarios.filter((s) => selected(s.name))) await runScenario(scenario);
  if (selected(MEMORY)) memory = await idleSessionMemory(quick ? 2000 : 10_000);
} finally {
  await stopAll();
  await Promise.all([...sharedWorkers.values()].map(async (w) => (await w).stop()));
}

const cancelP99 = row(CANCEL, '1', MESH_CANCEL)?.measurement.p99Ms ?? Number.NaN;
const connectionsP99 = row(CONNECTIONS, '1000', MESH_HTTP)?.measurement.p99Ms ?? Number.NaN;
const memoryMiB = !memory ? Number.NaN : memory.sessions === 10_000 ? memory.rssAfterMiB : memory.rssBeforeMiB + (memory.kibPerSession * 10_000) / 1024;
const targets: Target[] = [
  versus(RPC_JSON, '64', MESH_RPC_PLAIN, FLOOR, 0.95, 'RPC JSON, 64 in flight: mesh, plain @rpc / floor'),
  versus(RPC_JSON, '64', MESH_RPC, FLOOR, 0.85, 'RPC JSON, 64 in flight: mesh, zod schema / floor'),
  versus(RPC_MSGPACK, '64', MESH_RPC, FLOOR, 0.9, 'RPC MessagePack, 64 in flight: mesh / floor'),
  versus(HTTP, '64', MESH_HTTP, KOA_BATCHING, 1.0, 'HTTP, 64 connections: gateway / Koa + batching caller'),
  versus(HTTP, '64', MESH_HTTP, KOA_LEAN, 1.3, 'HTTP, 64 connections: gateway / Koa + lean caller, as people write it'),
  versus(HTTP, '1', MESH_HTTP, KOA_LEAN, 0.9, 'HTTP, 1 connection: gateway / Koa + lean caller'),
  versus(MOLECULER, '64', MESH_RPC, MOLECULER_RPC, 1.3, 'RPC, 64 in flight: nats-mesh / Moleculer'),
  versus(MOLECULER_HTTP, '64', MESH_HTTP, MOLECULER_WEB, 1.5, 'HTTP, 64 connections: gateway-http / moleculer-web'),
  ...['1', '64'].flatMap((level) => [
    versus(THING_CREATE, level, MESH_THING, THING_FLOOR, 0.8, `create_thing, ${level} in flight: mesh / nats.js + pg floor`),
    versus(THING_LIST, level, MESH_THING, THING_FLOOR, 0.8, `get_things(limit=100), ${level} in flight: mesh / nats.js + pg floor`),
  ]),
  ...STREAM_LEVELS.map((level) =>
    versus(STREAM, String(level), MESH_STREAM, STREAM_FLOOR, 0.8, `stream of ${STREAM_ITEMS.toLocaleString('en')} items, ${level} at once: client.stream() / bare subscription`),
  ),
  { scenario: CANCEL, description: 'cancellation, abort to handler signal: p99', value: cancelP99, goal: 50, unit: 'ms', level: '1', variant: MESH_CANCEL },
  versus(FANOUT, String(FANOUT_SESSIONS), MESH_WAMP, BARE_WS, 0.8, `WAMP fan-out to ${FANOUT_SESSIONS} sessions: gateway-wamp / bare ws`),
  { scenario: CONNECTIONS, description: 'gateway-http at 1,000 connections (wrk): p99', value: connectionsP99, goal: 250, unit: 'ms', level: '1000', variant: MESH_HTTP },
  versus(HTTP_AUTH, '64', MESH_HTTP_AUTH, MESH_HTTP, 0.9, 'HTTP, 64 connections: JWT + policy / authentication off'),
  versus(HTTP_OBSERVED, '64', MESH_HTTP, MESH_HTTP_UNOBSERVED, 0.9, 'HTTP, 64 connections: metrics and tracing on / both off'),
  versus(RPC_OBSERVED, '64', MESH_RPC_PLAIN, MESH_RPC_UNOBSERVED, 0.9, 'RPC, 64 in flight: metrics and tracing on / both off'),
  versus(RPC_RESILIENT, '64', MESH_RPC_RESILIENT, MESH_RPC, 0.98, 'RPC, 64 in flight: hooks, retries and breaker declared, not triggered / none'),
  { scenario: MEMORY, description: 'WAMP gateway with 10,000 idle sessions', value: memoryMiB, goal: 1024, unit: 'MiB' },
];
/** Only a full run of every scenario stands for the project (latest.*, and the table of docs/performance.md from it). */
const complete = !quick && only === undefined;
const file = complete ? 'latest' : 'partial';
const markdown = writeReport(rows, targets, memory, failures, {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  rounds: String(ROUNDS),
  roundMs: String(ROUND_MS),
  seconds: ((Date.now() - started) / 1000).toFixed(0),
  file,
});
process.stdout.write(`\n${markdown.slice(markdown.indexOf('## Targets'))}\nwritten to bench/results/${file}.md (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
process.stdout.write(`${updatePerformancePage() ? 'docs/performance.md: performance table made again from' : 'docs/performance.md: performance table already matches'} bench/results/latest.json\n`);
if (failures.length > 0) {
  process.stdout.write(`\n${failures.length} scenario(s) FAILED:\n${failures.map((f) => `  ${f.scenario}: ${f.error}`).join('\n')}\n`);
  process.exitCode = 1;
}
