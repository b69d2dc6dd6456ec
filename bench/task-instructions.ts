// Instructions per task in a task worker's process, counted by callgrind (bench/callgrind.ts), so the figure does not
// move with the machine's load: the mesh's worker of a tiny task against raw nats.js workers on the same stream.
// `node --import tsx bench/task-instructions.ts [kind,...]`; kinds: mesh (a @task, its result kept), ignored (a
// @task with ignoreResult), raw (fetch 100 and ack: bench/tasks.ts's floor), lean (raw, each result published to the
// state bucket's subject with one inbox for the PubAcks, the ack on its PubAck). Each kind's worker first drains WARMUP
// tasks, then TASKS more are queued while it is stopped, and its count runs from its start to the queue's end.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { createLogger, createTaskClient, hostService, task } from '../mesh/gateway.ts';
import { counted, launch, perCall } from './callgrind.ts';
import { freePort } from './free-port.ts';

const WARMUP = Number(process.env.WARMUP ?? 5_000);
const TASKS = Number(process.env.TASKS ?? 10_000);
const KINDS = ['mesh', 'ignored', 'raw', 'lean'] as const;
type Kind = (typeof KINDS)[number];

class Bench {
  name = 'bench';
  @task({ concurrency: 100 })
  async kept(n: number) {
    return n;
  }

  @task({ concurrency: 100, ignoreResult: true })
  async ignored(n: number) {
    return n;
  }
}

/** The task a kind's worker drains: the raw workers pull from the kept task's stream and consumer. */
const taskOf = (kind: Kind) => (kind === 'ignored' ? 'ignored' : 'kept');

/** A raw worker on the kept task's queue, until stopped: fetch 100, then ack each (raw) or write its result first (lean). */
async function rawWorker(nc: NatsConnection, lean: boolean): Promise<() => Promise<void>> {
  const js = jetstream(nc);
  const inbox = `${createInbox()}.`;
  const waiting = new Map<string, JsMsg>();
  const acks = nc.subscribe(`${inbox}*`, {
    callback: (_err, reply) => {
      const token = reply.subject.slice(inbox.length);
      reply.json();
      waiting.get(token)?.ack();
      waiting.delete(token);
    },
  });
  const consumer = await js.consumers.get('TASKS_bench-kept', 'worker');
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      for await (const m of await consumer.fetch({ max_messages: 100, expires: 1_000 })) {
        const [[n]] = m.json<[[number], object]>();
        if (!lean) {
          m.ack();
          continue;
        }
        waiting.set(String(m.seq), m);
        nc.publish(`$KV.TASKS_STATE.bench.kept.${m.seq}`, Buffer.from(JSON.stringify([[n], {}])), { reply: inbox + m.seq });
      }
    }
  })();
  return async () => {
    stopping = true;
    await loop;
    acks.unsubscribe();
  };
}

/** Starts a kind's worker in this process; resolves with how to stop it. */
async function startWorker(nc: NatsConnection, kind: Kind): Promise<() => Promise<void>> {
  if (kind === 'raw' || kind === 'lean') return rawWorker(nc, kind === 'lean');
  const hosted = await hostService(new Bench(), { nc, logger: createLogger({ level: 'silent', format: 'json' }, 'bench'), taskGraceMs: 0 });
  return () => hosted.stop();
}

if (process.argv[2] === 'work') {
  // The worker measured, in a process of its own under callgrind, told by its parent when to start, count and stop.
  const [, , , kind, server] = process.argv as [string, string, string, Kind, string];
  const nc = await connect({ servers: server });
  const next = async () => ((await once(process, 'message')) as [string])[0];
  let stop = await startWorker(nc, kind);
  process.send!('ready');
  await next(); // warmed
  await stop();
  process.send!('stopped');
  await next(); // queued
  await counted(process.pid, async () => {
    stop = await startWorker(nc, kind);
    process.send!('started');
    await next(); // drained
    await stop();
  });
  process.send!('counted');
} else {
  const port = await freePort();
  const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', mkdtempSync(join(tmpdir(), 'task-instructions-'))], { stdio: 'ignore' });
  await sleep(500);
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  // A mesh host makes the streams and the consumers, then stops: each kind starts on empty queues.
  await (
    await startWorker(nc, 'mesh')
  )();
  const jsm = await jetstreamManager(nc);
  const tasks = createTaskClient(nc);
  const fill = async (name: string, n: number) => {
    for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => tasks.enqueue(`bench.${name}`, [i + j])));
  };
  const drained = async (name: string) => {
    while ((await jsm.streams.info(`TASKS_bench-${name}`)).state.messages > 0) await sleep(20);
  };
  process.stdout.write(`instructions per task in the worker's process, ${TASKS} tasks after ${WARMUP} (callgrind)\n`);
  try {
    for (const kind of (process.argv[2] ?? KINDS.join(',')).split(',') as Kind[]) {
      if (!KINDS.includes(kind)) throw new Error(`${kind}: the kinds are ${KINDS.join(', ')}`);
      const dir = mkdtempSync(join(tmpdir(), 'task-instructions-'));
      const worker = fork(fileURLToPath(import.meta.url), ['work', kind, `127.0.0.1:${port}`], launch(dir));
      const told = async (what: string) => {
        const [said] = (await once(worker, 'message')) as [string];
        if (said !== what) throw new Error(`the ${kind} worker said ${said}, not ${what}`);
      };
      try {
        await told('ready');
        await fill(taskOf(kind), WARMUP);
        await drained(taskOf(kind));
        worker.send('warmed');
        await told('stopped');
        await fill(taskOf(kind), TASKS);
        worker.send('queued');
        await told('started');
        await drained(taskOf(kind));
        worker.send('drained');
        await told('counted');
        process.stdout.write(`${kind.padEnd(10)} ${Math.round(perCall(dir, TASKS))}\n`);
      } finally {
        worker.kill('SIGKILL');
      }
    }
  } finally {
    await nc.close();
    server.kill('SIGKILL');
  }
  process.exit(0);
}
