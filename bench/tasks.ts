// Durable tasks against raw JetStream and BullMQ, each on a server of its own (nats-server -js with file storage and
// redis-server without persistence, on free ports): enqueue one at a time and in bulks of 50, worker throughput at
// concurrency 100 (the mesh's task also with `ignoreResult`), enqueue-to-start latency at 1,000 tasks/s. The raw
// side also has two workers that write each task's result before its ack, the durable work the mesh's worker does:
// with `kv.put` as people write it, and lean (every PubAck on one inbox). Each drain notes the CPU time per task of
// the worker's process and of the server, read from /proc, which shows which side bounds it. Each round runs every
// scenario for the three in a rotated order; the figures are the medians of the rounds, with their spread (min and
// max). Every id, ack and run is checked; the figures go to bench/results/tasks.json (tasks-quick.json with --quick),
// which performance-table.ts puts on docs/performance.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Queue, Worker } from 'bullmq';
import { createLogger, createTaskClient, hostService, task } from '../mesh/gateway.ts';
import { updatePerformancePage } from './performance-table.ts';
import { freePort } from './free-port.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const SERIAL = quick ? 500 : 2_000;
const BULK = quick ? 5_000 : 20_000;
const LATENCY = quick ? 300 : 1_000;
/** How many adds go out together in the bulk scenario (BullMQ's addBulk, or that many publishes in flight). */
const BULK_SIZE = 50;
/** Wrong replies, runs or counts: the run goes on and exits 1. */
const failures: string[] = [];
const check = (ok: boolean, what: string) => void (ok || failures.push(what));

const children: ChildProcess[] = [];
async function start(command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  await sleep(500);
  return child;
}

/** CPU time (user and system) a process has used, in µs, from /proc (clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function rate(n: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return n / ((performance.now() - started) / 1000);
}

async function inChunks(n: number, chunk: number, one: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += chunk) await Promise.all(Array.from({ length: Math.min(chunk, n - i) }, (_, j) => one(i + j)));
}

const natsPort = await freePort();
const redisPort = await freePort();
const natsServer = await start('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', mkdtempSync(join(tmpdir(), 'bench-js-'))]);
const redisServer = await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
const nc: NatsConnection = await connect({ servers: `127.0.0.1:${natsPort}` });
const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null };
const logger = createLogger({ level: 'silent', format: 'json' }, 'bench');

// The mesh's tasks: a no-op that notes when it started (the first run of a drain, and each run of the latency run),
// and the same keeping no record of a success (`ignoreResult`), as the raw worker and BullMQ's removeOnComplete keep none.
const startedAt = new Map<number, number>();
let meshRuns = 0;
let firstRun: number | undefined;
class Bench {
  name = 'bench';
  @task({ concurrency: 100 })
  async noop(n: number) {
    meshRuns++;
    firstRun ??= performance.now();
    if (n < 0) startedAt.set(-n, performance.now());
  }

  @task({ concurrency: 100, ignoreResult: true })
  async fire(n: number) {
    meshRuns++;
    firstRun ??= performance.now();
    return n;
  }
}

/** Checks that each enqueue returned a distinct id of the task. */
const meshIds = new Set<string>();
const noteId = (id: string) => {
  check(/^bench\.noop\.\d+$/.test(id) && !meshIds.has(id), `mesh enqueue returned ${id}`);
  meshIds.add(id);
};
const rawSeqs = new Set<number>();
const noteSeq = (ack: { seq: number; stream: string }) => {
  check(ack.stream === 'RAW' && !rawSeqs.has(ack.seq), `raw publish acked ${JSON.stringify(ack)}`);
  rawSeqs.add(ack.seq);
};
const bullIds = new Set<string>();
const noteJob = (job: { id?: string }) => {
  check(job.id !== undefined && !bullIds.has(job.id), `BullMQ add returned job ${job.id}`);
  bullIds.add(job.id!);
};

// Raw JetStream: a work-queue stream of its own, a bare publisher, a pull consumer that acks.
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
await jsm.streams.add({ name: 'RAW', subjects: ['raw.task'], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
await jsm.consumers.add('RAW', { durable_name: 'worker', ack_policy: AckPolicy.Explicit, max_ack_pending: -1 });
const body = (n: number) => Buffer.from(JSON.stringify([[n], {}]));
// The same with each result kept: a second work queue, filled untimed before its drain, and a KV bucket of results.
await jsm.streams.add({ name: 'RAW_KEPT', subjects: ['raw.kept'], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
await jsm.consumers.add('RAW_KEPT', { durable_name: 'worker', ack_policy: AckPolicy.Explicit, max_ack_pending: -1 });
const kept = await new Kvm(js).create('RAW_RESULTS', { history: 1, storage: StorageType.File });
// And lean: a third work queue whose worker publishes each result to the bucket's subject with one inbox for the PubAcks.
await jsm.streams.add({ name: 'RAW_LEAN', subjects: ['raw.lean'], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
await jsm.consumers.add('RAW_LEAN', { durable_name: 'worker', ack_policy: AckPolicy.Explicit, max_ack_pending: -1 });

// Start a mesh worker so its stream exists, then stop it so enqueues pile up.
let hosted = await hostService(new Bench(), { nc, logger, taskGraceMs: 0 });
await hosted.stop();
const tasks = createTaskClient(nc);
const queue = new Queue('bench', { connection });

type Who = 'mesh' | 'raw' | 'bullmq';
const LABEL: Record<Who, string> = { mesh: 'mesh', raw: 'raw JetStream', bullmq: 'BullMQ' };
const bulkName = (who: Who) => `enqueue bulk ${BULK_SIZE}: ${who === 'bullmq' ? 'BullMQ addBulk' : LABEL[who]}`;

const enqueueSerial: Record<Who, () => Promise<void>> = {
  mesh: async () => {
    for (let i = 0; i < SERIAL; i++) noteId((await tasks.enqueue('bench.noop', [i])).id);
  },
  raw: async () => {
    for (let i = 0; i < SERIAL; i++) noteSeq(await js.publish('raw.task', body(i)));
  },
  bullmq: async () => {
    for (let i = 0; i < SERIAL; i++) noteJob(await queue.add('noop', { n: i }, { removeOnComplete: true }));
  },
};

const enqueueBulk: Record<Who, () => Promise<void>> = {
  mesh: () => inChunks(BULK, BULK_SIZE, async (i) => noteId((await tasks.enqueue('bench.noop', [i])).id)),
  raw: () => inChunks(BULK, BULK_SIZE, async (i) => noteSeq(await js.publish('raw.task', body(i)))),
  bullmq: async () => {
    for (let i = 0; i < BULK; i += BULK_SIZE) {
      const jobs = await queue.addBulk(Array.from({ length: Math.min(BULK_SIZE, BULK - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts: { removeOnComplete: true } })));
      jobs.forEach(noteJob);
    }
  },
};

/**
 * Workers at concurrency 100 drain what a round enqueued (SERIAL + BULK each), timed from the first task's start to
 * the last one's end, so that starting a worker (connections, streams) is not counted for any of the three.
 */
const drained = SERIAL + BULK;
const depth = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
/** The mesh's worker of one of Bench's tasks draining its queue, timed from its first run to an empty queue. */
async function drainMesh(method: 'noop' | 'fire'): Promise<number> {
  const runsBefore = meshRuns;
  firstRun = undefined;
  hosted = await hostService(new Bench(), { nc, logger, taskGraceMs: 0 });
  while ((await depth(`TASKS_bench-${method}`)) > 0) await sleep(10);
  const rate = drained / ((performance.now() - firstRun!) / 1000);
  check(meshRuns - runsBefore === drained, `the mesh worker of ${method} ran ${meshRuns - runsBefore} tasks of ${drained}`);
  await hosted.stop();
  return rate;
}

const drain: Record<Who, () => Promise<number>> = {
  mesh: () => drainMesh('noop'),
  raw: async () => {
    const started = await fetchAll('RAW', 'raw consumer', (m) => m.ack());
    return drained / ((performance.now() - started) / 1000);
  },
  bullmq: async () => {
    let done = 0;
    let started: number | undefined;
    return new Promise<number>((resolve) => {
      const worker = new Worker(
        'bench',
        async () => {
          started ??= performance.now();
        },
        { connection, concurrency: 100 },
      );
      worker.on('completed', () => {
        if (++done < drained) return;
        const rate = drained / ((performance.now() - started!) / 1000);
        void worker.close().then(() => resolve(rate));
      });
      worker.on('failed', (job, err) => check(false, `BullMQ job ${job?.id} failed: ${err.message}`));
    });
  },
};

/** Fills a raw work queue of the floors that keep results with a round's tasks, untimed. */
async function fill(subject: string): Promise<void> {
  await inChunks(drained, BULK_SIZE, (i) => js.publish(subject, body(i)));
}

/**
 * A raw worker's loop: fetches the `drained` tasks of a work queue 100 at a time and hands each, with the number it
 * carries, to `take`, waiting for what `take` returned for a fetch before the next. Resolves with when it started.
 */
async function fetchAll(stream: string, who: string, take: (m: JsMsg, n: number) => unknown): Promise<number> {
  const consumer = await js.consumers.get(stream, 'worker');
  const started = performance.now();
  let done = 0;
  while (done < drained) {
    const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
    const taken: unknown[] = [];
    for await (const m of batch) {
      const [[n]] = m.json<[[number], object]>();
      check(Number.isInteger(n), `${who} read ${m.string()}`);
      taken.push(take(m, n));
      done++;
    }
    await Promise.all(taken);
  }
  return started;
}

/**
 * Raw JetStream with each result kept, as a user would write a durable-result worker with nats.js: fetch 100, and for
 * each task put its result in the KV bucket, then ack once the put is acknowledged; timed from the first fetch.
 */
async function drainKept(): Promise<number> {
  const started = await fetchAll('RAW_KEPT', 'raw kept consumer', (m, n) => kept.put(`raw.${m.seq}`, JSON.stringify([[n], {}])).then(() => m.ack()));
  const rate = drained / ((performance.now() - started) / 1000);
  await nc.flush();
  check((await depth('RAW_KEPT')) === 0, 'the kept-results queue drained');
  return rate;
}

/**
 * Raw JetStream with each result kept, lean: for each task of a fetch, publish its result to the bucket's subject with
 * a reply on one inbox subscription, and ack the task when its PubAck arrives (what the mesh's stream writer does).
 */
async function drainKeptLean(): Promise<number> {
  const inbox = `${createInbox()}.`;
  const waiting = new Map<string, JsMsg>();
  let acked = 0;
  let allAcked: () => void;
  const finished = new Promise<void>((resolve) => (allAcked = resolve));
  nc.subscribe(`${inbox}*`, {
    max: drained,
    callback: (err, reply) => {
      const task = waiting.get(reply.subject.slice(inbox.length));
      const ack = err ? undefined : reply.json<{ seq?: number }>();
      check(task !== undefined && Number.isInteger(ack?.seq), `lean raw worker got PubAck ${reply.string()}`);
      task?.ack();
      if (++acked === drained) allAcked();
    },
  });
  const started = await fetchAll('RAW_LEAN', 'lean raw consumer', (m, n) => {
    const token = String(m.seq);
    waiting.set(token, m);
    nc.publish(`$KV.RAW_RESULTS.lean.${m.seq}`, Buffer.from(JSON.stringify([[n], {}])), { reply: inbox + token });
  });
  await finished;
  const rate = drained / ((performance.now() - started) / 1000);
  await nc.flush();
  check((await depth('RAW_LEAN')) === 0, 'the lean kept-results queue drained');
  return rate;
}

/**
 * Enqueue-to-start latency at 1,000 tasks/s with the mesh worker running: task i goes out at start + i ms (late
 * sends catch up at once, so the rate holds on average). Resolves with the p50 and p99 in ms.
 */
async function latency(): Promise<[number, number]> {
  startedAt.clear();
  hosted = await hostService(new Bench(), { nc, logger, taskGraceMs: 0 });
  const enqueuedAt = new Map<number, number>();
  const pending: Promise<void>[] = [];
  const paced = performance.now();
  for (let i = 1; i <= LATENCY; i++) {
    const wait = paced + i - performance.now();
    if (wait > 0) await sleep(wait);
    enqueuedAt.set(i, performance.now());
    pending.push(tasks.enqueue('bench.noop', [-i]).then((handle) => noteId(handle.id)));
  }
  await Promise.all(pending);
  while (startedAt.size < LATENCY) await sleep(20);
  await hosted.stop();
  const latencies = [...startedAt].map(([i, at]) => at - enqueuedAt.get(i)!);
  return [percentile(latencies, 50), percentile(latencies, 99)];
}

/** Every figure of every round, by scenario name. */
const samples: Record<string, number[]> = {};
const note = (name: string, value: number) => void (samples[name] ??= []).push(value);
const everyone: Who[] = ['mesh', 'raw', 'bullmq'];
/**
 * Runs a drain, noting its rate and the CPU time per task of this process (the worker's, its start included) and of
 * the server it works against (redis-server for BullMQ, nats-server for the rest), so a figure says which side bounded it.
 */
async function timedDrain(name: string, server: ChildProcess, run: () => Promise<number>): Promise<void> {
  const before = [cpuMicros(process.pid), cpuMicros(server.pid!)];
  note(name, await run());
  note(`${name}: worker CPU µs per task`, (cpuMicros(process.pid) - before[0]!) / drained);
  note(`${name}: server CPU µs per task`, (cpuMicros(server.pid!) - before[1]!) / drained);
}
for (let round = 0; round < ROUNDS; round++) {
  const order = [...everyone.slice(round % 3), ...everyone.slice(0, round % 3)];
  for (const who of order) note(`enqueue serial: ${LABEL[who]}`, await rate(SERIAL, enqueueSerial[who]));
  for (const who of order) note(bulkName(who), await rate(BULK, enqueueBulk[who]));
  for (const who of order) await timedDrain(`worker c=100: ${LABEL[who]}`, who === 'bullmq' ? redisServer : natsServer, drain[who]);
  await inChunks(drained, BULK_SIZE, (i) => tasks.enqueue('bench.fire', [i]));
  await timedDrain('worker c=100: mesh, result ignored', natsServer, () => drainMesh('fire'));
  await fill('raw.kept');
  await timedDrain('worker c=100: raw JetStream, results kept', natsServer, drainKept);
  await fill('raw.lean');
  await timedDrain('worker c=100: raw JetStream, results kept lean', natsServer, drainKeptLean);
  const [p50, p99] = await latency();
  note('enqueue-to-start p50 ms: mesh', p50);
  note('enqueue-to-start p99 ms: mesh', p99);
  process.stdout.write(`round ${round + 1} of ${ROUNDS} done\n`);
}
check(meshIds.size === ROUNDS * (SERIAL + BULK + LATENCY), `${meshIds.size} distinct mesh ids for ${ROUNDS * (SERIAL + BULK + LATENCY)} enqueues`);
check(rawSeqs.size === ROUNDS * drained, `${rawSeqs.size} distinct raw acks for ${ROUNDS * drained} publishes`);
check(bullIds.size === ROUNDS * drained, `${bullIds.size} distinct BullMQ jobs for ${ROUNDS * drained} adds`);
const median = (values: number[]) => percentile(values, 50);
const results = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
const spread = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, [Math.min(...values), Math.max(...values)]]));

await queue.close();
await nc.close();
for (const child of children) child.kill('SIGKILL');
const file = quick ? 'tasks-quick' : 'tasks';
const durability = 'JetStream file storage (acknowledged = written to the stream files, which nats-server syncs to disk every 2 minutes by default) vs Redis without AOF or snapshots (in memory only)';
writeFileSync(
  new URL(`./results/${file}.json`, import.meta.url),
  `${JSON.stringify({ meta: { quick, rounds: ROUNDS, serial: SERIAL, bulk: BULK, bulkSize: BULK_SIZE, latencyTasks: LATENCY, durability, at: new Date().toISOString() }, results, spread, failures }, null, 2)}\n`,
);
for (const failure of failures) process.stdout.write(`FAILED: ${failure}\n`);
const figure = (name: string, value: number) => (name.includes(' ms') || name.includes(' µs') ? value.toFixed(1) : `${value.toFixed(0)}/s`);
for (const [name, value] of Object.entries(results)) {
  const [low, high] = spread[name]!;
  process.stdout.write(`${name.padEnd(68)} ${figure(name, value).padStart(9)}  (${figure(name, low!)} to ${figure(name, high!)})\n`);
}
const r = (a: string, b: string) => (results[a]! / results[b]!).toFixed(2);
process.stdout.write(
  `\nenqueue serial: mesh/raw ${r('enqueue serial: mesh', 'enqueue serial: raw JetStream')}x (goal 0.9), mesh/BullMQ ${r('enqueue serial: mesh', 'enqueue serial: BullMQ')}x (goal 1.0)\n`,
);
process.stdout.write(
  `enqueue bulk: mesh/raw ${r(`enqueue bulk ${BULK_SIZE}: mesh`, `enqueue bulk ${BULK_SIZE}: raw JetStream`)}x, mesh/BullMQ ${r(`enqueue bulk ${BULK_SIZE}: mesh`, `enqueue bulk ${BULK_SIZE}: BullMQ addBulk`)}x\n`,
);
process.stdout.write(`worker: mesh/raw ${r('worker c=100: mesh', 'worker c=100: raw JetStream')}x (goal 0.8), mesh/BullMQ ${r('worker c=100: mesh', 'worker c=100: BullMQ')}x (goal 2.0)\n`);
process.stdout.write(
  `worker, result ignored: mesh/raw ${r('worker c=100: mesh, result ignored', 'worker c=100: raw JetStream')}x (goal 0.8), mesh/BullMQ ${r('worker c=100: mesh, result ignored', 'worker c=100: BullMQ')}x (goal 2.0)\n`,
);
process.stdout.write(
  `worker floors: raw/BullMQ ${r('worker c=100: raw JetStream', 'worker c=100: BullMQ')}x; mesh/raw with results kept ${r('worker c=100: mesh', 'worker c=100: raw JetStream, results kept')}x, lean ${r('worker c=100: mesh', 'worker c=100: raw JetStream, results kept lean')}x\n`,
);
process.stdout.write(`written to bench/results/${file}.json\n`);
if (!quick) process.stdout.write(`${updatePerformancePage() ? 'docs/performance.md: tables made again' : 'docs/performance.md: tables already match'}\n`);
process.exit(failures.length > 0 ? 1 : 0);
