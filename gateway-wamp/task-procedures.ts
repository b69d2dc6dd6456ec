// The router's task procedures: `mesh.tasks.enqueue` read into the call of a task's endpoint that the dealer makes,
// and `mesh.tasks.get`, `.queues` and `.retry` answered from the task store, each under the policy's rules for the task.
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import {
  checkEnqueueOptions,
  isKwargs,
  listDead,
  listQueues,
  MeshError,
  parseTaskId,
  quoteName,
  readStatus,
  retryDead,
  RESPOND_ASYNC_HEADER,
  statusView,
  TASK_DELAY_HEADER,
  TASK_KEY_HEADER,
  type Args,
  type ErrorObject,
  type Kwargs,
  type ProcedureRegistry,
  type TaskQueue,
  type TaskStatusView,
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

/** The request headers of an enqueue: the call's own, and what the task's endpoint reads (respond at once, key, delay). */
export function enqueueHeaders(base: MsgHdrs | undefined, request: EnqueueRequest): MsgHdrs {
  const headers = natsHeaders();
  for (const name of base?.keys() ?? []) for (const value of base!.values(name)) headers.append(name, value);
  headers.set(RESPOND_ASYNC_HEADER, '1');
  if (request.key !== undefined) headers.set(TASK_KEY_HEADER, request.key);
  if (request.delay) headers.set(TASK_DELAY_HEADER, String(Math.round(request.delay)));
  return headers;
}

/** The task an id names; INVALID_ARGUMENT unless the procedure got exactly one string. */
function idArgument(procedure: string, args: Args): string {
  if (args.length !== 1 || typeof args[0] !== 'string') throw invalid(`${procedure} takes one argument, a task id like 'mailer.send_email.42'`);
  return args[0];
}

export class TaskProcedures {
  constructor(private readonly store: TaskStore, private readonly guard: Guard, private readonly registry: ProcedureRegistry) {}

  /** Whether the router answers the procedure itself. */
  has(procedure: string): boolean {
    return NAMES.has(procedure);
  }

  /** Whether a service advertises the procedure as a @task (an @rpc must not run when a task was meant). */
  async isTask(procedure: string): Promise<boolean> {
    const known = await this.registry.lookup(procedure);
    return known?.instances.some((instance) => instance.metadata.task === 'true') ?? false;
  }

  /** The answer of get, queues or retry (enqueue is the dealer's call); a MeshError when refused. */
  async answer(procedure: string, args: Args, identity: Identity | undefined): Promise<unknown> {
    if (procedure === QUEUES_PROCEDURE) return this.overview(identity);
    const id = idArgument(procedure, args);
    const { task } = parseTaskId(id);
    this.mayCall(identity, task);
    if (procedure === GET_PROCEDURE) return this.status(id);
    if (procedure === RETRY_PROCEDURE) {
      this.mayCall(identity, RETRY_PROCEDURE);
      return { id: await retryDead(this.store, id) };
    }
    throw new Error(`not a task procedure: ${procedure}`);
  }

  private async status(id: string): Promise<TaskStatusView> {
    return statusView(await readStatus(this.store, id));
  }

  /** Every queue and dead task of the tasks the identity may call. */
  private async overview(identity: Identity | undefined): Promise<TaskOverview> {
    const visible = (task: string) => this.guard.allows(identity, 'call', task);
    const queues = (await listQueues(this.store)).filter((queue) => visible(queue.task));
    const dead = (await listDead(this.store, DEAD_LISTED)).filter((kept) => visible(kept.task)).map((kept) => ({
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
