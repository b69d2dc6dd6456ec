// The router's task procedures: `mesh.tasks.enqueue`, `.get` and `.retry` read into calls of the task's endpoint that
// the dealer makes, `.queues` into a question to every task's endpoint; the gateway reads no JetStream. Each under the policy's rules for the task.
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  checkEnqueueOptions,
  headersWith,
  isKwargs,
  MeshError,
  parseTaskId,
  quoteName,
  RESPOND_ASYNC_HEADER,
  RETRY_PERMISSION,
  statusView,
  taskOverview,
  TASK_DELAY_HEADER,
  TASK_KEY_HEADER,
  TASK_RETRY_HEADER,
  TASK_STATUS_HEADER,
  type Args,
  type Caller,
  type Envelope,
  type IdentityForwarder,
  type Kwargs,
  type ProcedureRegistry,
  type TaskOverview,
  type TaskStatus,
  type Identity,
} from '../mesh/gateway.ts';
import type { Guard } from './guard.ts';

export const ENQUEUE_PROCEDURE = 'mesh.tasks.enqueue';
export const GET_PROCEDURE = 'mesh.tasks.get';
export const QUEUES_PROCEDURE = 'mesh.tasks.queues';
export const RETRY_PROCEDURE = RETRY_PERMISSION;

const NAMES: ReadonlySet<string> = new Set([ENQUEUE_PROCEDURE, GET_PROCEDURE, QUEUES_PROCEDURE, RETRY_PROCEDURE]);

/** `mesh.tasks.enqueue`'s arguments: the task, its [args, kwargs], and the enqueue's options. */
export interface EnqueueRequest {
  task: string;
  args: Args;
  kwargs: Kwargs;
  key?: string;
  delay?: number;
}

const invalid = (message: string) => new MeshError('INVALID_ARGUMENT', message);

/** Reads `[task, args?, kwargs?]` and `{key?, delay?}`; INVALID_ARGUMENT for anything else. */
export function parseEnqueue(args: Args, kwargs: Kwargs): EnqueueRequest {
  const [task, taskArgs = [], taskKwargs = {}] = args;
  if (args.length === 0 || args.length > 3) throw invalid(`${ENQUEUE_PROCEDURE} takes [task, args, kwargs], not ${args.length} arguments`);
  if (typeof task !== 'string') throw invalid(`${ENQUEUE_PROCEDURE}: the task must be a string, like 'mailer.send_email'`);
  if (!Array.isArray(taskArgs)) throw invalid(`${ENQUEUE_PROCEDURE}: the task's args must be a list`);
  if (!isKwargs(taskKwargs)) throw invalid(`${ENQUEUE_PROCEDURE}: the task's kwargs must be a dict`);
  const unknown = Object.keys(kwargs).filter((name) => name !== 'key' && name !== 'delay');
  if (unknown.length > 0) throw invalid(`${ENQUEUE_PROCEDURE} takes the options key and delay, not ${unknown.map((n) => quoteName(n)).join(', ')}`);
  const { key, delay } = kwargs;
  if (key !== undefined && typeof key !== 'string') throw invalid('key must be a string');
  if (delay !== undefined && typeof delay !== 'number') throw invalid('delay must be a number of ms');
  checkEnqueueOptions({ key, delay });
  return { task, args: taskArgs, kwargs: taskKwargs, key, delay };
}

/** A call of a task's endpoint that a task procedure stands for: an enqueue, a status read or a retry, by id. */
export type TaskCall = { kind: 'enqueue'; task: string; request: EnqueueRequest } | { kind: 'status' | 'retry'; task: string; id: string };

/** Reads a task procedure's arguments into the call of the task's endpoint it stands for; INVALID_ARGUMENT or NOT_FOUND. */
export function parseTaskCall(procedure: string, args: Args, kwargs: Kwargs): TaskCall {
  if (procedure === ENQUEUE_PROCEDURE) {
    const request = parseEnqueue(args, kwargs);
    return { kind: 'enqueue', task: request.task, request };
  }
  const id = idArgument(procedure, args);
  return { kind: procedure === RETRY_PROCEDURE ? 'retry' : 'status', task: parseTaskId(id).task, id };
}

/** The request headers of a task call: the call's own, and what the task's endpoint reads (respond at once, key, delay; the status asked for; the task to retry). */
export function taskCallHeaders(base: MsgHdrs | undefined, call: TaskCall): MsgHdrs {
  if (call.kind !== 'enqueue') return headersWith(base, { [call.kind === 'status' ? TASK_STATUS_HEADER : TASK_RETRY_HEADER]: call.id });
  const { key, delay } = call.request;
  return headersWith(base, { [RESPOND_ASYNC_HEADER]: '1', [TASK_KEY_HEADER]: key, [TASK_DELAY_HEADER]: delay ? String(Math.round(delay)) : undefined });
}

/** The endpoint's reply as the caller gets it: a status as `GET /tasks/<id>` shows it, an enqueue's or retry's `[{id}]` as it came. */
export function taskCallResult(call: TaskCall, envelope: Envelope): Envelope {
  if (call.kind !== 'status') return envelope;
  return [[statusView(envelope[0][0] as TaskStatus)], {}];
}

/** Whether the procedure stands for a call of a task's endpoint (enqueue, get, retry), not an answer of the router's own. */
export function isTaskCall(procedure: string): boolean {
  return procedure === ENQUEUE_PROCEDURE || procedure === GET_PROCEDURE || procedure === RETRY_PROCEDURE;
}

/** The task an id names; INVALID_ARGUMENT unless the procedure got exactly one string. */
function idArgument(procedure: string, args: Args): string {
  if (args.length !== 1 || typeof args[0] !== 'string') throw invalid(`${procedure} takes one argument, a task id like 'mailer.send_email.42'`);
  return args[0];
}

export interface TaskProceduresOptions {
  guard: Guard;
  registry: ProcedureRegistry;
  caller: Caller;
  forwarder: IdentityForwarder | undefined;
  /** How long the task endpoints have to answer `mesh.tasks.queues`. */
  timeoutMs: number;
}

export class TaskProcedures {
  constructor(private readonly options: TaskProceduresOptions) {}

  /** Whether the router answers the procedure itself. */
  has(procedure: string): boolean {
    return NAMES.has(procedure);
  }

  /** Whether a service advertises the procedure as a @task (an @rpc must not run when a task was meant). */
  async isTask(procedure: string): Promise<boolean> {
    const known = await this.options.registry.lookup(procedure);
    return known?.instances.some((instance) => instance.metadata.task === 'true') ?? false;
  }

  /** A refusal of the call beyond the policy's `call` on the task: a retry also takes `call` on mesh.tasks.retry. */
  refusal(identity: Identity | undefined, call: TaskCall): string | undefined {
    return call.kind === 'retry' ? this.options.guard.call(identity, RETRY_PROCEDURE) : undefined;
  }

  /** The answer of `mesh.tasks.queues` (the others are the dealer's calls): every queue and dead task of the tasks the identity may call. */
  answer(procedure: string, identity: Identity | undefined): Promise<TaskOverview> {
    if (procedure !== QUEUES_PROCEDURE) throw new Error(`not a task procedure the router answers: ${procedure}`);
    const { guard, registry, caller, forwarder, timeoutMs } = this.options;
    return taskOverview({
      caller,
      registry,
      timeoutMs,
      visible: (task) => guard.allows(identity, 'call', task),
      headersFor: (task, deadline) => (forwarder && identity ? forwarder.headers(identity, caller.subjectOf(task), deadline, undefined) : undefined),
    });
  }
}
