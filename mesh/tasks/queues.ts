// What an operator sees and does to task queues (`mesh tasks`): each task's depth, oldest waiting age and claims
// out, purging a queue, and retrying a dead task. Workers and enqueuers never need it.
import { MeshError } from '../wire/errors.ts';
import { countDead, deadBody, forgetDead, readDead } from './dead-letter.ts';
import { WORKER_CONSUMER } from './names.ts';
import type { TaskStore } from './store.ts';
import type { TaskCounters } from './worker.ts';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { createTaskClientOn } from './enqueue.ts';

export interface TaskQueue {
  task: string;
  /** Tasks in the stream: waiting, running, or waiting out a retry's backoff. */
  queued: number;
  /** Of those, delivered and not yet acknowledged (running, or held back for a retry). */
  claimed: number;
  /** How long the oldest task in the stream has been there, in ms (0 when empty). */
  oldest_ms: number;
  /** Its dead tasks the dead-letter stream keeps. */
  dead: number;
}

/** A task's figures in its instances' `$SRV.STATS` data: what this worker did, and the queue as it is now. */
export type TaskStats = TaskCounters & Partial<QueueFigures>;

export interface QueueFigures {
  /** Tasks in the work stream: waiting, running, or waiting out a retry's backoff. */
  queued: number;
  /** How long the oldest of them has been there, in ms (0 when empty). */
  oldest_ms: number;
  /** The task's dead tasks kept in the dead-letter stream. */
  dead_letters: number;
}

/** A task's queue now: two stream infos, both within what its worker's NATS user may ask. */
export async function queueFigures(store: TaskStore, task: string): Promise<QueueFigures> {
  const jsm = await store.jsm();
  const { state } = await jsm.streams.info(store.names.stream(task));
  const dead = await jsm.streams.info(store.names.deadStream, { subjects_filter: store.names.deadSubject(`${task}.>`) }).catch(() => undefined);
  const oldest = state.messages > 0 ? Date.parse(state.first_ts) : Date.now();
  return { queued: state.messages, oldest_ms: Math.max(0, Date.now() - oldest), dead_letters: Object.keys(dead?.state.subjects ?? {}).length };
}

/** Every task queue of the store's namespace, by name. */
export async function listQueues(store: TaskStore): Promise<TaskQueue[]> {
  const jsm = await store.jsm();
  const queues: TaskQueue[] = [];
  const dead = await countDead(store);
  const prefix = store.names.stream('x.x').slice(0, -'x-x'.length);
  for await (const info of jsm.streams.list()) {
    if (!info.config.name.startsWith(prefix) || info.config.name === store.names.deadStream) continue;
    const task = info.config.name.slice(prefix.length).replace('-', '.');
    const consumer = await jsm.consumers.info(info.config.name, WORKER_CONSUMER).catch(() => undefined);
    const first = info.state.messages > 0 ? Date.parse(info.state.first_ts) : Date.now();
    queues.push({ task, queued: info.state.messages, claimed: consumer?.num_ack_pending ?? 0, oldest_ms: Math.max(0, Date.now() - first), dead: dead.get(task) ?? 0 });
  }
  return queues.sort((a, b) => a.task.localeCompare(b.task));
}

/** Drops every task waiting in a task's queue; resolves with how many were dropped. */
export async function purgeQueue(store: TaskStore, task: string): Promise<number> {
  const jsm = await store.jsm();
  const purged = await jsm.streams.purge(store.names.stream(task)).catch((err: unknown) => {
    throw new MeshError('NOT_FOUND', `no task queue for '${task}': ${(err as Error).message}`);
  });
  return purged.purged;
}

/** Enqueues a dead task again with its arguments as they were, and takes it out of the dead-letter stream; resolves with the new id. */
export async function retryDead(store: TaskStore, id: string): Promise<string> {
  const dead = await readDead(store, id);
  const headers = natsHeaders();
  if (dead.encoding === 'msgpack') headers.set('Content-Type', 'application/msgpack');
  const handle = await createTaskClientOn(store).enqueueEncoded(dead.task, deadBody(dead), headers);
  await forgetDead(store, id);
  return handle.id;
}
