// Where a task lives on JetStream: its work stream, subject and consumer, the state bucket, the dead-letter stream,
// and the task id (`<service>.<method>.<stream sequence>`). Names only: nothing here talks to a server.
import { MeshError } from '../wire/errors.ts';
import { nameProblem, quoteName } from '../wire/names.ts';
import type { Namespace } from '../wire/namespace.ts';

/** The durable pull consumer every instance of a task's service shares. */
export const WORKER_CONSUMER = 'worker';

/** Where task lifecycle events go: `mesh.tasks.<service>.<method>.<seq>`, a topic any subscriber (a WAMP page) may follow. */
export const TASK_EVENTS_PREFIX = 'mesh.tasks';

/** When a delayed task may start, in ms since the epoch (decimal text). */
export const NOT_BEFORE_HEADER = 'Mesh-Task-Not-Before';
/** JetStream's deduplication header: an enqueue with a key sends it, so the same key within the window is stored once. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** The last token of a dead task's retry marker subject. */
export const RETRIED_TOKEN = 'retried';

/** `<service>.<method>`: a service name (letters, digits, `_`, `-`) and a method name (no `-`, so the stream name splits back). */
const TASK_NAME = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+$/;
const TASK_ID = /^([A-Za-z0-9_-]+\.[A-Za-z0-9_]+)\.([1-9][0-9]{0,15})$/;

/** The names of a namespace's task streams, subjects and bucket. */
export interface TaskNames {
  /** The work-queue stream of one task (a stream per task: purge, depth and "no such task" come free). */
  stream(task: string): string;
  /** The subject a task is enqueued on: `[ns.]tasks.<service>.<method>`. */
  subject(task: string): string;
  /** The key-value bucket where workers write what happened to each task (running, failed, succeeded, dead). */
  readonly bucket: string;
  /** The stream behind the bucket (`KV_<bucket>`), and the subject of one task's entry in it (`$KV.<bucket>.<id>`). */
  readonly stateStream: string;
  stateSubject(id: string): string;
  /** The dead-letter stream, and the subject a dead task is kept under there. */
  readonly deadStream: string;
  deadSubject(id: string): string;
  /** Where a retry of a dead task is written down, beside its record (`tasks-dead.<id>.retried`): the record stays, and is no longer dead. */
  retriedSubject(id: string): string;
  /** Every subject of the dead-letter stream, for its configuration and for listing it. */
  readonly deadSubjects: string;
  /** The core NATS subject of one task's lifecycle events: `[ns.]mesh.tasks.<id>` (a WAMP topic as it stands). */
  eventSubject(id: string): string;
}

/** Throws INVALID_ARGUMENT unless `task` is `<service>.<method>`. */
export function checkTaskName(task: string): void {
  const problem = typeof task === 'string' ? nameProblem(task) : 'is not a string';
  if (problem) throw new MeshError('INVALID_ARGUMENT', `task ${quoteName(String(task))} ${problem}`);
  if (!TASK_NAME.test(task)) throw new MeshError('INVALID_ARGUMENT', `task ${quoteName(task)} must be <service>.<method>`);
}

export function taskNames(namespace: Namespace): TaskNames {
  const prefix = namespace.name === undefined ? '' : `${namespace.name}_`;
  return {
    stream: (task) => `${prefix}TASKS_${task.replace('.', '-')}`,
    subject: (task) => namespace.subject(`tasks.${task}`),
    bucket: `${prefix}TASKS_STATE`,
    stateStream: `KV_${prefix}TASKS_STATE`,
    stateSubject: (id) => `$KV.${prefix}TASKS_STATE.${id}`,
    deadStream: `${prefix}TASKS_DEAD`,
    deadSubject: (id) => namespace.subject(`tasks-dead.${id}`),
    retriedSubject: (id) => namespace.subject(`tasks-dead.${id}.${RETRIED_TOKEN}`),
    deadSubjects: namespace.subject('tasks-dead.>'),
    eventSubject: (id) => namespace.subject(`${TASK_EVENTS_PREFIX}.${id}`),
  };
}

/** A task's id: the task and the sequence JetStream gave its message (a duplicate enqueue gets the original's). */
export function taskId(task: string, seq: number): string {
  return `${task}.${seq}`;
}

/** The task and stream sequence an id stands for; NOT_FOUND for anything that is not an id. */
export function parseTaskId(id: string): { task: string; seq: number } {
  const match = typeof id === 'string' ? TASK_ID.exec(id) : null;
  if (!match) throw new MeshError('NOT_FOUND', `no task with id ${quoteName(String(id))}`);
  return { task: match[1]!, seq: Number(match[2]) };
}

/** On a request to a task's endpoint (`<service>.<method>`): answer with the task's id at once instead of its result. */
export const RESPOND_ASYNC_HEADER = 'Mesh-Respond-Async';
/** On a request to a task's endpoint: the enqueue's idempotency key (HTTP's Idempotency-Key). */
export const TASK_KEY_HEADER = 'Mesh-Task-Key';
/** On a request to a task's endpoint: start no sooner than this many ms from now. */
export const TASK_DELAY_HEADER = 'Mesh-Task-Delay';
/** On a request to a task's endpoint: answer with the status of this task (an id of that task) instead of enqueuing. */
export const TASK_STATUS_HEADER = 'Mesh-Task-Status';
/**
 * On a request to a task's endpoint: answer with the task's queue and its dead tasks (`{queue, dead}`) instead of
 * enqueuing (how a gateway shows queues without JetStream rights).
 */
export const TASK_QUEUE_HEADER = 'Mesh-Task-Queue';
/** On a request to a task's endpoint: enqueue this dead task (an id of that task) again, and answer `{id}` of the new one. */
export const TASK_RETRY_HEADER = 'Mesh-Task-Retry';
/**
 * The body of a request that asks a task's endpoint for its queue or a retry: JSON `null`, no [args, kwargs], so an
 * endpoint that does not know those headers (an older one) refuses it with INVALID_ARGUMENT instead of enqueuing a task.
 */
export const NOT_A_CALL: Uint8Array = new TextEncoder().encode('null');
/** The name whose `call` a policy grants for retrying dead tasks (besides `call` on the task), over WAMP and HTTP alike. */
export const RETRY_PERMISSION = 'mesh.tasks.retry';
/** On the reply of a task's endpoint: the id of the task it enqueued. */
export const TASK_ID_HEADER = 'Mesh-Task-Id';
