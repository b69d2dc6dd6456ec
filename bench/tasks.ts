// Durable tasks against raw JetStream and BullMQ, each on a server of its own (nats-server -js with file storage and
// redis-server without persistence, on free ports): enqueue one at a time and in bulks of 50, worker throughput at
// concurrency 100, enqueue-to-start latency at 1,000 tasks/s. Every id, ack and run is checked; the figures go to
// bench/results/tasks.json (tasks-quick.json with --quick), which performance-table.ts puts on docs/performance.md.
import { writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Queue, Worker } from 'bullmq';
import { createLogger, createTaskClient, hostService, task } from '../mesh/gateway.ts';
import { updatePerformancePage } from './performance-table.ts';

const quick = process.argv.includes('--quick');
const SERIAL = quick ? 500 : 2_000;
const BULK = quick ? 5_000 : 20_000;
const LATENCY = quick ? 300 : 1_000;
/** How many adds go out together in the bulk scenario (BullMQ's addBulk, or that many publishes in flight). */
const BULK_SIZE = 50;
/** Wrong replies, runs or counts: the run goes on and exits 1. */
const failures: string[] = [];
const check = (ok: boolean, what: string) => void (ok || failures.push(what));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const children: ChildProcess[] = [];
async function start(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  await sleep(500);
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
await start('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', mkdtempSync(join(tmpdir(), 'bench-js-'))]);
await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
const nc: NatsConnection = await connect({ servers: `127.0.0.1:${natsPort}` });
const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null };
const results: Record<string, number> = {};
const logger = createLogger({ level: 'silent', format: 'json' }, 'bench');

// The mesh's task: a no-op that notes when it started, for the latency run.
const startedAt = new Map<number, number>();
let meshRuns = 0;
class Bench {
  name = 'bench';
  @task({ concurrency: 100 })
  async noop(n: number) {
    meshRuns++;
    if (n < 0) startedAt.set(-n, Date.now());
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

// Start a mesh worker so its stream exists, then stop it so enqueues pile up.
let hosted = await hostService(new Bench(), { nc, logger, taskGraceMs: 0 });
await hosted.stop();
const tasks = createTaskClient(nc);
const queue = new Queue('bench', { connection });

results['enqueue serial: mesh'] = await rate(SERIAL, async () => {
  for (let i = 0; i < SERIAL; i++) noteId((await tasks.enqueue('bench.noop', [i])).id);
});
results['enqueue serial: raw JetStream'] = await rate(SERIAL, async () => {
  for (let i = 0; i < SERIAL; i++) noteSeq(await js.publish('raw.task', body(i)));
});
results['enqueue serial: BullMQ'] = await rate(SERIAL, async () => {
  for (let i = 0; i < SERIAL; i++) noteJob(await queue.add('noop', { n: i }, { removeOnComplete: true }));
});
results[`enqueue bulk ${BULK_SIZE}: mesh`] = await rate(BULK, () => inChunks(BULK, BULK_SIZE, async (i) => noteId((await tasks.enqueue('bench.noop', [i])).id)));
results[`enqueue bulk ${BULK_SIZE}: raw JetStream`] = await rate(BULK, () => inChunks(BULK, BULK_SIZE, async (i) => noteSeq(await js.publish('raw.task', body(i)))));
results[`enqueue bulk ${BULK_SIZE}: BullMQ addBulk`] = await rate(BULK, async () => {
  for (let i = 0; i < BULK; i += BULK_SIZE) {
    const jobs = await queue.addBulk(Array.from({ length: Math.min(BULK_SIZE, BULK - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts: { removeOnComplete: true } })));
    jobs.forEach(noteJob);
  }
});

// Workers at concurrency 100 drain what was enqueued (SERIAL + BULK each).
const total = SERIAL + BULK;
const depth = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
results['worker c=100: mesh'] = await rate(total, async () => {
  hosted = await hostService(new Bench(), { nc, logger, taskGraceMs: 0 });
  while ((await depth('TASKS_bench-noop')) > 0) await sleep(20);
});
check(meshRuns === total, `the mesh worker ran ${meshRuns} tasks of ${total}`);
check(meshIds.size === total, `${meshIds.size} distinct mesh ids for ${total} enqueues`);
results['worker c=100: raw JetStream'] = await rate(total, async () => {
  const consumer = await js.consumers.get('RAW', 'worker');
  let done = 0;
  while (done < total) {
    const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
    for await (const m of batch) {
      const [[n]] = m.json<[[number], object]>();
      check(Number.isInteger(n), `raw consumer read ${m.string()}`);
      m.ack();
      done++;
    }
  }
});
check(rawSeqs.size === total, `${rawSeqs.size} distinct raw acks for ${total} publishes`);
results['worker c=100: BullMQ'] = await rate(total, async () => {
  let done = 0;
  await new Promise<void>((resolve) => {
    const worker = new Worker('bench', async () => undefined, { connection, concurrency: 100 });
    worker.on('completed', () => ++done === total && void worker.close().then(resolve));
    worker.on('failed', (job, err) => check(false, `BullMQ job ${job?.id} failed: ${err.message}`));
  });
});
check(bullIds.size === total, `${bullIds.size} distinct BullMQ jobs for ${total} adds`);

// Enqueue-to-start latency at 1,000 tasks/s with the mesh worker running: task i goes out at start + i ms (late
// sends catch up at once, so the rate holds on average).
const enqueuedAt = new Map<number, number>();
const pending: Promise<void>[] = [];
const paced = performance.now();
for (let i = 1; i <= LATENCY; i++) {
  const wait = paced + i - performance.now();
  if (wait > 0) await sleep(wait);
  enqueuedAt.set(i, Date.now());
  pending.push(tasks.enqueue('bench.noop', [-i]).then((handle) => noteId(handle.id)));
}
await Promise.all(pending);
while (startedAt.size < LATENCY) await sleep(20);
const latencies = [...startedAt].map(([i, at]) => at - enqueuedAt.get(i)!);
results['enqueue-to-start p50 ms: mesh'] = percentile(latencies, 50);
results['enqueue-to-start p99 ms: mesh'] = percentile(latencies, 99);

await hosted.stop();
await queue.close();
await nc.close();
for (const child of children) child.kill('SIGKILL');
const file = quick ? 'tasks-quick' : 'tasks';
const durability = 'JetStream file storage (acknowledged = on disk) vs Redis without AOF or snapshots (in memory only)';
writeFileSync(
  new URL(`./results/${file}.json`, import.meta.url),
  `${JSON.stringify({ meta: { quick, serial: SERIAL, bulk: BULK, bulkSize: BULK_SIZE, latencyTasks: LATENCY, durability, at: new Date().toISOString() }, results, failures }, null, 2)}\n`,
);
for (const failure of failures) process.stdout.write(`FAILED: ${failure}\n`);
for (const [name, value] of Object.entries(results)) process.stdout.write(`${name.padEnd(40)} ${value.toFixed(name.includes(' ms') ? 1 : 0).padStart(8)}${name.includes(' ms') ? '' : '/s'}\n`);
const r = (a: string, b: string) => (results[a]! / results[b]!).toFixed(2);
process.stdout.write(
  `\nenqueue serial: mesh/raw ${r('enqueue serial: mesh', 'enqueue serial: raw JetStream')}x (goal 0.9), mesh/BullMQ ${r('enqueue serial: mesh', 'enqueue serial: BullMQ')}x (goal 1.0)\n`,
);
process.stdout.write(
  `enqueue bulk: mesh/raw ${r(`enqueue bulk ${BULK_SIZE}: mesh`, `enqueue bulk ${BULK_SIZE}: raw JetStream`)}x, mesh/BullMQ ${r(`enqueue bulk ${BULK_SIZE}: mesh`, `enqueue bulk ${BULK_SIZE}: BullMQ addBulk`)}x\n`,
);
process.stdout.write(`worker: mesh/raw ${r('worker c=100: mesh', 'worker c=100: raw JetStream')}x (goal 0.8), mesh/BullMQ ${r('worker c=100: mesh', 'worker c=100: BullMQ')}x (goal 2.0)\n`);
process.stdout.write(`written to bench/results/${file}.json\n`);
if (!quick) process.stdout.write(`${updatePerformancePage() ? 'docs/performance.md: tables made again' : 'docs/performance.md: tables already match'}\n`);
process.exit(failures.length > 0 ? 1 : 0);
