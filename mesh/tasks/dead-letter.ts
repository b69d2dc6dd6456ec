// The dead-letter stream: a task out of retries, or one that cannot run (arguments its worker's schema refuses),
// is kept there with its arguments and every attempt's error, to inspect and retry (a retry is marked beside it). Nothing here runs a task.
import type { MsgHdrs } from '@nats-io/transport-node';
import { jsonCodec } from '../wire/codec.ts';
import { MeshError, type ErrorObject } from '../wire/errors.ts';
import type { AttemptError } from './state.ts';
import type { TaskStore } from './store.ts';
import { parseTaskId, RETRIED_TOKEN } from './names.ts';

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

/** A dead task as the queue views list it: why it died and its last error, not its arguments. */
export interface DeadSummary {
  id: string;
  task: string;
  reason: string;
  attempts: number;
  error: ErrorObject | null;
  died_at: string;
}

export function deadSummary(dead: DeadTask): DeadSummary {
  return { id: dead.id, task: dead.task, reason: dead.reason, attempts: dead.attempts, error: dead.errors.at(-1)?.error ?? null, died_at: dead.died_at };
}

/** What a retry writes down beside a dead task's record: the id it was enqueued again as. */
interface RetriedMark {
  id: string;
  at: string;
}

/** Reads one message of the dead-letter stream by its subject (a direct get that names the subject, so rights can be per task). */
async function lastOn(store: TaskStore, subject: string) {
  const jsm = await store.jsm();
  return jsm.direct.getMessage(store.names.deadStream, { last_by_subj: subject }).catch(() => null);
}

/** One dead task by id; NOT_FOUND when the dead-letter stream does not have it, or it was retried. */
export async function readDead(store: TaskStore, id: string): Promise<DeadTask> {
  parseTaskId(id);
  const msg = await lastOn(store, store.names.deadSubject(id));
  if (!msg) throw new MeshError('NOT_FOUND', `no dead task with id ${id}`);
  const retried = await lastOn(store, store.names.retriedSubject(id));
  if (retried) throw new MeshError('NOT_FOUND', `task ${id} is no longer dead: it was retried as ${retried.json<RetriedMark>().id}`);
  return msg.json<DeadTask>();
}

/**
 * The dead tasks of the dead-letter stream's subjects matching `filter`, by task, each task's oldest first: a record
 * without a retry mark beside it. One stream info request, whose subject filter a task's own NATS user may ask.
 */
async function deadIds(store: TaskStore, filter: string): Promise<Map<string, string[]>> {
  const jsm = await store.jsm();
  const info = await jsm.streams.info(store.names.deadStream, { subjects_filter: filter }).catch(() => undefined);
  const prefix = store.names.deadSubject('');
  const retried = new Set<string>();
  const records: { task: string; seq: number; id: string }[] = [];
  for (const subject of Object.keys(info?.state.subjects ?? {})) {
    const rest = subject.slice(prefix.length);
    if (rest.endsWith(`.${RETRIED_TOKEN}`)) {
      retried.add(rest.slice(0, -RETRIED_TOKEN.length - 1));
      continue;
    }
    try {
      records.push({ ...parseTaskId(rest), id: rest });
    } catch {
      // not a task's record: nothing a worker writes
    }
  }
  const byTask = new Map<string, string[]>();
  for (const { task, id } of records.filter((r) => !retried.has(r.id)).sort((a, b) => a.seq - b.seq)) {
    byTask.set(task, [...(byTask.get(task) ?? []), id]);
  }
  return byTask;
}

/** Reads the records of dead task ids, dropping any that went meanwhile. */
async function readRecords(store: TaskStore, ids: readonly string[]): Promise<DeadTask[]> {
  const read = await Promise.all(ids.map((id) => lastOn(store, store.names.deadSubject(id))));
  return read.filter((msg) => msg !== null).map((msg) => msg.json<DeadTask>());
}

/** Every dead task kept (retried ones left out), oldest death first (at most `limit`). */
export async function listDead(store: TaskStore, limit = 1000): Promise<DeadTask[]> {
  const ids = [...(await deadIds(store, store.names.deadSubjects)).values()].flat().slice(0, limit);
  return (await readRecords(store, ids)).sort((a, b) => a.died_at.localeCompare(b.died_at));
}

/** One task's dead tasks: how many, and the oldest enqueued `limit` of them; what a task's own NATS user may read. */
export async function deadOf(store: TaskStore, task: string, limit: number): Promise<{ count: number; records: DeadTask[] }> {
  const ids = (await deadIds(store, store.names.deadSubject(`${task}.>`))).get(task) ?? [];
  return { count: ids.length, records: await readRecords(store, ids.slice(0, limit)) };
}

/**
 * Writes down that a dead task was enqueued again as `newId`: its record stays (the history), and it is no longer
 * listed, counted or retried. A publish on the task's own dead-letter subjects, so no purge or delete right is needed.
 */
export async function markRetried(store: TaskStore, id: string, newId: string): Promise<void> {
  const mark: RetriedMark = { id: newId, at: new Date().toISOString() };
  await store.writer.written(store.names.retriedSubject(id), jsonCodec.encode(mark));
}

/** How many dead tasks the dead-letter stream keeps of each task, by task name (one stream info request). */
export async function countDead(store: TaskStore, filter = store.names.deadSubjects): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const [task, ids] of await deadIds(store, filter)) counts.set(task, ids.length);
  return counts;
}
