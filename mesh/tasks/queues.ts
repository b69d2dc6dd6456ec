// What an operator sees and does to task queues (`mesh tasks`, and a task's endpoint for the gateways): each task's
// depth, oldest waiting age and claims out, its dead tasks, purging a queue, and retrying a dead task. Workers and enqueuers never need it.
import type { StreamInfo } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { MeshError } from '../wire/errors.ts';
import { countDead, deadBody, deadSummary, deadOf, markRetried, readDead, type DeadSummary } from './dead-letter.ts';
import { createTaskClientOn } from './enqueue.ts';
import { MSG_ID_HEADER, WORKER_CONSUMER } from './names.ts';
import type { TaskStore } from './store.ts';
import type { TaskCounters } from './worker.ts';

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
  /** Of those, delivered and not yet acknowledged. */
  claimed: number;
  /** How long the oldest of them has been there, in ms (0 when empty). */
  oldest_ms: number;
  /** The task's dead tasks kept in the dead-letter stream. */
  dead_letters: number;
}

/** A task's queue now: two stream infos and a consumer info, all within what its worker's NATS user may ask. */
export async function queueFigures(store: TaskStore, task: string): Promise<QueueFigures> {
  const jsm = await store.jsm();
  const info = await jsm.streams.info(store.names.stream(task));
  const dead = await countDead(store, store.names.deadSubject(`${task}.>`));
  const { queued, claimed, oldest_ms } = await queueOf(store, task, info, 0);
  return { queued, claimed, oldest_ms, dead_letters: dead.get(task) ?? 0 };
}

/** A task's row in the queue views, from its work stream's info and its consumer's. */
async function queueOf(store: TaskStore, task: string, info: StreamInfo, dead: number): Promise<TaskQueue> {
  const jsm = await store.jsm();
  const consumer = await jsm.consumers.info(info.config.name, WORKER_CONSUMER).catch(() => undefined);
  const first = info.state.messages > 0 ? Date.parse(info.state.first_ts) : Date.now();
  return { task, queued: info.state.messages, claimed: consumer?.num_ack_pending ?? 0, oldest_ms: Math.max(0, Date.now() - first), dead };
}

/** One task's queue and its dead tasks (at most `deadLimit`, oldest first), as a task's endpoint answers `Mesh-Task-Queue`. */
export interface TaskQueueView {
  queue: TaskQueue;
  dead: DeadSummary[];
}

/** One task's queue and dead tasks: reads its own NATS user may make (its stream, its consumer, its dead-letter subjects). */
export async function taskQueueView(store: TaskStore, task: string, deadLimit: number): Promise<TaskQueueView> {
  const jsm = await store.jsm();
  const info = await jsm.streams.info(store.names.stream(task));
  const dead = await deadOf(store, task, deadLimit);
  return { queue: await queueOf(store, task, info, dead.count), dead: dead.records.map(deadSummary) };
}

/** Every task queue of the store's namespace, by name (lists the streams: an operator's right, no service's). */
export async function listQueues(store: TaskStore): Promise<TaskQueue[]> {
  const jsm = await store.jsm();
  const queues: TaskQueue[] = [];
  const dead = await countDead(store);
  const prefix = store.names.stream('x.x').slice(0, -'x-x'.length);
  for await (const info of jsm.streams.list()) {
    if (!info.config.name.startsWith(prefix) || info.config.name === store.names.deadStream) continue;
    const task = info.config.name.slice(prefix.length).replace('-', '.');
    queues.push(await queueOf(store, task, info, dead.get(task) ?? 0));
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

/**
 * Enqueues a dead task again with its arguments as they were, and marks it retried beside its record; resolves with
 * the new id. Two retries of the same task at once enqueue it once (JetStream's dedupe on `retry-of-<id>`).
 */
export async function retryDead(store: TaskStore, id: string): Promise<string> {
  const dead = await readDead(store, id);
  const headers = natsHeaders();
  if (dead.encoding === 'msgpack') headers.set('Content-Type', 'application/msgpack');
  headers.set(MSG_ID_HEADER, `retry-of-${id}`);
  const handle = await createTaskClientOn(store).enqueueEncoded(dead.task, deadBody(dead), headers);
  await markRetried(store, id, handle.id);
  return handle.id;
}
