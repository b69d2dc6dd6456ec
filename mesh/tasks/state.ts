// What a task's status is: the worker's last word in the state bucket when it has said one, else "queued" when its
// message is still in the work stream (a direct get by sequence). Reading only; the worker writes (worker.ts).
import type { KvEntry } from '@nats-io/kv';
import type { Envelope } from '../wire/envelope.ts';
import { jsonText } from '../wire/codec.ts';
import { MeshError, type ErrorObject } from '../wire/errors.ts';
import { parseTaskId } from './names.ts';
import type { TaskStore } from './store.ts';

/**
 * queued: waiting for a worker (or running for less than a moment: a short task is never marked running);
 * running: an attempt has run for a while or reported progress; failed: the last attempt failed, a retry is
 * scheduled; succeeded: done, with its result; dead: out of retries or unrunnable, kept in the dead-letter stream.
 */
export type TaskState = 'queued' | 'running' | 'failed' | 'succeeded' | 'dead';

/** One failed attempt, as the dead-letter record and the status keep it. */
export interface AttemptError {
  attempt: number;
  error: ErrorObject;
  at: string;
}

/** What `status()` and `GET /tasks/<id>` answer; times are ISO 8601, absent until they happened. */
export interface TaskStatus {
  id: string;
  task: string;
  state: TaskState;
  /** Attempts started so far (a worker killed mid-task counts: its claim lapsed and the task went back). */
  attempts: number;
  /** The handler's reply [args, kwargs], once succeeded. */
  result: Envelope | null;
  /** The last attempt's error, once one failed. */
  error: ErrorObject | null;
  /** Every failed attempt's error, oldest first. */
  errors: AttemptError[];
  /** The last value the handler passed to `this.progress()`. */
  progress: unknown;
  enqueued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** What `GET /tasks/<id>` and WAMP's `mesh.tasks.get` answer: the status without every attempt's error. */
export type TaskStatusView = Omit<TaskStatus, 'errors'>;

export function statusView(status: TaskStatus): TaskStatusView {
  const { id, task, state, attempts, result, error, progress, enqueued_at, started_at, finished_at } = status;
  return { id, task, state, attempts, result, error, progress, enqueued_at, started_at, finished_at };
}

/** The states after which nothing more happens to a task. */
export function isFinal(state: TaskState): boolean {
  return state === 'succeeded' || state === 'dead';
}

export function emptyStatus(id: string, task: string): TaskStatus {
  return { id, task, state: 'queued', attempts: 0, result: null, error: null, errors: [], progress: null, enqueued_at: null, started_at: null, finished_at: null };
}

/**
 * The state bucket record of an attempt that succeeded: the status with `finished_at` and the result, given as the
 * JSON text it was already written to (`jsonText`), so that the event of the end can reuse it.
 */
export function succeededRecord(status: TaskStatus, finishedAt: string, resultText: string): Uint8Array {
  const { result: _result, ...rest } = status;
  const text = jsonText({ ...rest, state: 'succeeded', finished_at: finishedAt });
  return Buffer.from(`${text.slice(0, -1)},"result":${resultText}}`, 'utf8');
}

/** A state bucket entry as a status; a deleted or unreadable entry is no status. */
export function statusOfEntry(entry: KvEntry | null): TaskStatus | undefined {
  if (!entry || entry.operation !== 'PUT') return undefined;
  try {
    return entry.json<TaskStatus>();
  } catch {
    return undefined;
  }
}

/** What the worker last wrote for a task (a direct get by its entry's subject); undefined when nothing, or deleted. */
async function writtenStatus(store: TaskStore, id: string): Promise<TaskStatus | undefined> {
  const jsm = await store.jsm();
  const msg = await jsm.direct.getMessage(store.names.stateStream, { last_by_subj: store.names.stateSubject(id) }).catch(() => null);
  if (!msg || /^(DEL|PURGE)$/.test(msg.header.get('KV-Operation'))) return undefined;
  try {
    return msg.json<TaskStatus>();
  } catch {
    return undefined;
  }
}

/**
 * The status of a task by id: NOT_FOUND when neither the state bucket nor the work stream knows it. Direct gets
 * only (of the task's own entry and its stream), so a NATS user granted one task's subjects may read its status.
 */
export async function readStatus(store: TaskStore, id: string): Promise<TaskStatus> {
  const { task, seq } = parseTaskId(id);
  const written = await writtenStatus(store, id);
  if (written) return written;
  const jsm = await store.jsm();
  const queued = await jsm.direct.getMessage(store.names.stream(task), { seq }).catch(() => null);
  if (queued) return { ...emptyStatus(id, task), enqueued_at: queued.time.toISOString() };
  // Between the two reads a short task may have finished (its message acked, its state written): read again.
  const finished = await writtenStatus(store, id);
  if (finished) return finished;
  throw new MeshError('NOT_FOUND', `no task with id ${id} (unknown, finished longer ago than the state is kept, or finished with its result ignored)`);
}

/**
 * Resolves with the task's final status (succeeded or dead), watching its state entry instead of polling;
 * DEADLINE_EXCEEDED after `timeoutMs`.
 */
export async function waitForEnd(store: TaskStore, id: string, timeoutMs: number): Promise<TaskStatus> {
  parseTaskId(id);
  // Subscribed before the first read, so an end written between the read and the watch is not missed.
  const sub = store.nc.subscribe(store.names.stateSubject(id));
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
  try {
    const now = await readStatus(store, id);
    if (isFinal(now.state)) return now;
    for await (const msg of sub) {
      let status: TaskStatus | undefined;
      try {
        status = msg.json<TaskStatus>();
      } catch {
        continue;
      }
      if (isFinal(status.state)) return status;
    }
    throw new MeshError('DEADLINE_EXCEEDED', `task ${id} did not end within ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}
