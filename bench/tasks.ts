// Durable tasks against raw JetStream and BullMQ, each on a server of its own (nats-server -js and redis-server
// on free ports): enqueue one at a time and in bulk, worker throughput at concurrency 100, enqueue-to-start latency.
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

const quick = process.argv.includes('--quick');
const SERIAL = quick ? 500 : 2_000;
const BULK = quick ? 5_000 : 20_000;
const LATENCY = quick ? 300 : 1_000;

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
class Bench {
  name = 'bench';
  @task({ concurrency: 100 })
  async noop(n: number) {
    if (n < 0) startedAt.set(-n, Date.now());
  }
}

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

results['enqueue serial: mesh'] = await rate(SERIAL, async () => { for (let i = 0; i < SERIAL; i++) await tasks.enqueue('bench.noop', [i]); });
results['enqueue serial: raw JetStream'] = await rate(SERIAL, async () => { for (let i = 0; i < SERIAL; i++) await js.publish('raw.task', body(i)); });
results['enqueue serial: BullMQ'] = await rate(SERIAL, async () => { for (let i = 0; i < SERIAL; i++) await queue.add('noop', { n: i }, { removeOnComplete: true }); });
results['enqueue bulk: mesh'] = await rate(BULK, () => inChunks(BULK, 1_000, (i) => tasks.enqueue('bench.noop', [i])));
results['enqueue bulk: raw JetStream'] = await rate(BULK, () => inChunks(BULK, 1_000, (i) => js.publish('raw.task', body(i))));
results['enqueue bulk: BullMQ addBulk'] = await rate(BULK, async () => {
  for (let i = 0; i < BULK; i += 1_000) await queue.addBulk(Array.from({ length: Math.min(1_000, BULK - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts: { removeOnComplete: true } })));
});

// Workers at concurrency 100 drain what was enqueued (SERIAL + BULK each).
const total = SERIAL + BULK;
const depth = async (stream: string) => (await jsm.streams.info(stream)).state.messages;
results['worker c=100: mesh'] = await rate(total, async () => {
  hosted = await hostService(new Bench(), { nc, logger, taskGraceMs: 0 });
  while ((await depth('TASKS_bench-noop')) > 0) await sleep(20);
});
results['worker c=100: raw JetStream'] = await rate(total, async () => {
  const consumer = await js.consumers.get('RAW', 'worker');
  let done = 0;
  while (done < total) {
    const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
    for await (const m of batch) (m.ack(), done++);
  }
});
results['worker c=100: BullMQ'] = await rate(total, async () => {
  let done = 0;
  await new Promise<void>((resolve) => {
    const worker = new Worker('bench', async () => undefined, { connection, concurrency: 100 });
    worker.on('completed', () => ++done === total && void worker.close().then(resolve));
  });
});

// Enqueue-to-start latency, one task every 2 ms with the mesh worker running.
const enqueuedAt = new Map<number, number>();
for (let i = 1; i <= LATENCY; i++) {
  enqueuedAt.set(i, Date.now());
  void tasks.enqueue('bench.noop', [-i]);
  await sleep(2);
}
while (startedAt.size < LATENCY) await sleep(20);
const latencies = [...startedAt].map(([i, at]) => at - enqueuedAt.get(i)!);
results['enqueue-to-start p50 ms: mesh'] = percentile(latencies, 50);
results['enqueue-to-start p99 ms: mesh'] = percentile(latencies, 99);

await hosted.stop();
await queue.close();
await nc.close();
for (const child of children) child.kill('SIGKILL');
for (const [name, value] of Object.entries(results)) process.stdout.write(`${name.padEnd(40)} ${value.toFixed(name.includes(' ms') ? 1 : 0).padStart(8)}${name.includes(' ms') ? '' : '/s'}\n`);
const r = (a: string, b: string) => (results[a]! / results[b]!).toFixed(2);
process.stdout.write(`\nenqueue serial: mesh/raw ${r('enqueue serial: mesh', 'enqueue serial: raw JetStream')}x (goal 0.9), mesh/BullMQ ${r('enqueue serial: mesh', 'enqueue serial: BullMQ')}x (goal 1.0)\n`);
process.stdout.write(`enqueue bulk: mesh/raw ${r('enqueue bulk: mesh', 'enqueue bulk: raw JetStream')}x, mesh/BullMQ ${r('enqueue bulk: mesh', 'enqueue bulk: BullMQ addBulk')}x\n`);
process.stdout.write(`worker: mesh/raw ${r('worker c=100: mesh', 'worker c=100: raw JetStream')}x (goal 0.8), mesh/BullMQ ${r('worker c=100: mesh', 'worker c=100: BullMQ')}x (goal 2.0)\n`);
process.exit(0);
