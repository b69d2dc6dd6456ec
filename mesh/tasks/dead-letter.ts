// The dead-letter stream: a task out of retries, or one that cannot run (arguments its worker's schema refuses),
// is kept there with its arguments and every attempt's error, to inspect, retry or drop. Nothing here runs a task.
import type { MsgHdrs } from '@nats-io/transport-node';
import { jsonCodec } from '../wire/codec.ts';
import { MeshError } from '../wire/errors.ts';
import type { AttemptError } from './state.ts';
import type { TaskStore } from './store.ts';
import { parseTaskId } from './names.ts';

/** A dead task as the dead-letter stream keeps it (JSON). */
export interface DeadTask {
  id: string;
  task: string;
  /** Why it died: "out of retries" or what made it unrunnable. */
  reason: string;
  attempts: number;
  errors: AttemptError[];
  /** The task's message as enqueued: its body (text for JSON, base64 for MessagePack) and Content-Type. */
  body: string;
  encoding: 'json' | 'msgpack';
  enqueued_at: string;
  died_at: string;
}

/** Stores a dead task; resolves once the dead-letter stream has it. */
export async function bury(store: TaskStore, dead: DeadTask): Promise<void> {
  await store.writer.written(store.names.deadSubject(dead.id), jsonCodec.encode(dead));
}

/** The body bytes of a dead task, to enqueue it again. */
export function deadBody(dead: DeadTask): Uint8Array {
  return dead.encoding === 'msgpack' ? Buffer.from(dead.body, 'base64') : Buffer.from(dead.body, 'utf8');
}

/** The body of a task message, in the form a dead-letter record keeps it. */
export function keptBody(data: Uint8Array, headers: MsgHdrs | undefined): Pick<DeadTask, 'body' | 'encoding'> {
  const msgpack = /msgpack/i.test(headers?.get('Content-Type') ?? '');
  return msgpack ? { body: Buffer.from(data).toString('base64'), encoding: 'msgpack' } : { body: Buffer.from(data).toString('utf8'), encoding: 'json' };
}

/** One dead task by id; NOT_FOUND when the dead-letter stream does not have it. */
export async function readDead(store: TaskStore, id: string): Promise<DeadTask> {
  parseTaskId(id);
  const jsm = await store.jsm();
  const msg = await jsm.direct.getMessage(store.names.deadStream, { last_by_subj: store.names.deadSubject(id) }).catch(() => null);
  if (!msg) throw new MeshError('NOT_FOUND', `no dead task with id ${id}`);
  return msg.json<DeadTask>();
}

/** Every dead task kept, oldest first (at most `limit`). */
export async function listDead(store: TaskStore, limit = 1000): Promise<DeadTask[]> {
  const jsm = await store.jsm();
  const info = await jsm.streams.info(store.names.deadStream).catch(() => undefined);
  if (!info) return [];
  const dead: DeadTask[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && dead.length < limit; seq++) {
    const msg = await jsm.direct.getMessage(store.names.deadStream, { seq }).catch(() => null);
    if (msg) dead.push(msg.json<DeadTask>());
  }
  return dead;
}

/** Drops a dead task from the dead-letter stream (after a retry, say). */
export async function forgetDead(store: TaskStore, id: string): Promise<void> {
  const jsm = await store.jsm();
  await jsm.streams.purge(store.names.deadStream, { filter: store.names.deadSubject(id) });
}

/** How many dead tasks the dead-letter stream keeps of each task, by task name (one stream info request). */
export async function countDead(store: TaskStore): Promise<Map<string, number>> {
  const jsm = await store.jsm();
  const info = await jsm.streams.info(store.names.deadStream, { subjects_filter: store.names.deadSubjects }).catch(() => undefined);
  const prefix = store.names.deadSubject('');
  const counts = new Map<string, number>();
  for (const [subject, count] of Object.entries(info?.state.subjects ?? {})) {
    const task = subject.slice(prefix.length).replace(/\.[0-9]+$/, '');
    counts.set(task, (counts.get(task) ?? 0) + count);
  }
  return counts;
}
