// Tasks over HTTP: `Prefer: respond-async` (and `Idempotency-Key`) on a call become the task endpoint's request
// headers, a reply naming a task becomes 202 with `Location: /tasks/<id>`, and `GET /tasks/<id>` reads its status.
import type { Context } from 'koa';
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { MeshError, RESPOND_ASYNC_HEADER, statusView, TASK_ID_HEADER, TASK_KEY_HEADER, type TaskClient } from '../mesh/gateway.ts';

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

/** GET /tasks/<id>: the task's status, or the mesh error (404 for an id no one knows). */
export async function taskStatus(ctx: Context, tasks: TaskClient, id: string): Promise<void> {
  ctx.body = statusView(await tasks.handle(id).status());
}
