// Tasks over HTTP: `Prefer: respond-async` (and `Idempotency-Key`) on a call become the task endpoint's request
// headers, a reply naming a task becomes 202 with `Location: /tasks/<id>`; `GET /tasks/<id>` asks the task's endpoint
// for its status, `POST /tasks/<id>/retry` has it enqueue a dead task again, `GET /tasks` asks every task's for its queue.
import type { Context } from 'koa';
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import {
  headersWith,
  JSON_TYPE,
  jsonCodec,
  MeshError,
  NOT_A_CALL,
  parseTaskId,
  quoteName,
  replyStatus,
  RESPOND_ASYNC_HEADER,
  RETRY_PERMISSION,
  statusView,
  taskOverview,
  TASK_ID_HEADER,
  TASK_KEY_HEADER,
  TASK_RETRY_HEADER,
  TASK_STATUS_HEADER,
  type Caller,
  type GatewayAuth,
  type ProcedureRegistry,
  type RateLimiter,
  type TaskStatus,
} from '../mesh/gateway.ts';
import { addressOf, callerOf, credentialOf } from './credentials.ts';
import { headerOf, type GatewayContext } from './context.ts';
import type { Forward } from './forward.ts';

/** What an Idempotency-Key may be: printable ASCII without spaces, as JetStream's Nats-Msg-Id takes it. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/** `Prefer: respond-async`, among the preferences a Prefer header lists. */
const RESPOND_ASYNC = /(^|[,;\s])respond-async\s*(,|;|$)/i;

function prefersAsync(prefer: string): boolean {
  return prefer !== '' && RESPOND_ASYNC.test(prefer);
}

/**
 * The request headers with what a task endpoint reads added: respond at once with the id, and the idempotency
 * key. A call with neither goes out as it came (a procedure that is not a task ignores them anyway).
 */
export function taskRequestHeaders(ctx: Context, prefer: string, base: MsgHdrs | undefined): MsgHdrs | undefined {
  const key = headerOf(ctx, 'idempotency-key');
  const async = prefersAsync(prefer);
  if (!async && !key) return base;
  if (key && !IDEMPOTENCY_KEY.test(key)) throw new MeshError('INVALID_ARGUMENT', 'Idempotency-Key must be 1 to 128 printable ASCII characters without spaces');
  return headersWith(base, { [RESPOND_ASYNC_HEADER]: async ? '1' : undefined, [TASK_KEY_HEADER]: key || undefined });
}

/**
 * Answers 202 with the task's id and where to follow it, when the reply is a task endpoint's enqueue (asked for with
 * `Prefer: respond-async`, or the only answer of a task that ignores its result); else false.
 */
export function answeredAsync(ctx: Context, prefer: string, msg: Msg): boolean {
  const id = msg.headers?.get(TASK_ID_HEADER);
  if (!id) return false;
  ctx.status = 202;
  ctx.set('Location', `/tasks/${encodeURIComponent(id)}`);
  if (prefersAsync(prefer)) ctx.set('Preference-Applied', 'respond-async');
  ctx.body = { id };
  return true;
}

/** How long GET /tasks/<id>, a retry and GET /tasks wait for the task endpoints to answer. */
const TASK_WAIT_MS = 10_000;

/** What a task route asks of the task's endpoint: its status, or a retry of the dead task. */
export type TaskAsk = 'status' | 'retry';

/** The caller needs more than `call` on the task for a retry: `call` on mesh.tasks.retry (401 without a credential, 403 with one). */
function mayRetry(ctx: GatewayContext, auth: GatewayAuth | undefined): void {
  const identity = ctx.state.identity;
  if (!auth || !identity || auth.policy.allows(identity, 'call', RETRY_PERMISSION)) return;
  if (credentialOf(ctx) === undefined) throw new MeshError('UNAUTHENTICATED', `retrying a task takes a credential allowed to call ${RETRY_PERMISSION}`);
  throw new MeshError('PERMISSION_DENIED', `${quoteName(identity.id)} may not call ${RETRY_PERMISSION}`);
}

/**
 * The last step of GET /tasks/<id> and POST /tasks/<id>/retry, after the call pipeline's checks on the task's
 * procedure (the policy's `call`, the budget, whether it exists): a request to the task's endpoint with
 * `Mesh-Task-Status: <id>` or `Mesh-Task-Retry: <id>`, answered with the status's fields, or 202 with the new task's
 * id and Location; else the endpoint's error as it said it. The gateway itself reads no JetStream.
 */
export function createTaskForward({ caller, auth, timeoutMs, ask }: { caller: Caller; auth?: GatewayAuth; timeoutMs: number; ask: TaskAsk }): Forward {
  return async (ctx: GatewayContext, task: string) => {
    if (ask === 'retry') mayRetry(ctx, auth);
    const deadline = Date.now() + Math.min(timeoutMs, TASK_WAIT_MS);
    const { identity, taskId } = ctx.state;
    const forwarded = auth?.forwarder && identity ? auth.forwarder.headers(identity, caller.subjectOf(task), deadline, undefined) : undefined;
    const headers = headersWith(forwarded, { [ask === 'status' ? TASK_STATUS_HEADER : TASK_RETRY_HEADER]: taskId! });
    const msg = await caller.request(task, ask === 'status' ? EMPTY_CALL : NOT_A_CALL, { deadline, headers });
    ctx.status = replyStatus(msg);
    if (ctx.status !== 200) {
      ctx.type = JSON_TYPE;
      ctx.body = Buffer.from(msg.data);
      return;
    }
    const [[value]] = jsonCodec.decode(msg.data) as [[unknown]];
    if (ask === 'status') {
      ctx.body = statusView(value as TaskStatus);
      return;
    }
    const { id } = value as { id: string };
    ctx.status = 202;
    ctx.set('Location', `/tasks/${encodeURIComponent(id)}`);
    ctx.body = { id };
  };
}

/** The body of a request without arguments: `[[], {}]`. */
const EMPTY_CALL = jsonCodec.encode([[], {}]);

/** GET /tasks/<id> and POST /tasks/<id>/retry: the task named by the id goes through `pipeline` as a call of its procedure would. */
export function taskIdRoute(pipeline: (ctx: GatewayContext, task: string) => Promise<void>) {
  return (ctx: GatewayContext & { params: { id?: string } }) => {
    const id = ctx.params.id ?? '';
    ctx.state.taskId = id;
    return pipeline(ctx, parseTaskId(id).task);
  };
}

/**
 * GET /tasks: the queue and dead tasks of every task the caller may call (as a call would be allowed), asked of the
 * task endpoints; one request from the caller's budget.
 */
export function createTaskQueuesRoute({
  caller,
  registry,
  auth,
  rateLimiter,
  timeoutMs,
}: {
  caller: Caller;
  registry: ProcedureRegistry;
  auth?: GatewayAuth;
  rateLimiter?: RateLimiter;
  timeoutMs: number;
}) {
  return async (ctx: GatewayContext) => {
    const identity = auth ? await callerOf(ctx, auth) : undefined;
    if (rateLimiter?.enabled) {
      const refused = await rateLimiter.take({ address: addressOf(ctx), identity });
      if (refused) throw refused;
    }
    ctx.body = await taskOverview({
      caller,
      registry,
      timeoutMs: Math.min(timeoutMs, TASK_WAIT_MS),
      visible: (task) => !auth || !identity || auth.policy.allows(identity, 'call', task),
      headersFor: (task, deadline) => (auth?.forwarder && identity ? auth.forwarder.headers(identity, caller.subjectOf(task), deadline, undefined) : undefined),
    });
  };
}
