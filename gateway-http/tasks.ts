// Tasks over HTTP: `Prefer: respond-async` (and `Idempotency-Key`) on a call become the task endpoint's request
// headers, a reply naming a task becomes 202 with `Location: /tasks/<id>`, and `GET /tasks/<id>` asks the task's
// endpoint for its status.
import type { Context } from 'koa';
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import {
  JSON_TYPE,
  jsonCodec,
  MeshError,
  parseTaskId,
  replyStatus,
  RESPOND_ASYNC_HEADER,
  statusView,
  TASK_ID_HEADER,
  TASK_KEY_HEADER,
  TASK_STATUS_HEADER,
  type Caller,
  type GatewayAuth,
  type TaskStatus,
} from '../mesh/gateway.ts';
import type { GatewayContext } from './context.ts';
import type { Forward } from './forward.ts';

/** What an Idempotency-Key may be: printable ASCII without spaces, as JetStream's Nats-Msg-Id takes it. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

function prefersAsync(ctx: Context): boolean {
  return /(^|[,;\s])respond-async\s*(,|;|$)/i.test(ctx.get('Prefer'));
}

/**
 * The request headers with what a task endpoint reads added: respond at once with the id, and the idempotency
 * key. A call with neither goes out as it came (a procedure that is not a task ignores them anyway).
 */
export function taskRequestHeaders(ctx: Context, base: MsgHdrs | undefined): MsgHdrs | undefined {
  const key = ctx.get('Idempotency-Key');
  const async = prefersAsync(ctx);
  if (!async && !key) return base;
  if (key && !IDEMPOTENCY_KEY.test(key)) throw new MeshError('INVALID_ARGUMENT', 'Idempotency-Key must be 1 to 128 printable ASCII characters without spaces');
  const headers = natsHeaders();
  for (const name of base?.keys() ?? []) for (const value of base!.values(name)) headers.append(name, value);
  if (async) headers.set(RESPOND_ASYNC_HEADER, '1');
  if (key) headers.set(TASK_KEY_HEADER, key);
  return headers;
}

/** Answers 202 with the task's id and where to follow it, when the reply is a task endpoint's enqueue; else false. */
export function answeredAsync(ctx: Context, msg: Msg): boolean {
  const id = msg.headers?.get(TASK_ID_HEADER);
  if (!id || !prefersAsync(ctx)) return false;
  ctx.status = 202;
  ctx.set('Location', `/tasks/${encodeURIComponent(id)}`);
  ctx.set('Preference-Applied', 'respond-async');
  ctx.body = { id };
  return true;
}

/** How long GET /tasks/<id> waits for the task's endpoint to answer. */
const STATUS_WAIT_MS = 10_000;

/**
 * GET /tasks/<id>'s last step, after the call pipeline's checks on the task's procedure (the policy's `call`, the
 * budget, whether it exists): a request to the task's endpoint with `Mesh-Task-Status: <id>`, answered with the
 * status's fields, or the endpoint's error as it said it. The gateway itself reads no JetStream.
 */
export function createTaskStatusForward({ caller, auth, timeoutMs }: { caller: Caller; auth?: GatewayAuth; timeoutMs: number }): Forward {
  return async (ctx: GatewayContext, task: string) => {
    const deadline = Date.now() + Math.min(timeoutMs, STATUS_WAIT_MS);
    const { identity, taskId } = ctx.state;
    const forwarded = auth?.forwarder && identity ? auth.forwarder.headers(identity, caller.subjectOf(task), deadline, undefined) : undefined;
    const headers = natsHeaders();
    for (const name of forwarded?.keys() ?? []) for (const value of forwarded!.values(name)) headers.append(name, value);
    headers.set(TASK_STATUS_HEADER, taskId!);
    const msg = await caller.request(task, EMPTY_CALL, { deadline, headers });
    ctx.status = replyStatus(msg);
    if (ctx.status !== 200) {
      ctx.type = JSON_TYPE;
      ctx.body = Buffer.from(msg.data);
      return;
    }
    ctx.body = statusView((jsonCodec.decode(msg.data) as [[TaskStatus]])[0][0]);
  };
}

/** The body of a request without arguments: `[[], {}]`. */
const EMPTY_CALL = jsonCodec.encode([[], {}]);

/** GET /tasks/<id>: the task named by the id goes through `status` as a call of its procedure would. */
export function taskStatusRoute(status: (ctx: GatewayContext, task: string) => Promise<void>) {
  return (ctx: GatewayContext & { params: { id?: string } }) => {
    const id = ctx.params.id ?? '';
    ctx.state.taskId = id;
    return status(ctx, parseTaskId(id).task);
  };
}
