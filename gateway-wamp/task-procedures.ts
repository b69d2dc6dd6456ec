// The router's task procedures: `mesh.tasks.enqueue` and `mesh.tasks.get` read into calls of the task's endpoint that the
// dealer makes (the gateway reads no JetStream for them), `.queues` and `.retry` answered from the task store; each under the policy's rules for the task.
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import {
  checkEnqueueOptions,
  isKwargs,
  listDead,
  listQueues,
  MeshError,
  parseTaskId,
  quoteName,
  retryDead,
  RESPOND_ASYNC_HEADER,
  statusView,
  TASK_DELAY_HEADER,
  TASK_KEY_HEADER,
  TASK_STATUS_HEADER,
  type Args,
  type Envelope,
  type ErrorObject,
  type Kwargs,
  type ProcedureRegistry,
  type TaskQueue,
  type TaskStatus,
  type TaskStore,
  type Identity,
} from '../mesh/gateway.ts';
import type { Guard } from './guard.ts';
import { WampUri } from './protocol.ts';
import { routerError } from './router-errors.ts';

export const ENQUEUE_PROCEDURE = 'mesh.tasks.enqueue';
export const GET_PROCEDURE = 'mesh.tasks.get';
export const QUEUES_PROCEDURE = 'mesh.tasks.queues';
export const RETRY_PROCEDURE = 'mesh.tasks.retry';

const NAMES: ReadonlySet<string> = new Set([ENQUEUE_PROCEDURE, GET_PROCEDURE, QUEUES_PROCEDURE, RETRY_PROCEDURE]);

/** Dead tasks `mesh.tasks.queues` lists at most, oldest first. */
const DEAD_LISTED = 100;

/** `mesh.tasks.enqueue`'s arguments: the task, its [args, kwargs], and the enqueue's options. */
export interface EnqueueRequest {
  task: string;
  args: Args;
  kwargs: Kwargs;
  key?: string;
  delay?: number;
}

/** A dead task as the page lists it: why it died and its last error, not its arguments. */
export interface DeadSummary {
  id: string;
  task: string;
  reason: string;
  attempts: number;
  error: ErrorObject | null;
  died_at: string;
}

export interface TaskOverview {
  queues: TaskQueue[];
  dead: DeadSummary[];
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

/** A call of a task's endpoint that a task procedure stands for: an enqueue, or a status read by id. */
export type TaskCall = { kind: 'enqueue'; task: string; request: EnqueueRequest } | { kind: 'status'; task: string; id: string };

/** Reads a task procedure's arguments into the call of the task's endpoint it stands for; INVALID_ARGUMENT or NOT_FOUND. */
export function parseTaskCall(procedure: string, args: Args, kwargs: Kwargs): TaskCall {
  if (procedure === ENQUEUE_PROCEDURE) {
    const request = parseEnqueue(args, kwargs);
    return { kind: 'enqueue', task: request.task, request };
  }
  const id = idArgument(procedure, args);
  return { kind: 'status', task: parseTaskId(id).task, id };
}

/** The request headers of a task call: the call's own, and what the task's endpoint reads (respond at once, key, delay; or the status asked for). */
export function taskCallHeaders(base: MsgHdrs | undefined, call: TaskCall): MsgHdrs {
  const headers = natsHeaders();
  for (const name of base?.keys() ?? []) for (const value of base!.values(name)) headers.append(name, value);
  if (call.kind === 'status') {
    headers.set(TASK_STATUS_HEADER, call.id);
    return headers;
  }
  headers.set(RESPOND_ASYNC_HEADER, '1');
  if (call.request.key !== undefined) headers.set(TASK_KEY_HEADER, call.request.key);
  if (call.request.delay) headers.set(TASK_DELAY_HEADER, String(Math.round(call.request.delay)));
  return headers;
}

/** The endpoint's reply as the caller gets it: a status as `GET /tasks/<id>` shows it, an enqueue's `[{id}]` as it came. */
export function taskCallResult(call: TaskCall, envelope: Envelope): Envelope {
  if (call.kind === 'enqueue') return envelope;
  return [[statusView(envelope[0][0] as TaskStatus)], {}];
}

/** Whether the procedure stands for a call of a task's endpoint (enqueue, get), not an answer of the router's own. */
export function isTaskCall(procedure: string): boolean {
  return procedure === ENQUEUE_PROCEDURE || procedure === GET_PROCEDURE;
}

/** The task an id names; INVALID_ARGUMENT unless the procedure got exactly one string. */
function idArgument(procedure: string, args: Args): string {
  if (args.length !== 1 || typeof args[0] !== 'string') throw invalid(`${procedure} takes one argument, a task id like 'mailer.send_email.42'`);
  return args[0];
}

export class TaskProcedures {
  constructor(
    private readonly store: TaskStore,
    private readonly guard: Guard,
    private readonly registry: ProcedureRegistry,
  ) {}

  /** Whether the router answers the procedure itself. */
  has(procedure: string): boolean {
    return NAMES.has(procedure);
  }

  /** Whether a service advertises the procedure as a @task (an @rpc must not run when a task was meant). */
  async isTask(procedure: string): Promise<boolean> {
    const known = await this.registry.lookup(procedure);
    return known?.instances.some((instance) => instance.metadata.task === 'true') ?? false;
  }

  /** The answer of queues or retry (enqueue and get are the dealer's calls); a MeshError when refused. */
  async answer(procedure: string, args: Args, identity: Identity | undefined): Promise<unknown> {
    if (procedure === QUEUES_PROCEDURE) return this.overview(identity);
    if (procedure !== RETRY_PROCEDURE) throw new Error(`not a task procedure the router answers: ${procedure}`);
    const id = idArgument(procedure, args);
    this.mayCall(identity, parseTaskId(id).task);
    this.mayCall(identity, RETRY_PROCEDURE);
    return { id: await retryDead(this.store, id) };
  }

  /** Every queue and dead task of the tasks the identity may call. */
  private async overview(identity: Identity | undefined): Promise<TaskOverview> {
    const visible = (task: string) => this.guard.allows(identity, 'call', task);
    const queues = (await listQueues(this.store)).filter((queue) => visible(queue.task));
    const dead = (await listDead(this.store, DEAD_LISTED))
      .filter((kept) => visible(kept.task))
      .map((kept) => ({
        id: kept.id,
        task: kept.task,
        reason: kept.reason,
        attempts: kept.attempts,
        error: kept.errors.at(-1)?.error ?? null,
        died_at: kept.died_at,
      }));
    return { queues, dead };
  }

  private mayCall(identity: Identity | undefined, procedure: string): void {
    const refusal = this.guard.call(identity, procedure);
    if (refusal) throw routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal);
  }
}
