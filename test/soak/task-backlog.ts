// A long backlog and one slow worker (`npm run soak:tasks`): 100,000 tiny tasks enqueued in bulk on a nats-server of
// its own, then a worker in a child process whose RSS and heap are sampled while it works; it asserts the heap stays
// under a bound and the consumer never has more than `concurrency` + one fetch batch un-acked. Not in npm test (slow).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTaskClient, hostService, task, type TaskClient } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

const { values: options } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '60' },
    /** How long the slow handler takes, in ms. */
    'handler-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '1' },
    /** The heap the worker may use at most, in MB, after a garbage collection. */
    'max-heap-mb': { type: 'string', default: '64' },
    /** Run as the worker on this NATS URL (the script starts itself so). */
    worker: { type: 'string' },
  },
});
const CONCURRENCY = Number(options.concurrency);
const HANDLER_MS = Number(options['handler-ms']);
const TASK = 'backlog.slow';
/** How many enqueues are in flight at once while filling the queue. */
const BULK = 1_000;
const MB = 1024 * 1024;

class Backlog {
  name = 'backlog';

  @task({ concurrency: CONCURRENCY, retries: { max: 0 } })
  async slow(n: number) {
    await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
    return n;
  }
}

/** The worker: hosts the service and prints its memory every second, after a collection, as JSON lines. */
async function runWorker(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const hosted = await hostService(new Backlog(), { nc, logger: silentLogger });
  const gc = (globalThis as { gc?: () => void }).gc;
  const timer = setInterval(() => {
    gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ rss, heapUsed })}\n`);
  }, 1_000);
  process.once('SIGTERM', () => {
    clearInterval(timer);
    hosted
      .stop()
      .then(() => nc.close())
      .then(() => process.exit(0));
  });
}

async function fill(tasks: TaskClient, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += BULK) {
    const batch = Array.from({ length: Math.min(BULK, count - sent) }, (_, i) => tasks.enqueue(TASK, [sent + i]));
    await Promise.all(batch);
  }
}

async function main(): Promise<void> {
  const count = Number(options.tasks);
  const seconds = Number(options.seconds);
  const maxHeap = Number(options['max-heap-mb']) * MB;
  const server = await OwnNatsServer.start();
  const nc = await connect({ servers: server.url });
  try {
    // A first worker makes the stream and consumer; it stops before the backlog is filled.
    const first = await hostService(new Backlog(), { nc, logger: silentLogger });
    await first.stop();
    const started = Date.now();
    await fill(createTaskClient(nc), count);
    console.log(`enqueued ${count} tasks in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--worker', server.url, '--concurrency', String(CONCURRENCY), '--handler-ms', String(HANDLER_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const samples: { rss: number; heapUsed: number }[] = [];
    const lines = createInterface({ input: child.stdout! });
    // The clock starts once the worker runs (its first sample): loading it takes seconds on a busy machine.
    await new Promise((resolve) => lines.once('line', resolve));
    lines.on('line', (line) => samples.push(JSON.parse(line)));
    const jsm = await jetstreamManager(nc);
    const stream = `TASKS_${TASK.replace('.', '-')}`;
    let maxPending = 0;
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      const info = await jsm.consumers.info(stream, 'worker');
      maxPending = Math.max(maxPending, info.num_ack_pending);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const left = (await jsm.streams.info(stream)).state.messages;
    const heap = samples.map((s) => s.heapUsed);
    const rss = samples.map((s) => s.rss);
    const third = Math.max(1, Math.floor(samples.length / 3));
    const figures = {
      tasks: count,
      done: count - left,
      seconds,
      samples: samples.length,
      heap_mb: { first: +(heap[0]! / MB).toFixed(1), max: +(Math.max(...heap) / MB).toFixed(1), last: +(heap.at(-1)! / MB).toFixed(1) },
      heap_max_mb_first_third: +(Math.max(...heap.slice(0, third)) / MB).toFixed(1),
      heap_max_mb_last_third: +(Math.max(...heap.slice(-third)) / MB).toFixed(1),
      rss_mb: { first: +(rss[0]! / MB).toFixed(1), max: +(Math.max(...rss) / MB).toFixed(1), last: +(rss.at(-1)! / MB).toFixed(1) },
      max_ack_pending: maxPending,
    };
    console.log(JSON.stringify(figures, null, 2));
    const problems: string[] = [];
    if (samples.length === 0) problems.push('the worker reported no memory sample');
    if (Math.max(...heap) > maxHeap) problems.push(`the worker's heap reached ${figures.heap_mb.max} MB, over ${maxHeap / MB} MB`);
    // A fetch asks for the free slots only, and a slot frees before its task is acked: concurrency + one batch at most.
    if (maxPending > 2 * CONCURRENCY) problems.push(`${maxPending} tasks were un-acked at once, over concurrency ${CONCURRENCY} + a fetch batch`);
    if (figures.done === 0) problems.push('the worker finished no task');
    if (problems.length > 0) {
      console.error(problems.join('\n'));
      process.exitCode = 1;
    } else {
      console.log("ok: the worker's memory stayed bounded");
    }
  } finally {
    await nc.close();
    await server.stop();
  }
}

if (options.worker) await runWorker(options.worker);
else await main();
