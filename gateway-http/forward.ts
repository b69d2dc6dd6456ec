// The last step of a call: its body, deadline, identity and trace become one NATS request, and the reply (or its
// progress, as a stream) becomes the response. It forwards; who may call and what exists is decided before it.
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import {
  CONTENT_TYPE_HEADER,
  JSON_TYPE,
  MeshError,
  jsonCodec,
  msgpackCodec,
  replyStatus,
  startHop,
  tracingOn,
  type Caller,
  type Hop,
  type Logger,
  type ProcedureRegistry,
  type RequestOptions,
  type GatewayAuth,
} from '../mesh/gateway.ts';
import { keywordBody } from './keyword-body.ts';
import { routeBody } from './route-arguments.ts';
import { openStreamResponse, streamFormatOf, type StreamFormat } from './stream-response.ts';
import { answeredAsync, taskRequestHeaders } from './tasks.ts';
import { headerOf, requestLogger, type GatewayContext } from './context.ts';
import type { ReadBody } from './body.ts';

/** RFC 7240's `Prefer: wait=<seconds>`: how long the client will wait for the answer. */
const PREFER_WAIT = /(?:^|[,;])\s*wait\s*=\s*(\d{1,9})\s*(?:[,;]|$)/i;

/** The time a request may take: the client's `Prefer: wait`, never more than the gateway's own timeout. */
function waitOf(prefer: string, timeoutMs: number): number {
  const seconds = prefer ? PREFER_WAIT.exec(prefer)?.[1] : undefined;
  return seconds === undefined ? timeoutMs : Math.min(timeoutMs, Math.max(1, Number(seconds)) * 1000);
}

/** The Content-Type Koa makes of `ctx.type = 'application/json'`: a reply without its own type is JSON. */
const JSON_RESPONSE_TYPE = `${JSON_TYPE}; charset=utf-8`;

export interface ForwardOptions {
  caller: Caller;
  registry: ProcedureRegistry;
  logger: Logger;
  timeoutMs: number;
  auth?: GatewayAuth;
  readBody: ReadBody;
}

export type Forward = (ctx: GatewayContext, procedure: string) => Promise<void>;

export function createForward({ caller, registry, logger, timeoutMs, auth, readBody }: ForwardOptions): Forward {
  const msgpackHeaders: MsgHdrs = natsHeaders();
  msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
  const debug = logger.isLevelEnabled('debug');

  async function forward(ctx: GatewayContext, procedure: string) {
    const started = debug ? performance.now() : 0;
    const { codec, identity, route } = ctx.state;
    const body = route ? routeBody(ctx, route, codec) : keywordBody(await readBody(ctx), codec);
    const forwarder = auth?.forwarder;
    const prefer = headerOf(ctx, 'prefer');
    // The client's own timeout (Prefer: wait), never longer than the gateway's.
    const deadline = Date.now() + waitOf(prefer, timeoutMs);
    let headers = codec === msgpackCodec ? msgpackHeaders : undefined;
    // The identity goes as a token for this procedure's subject that ends by the call's deadline (mesh-identity.ts).
    if (forwarder && identity) headers = forwarder.headers(identity, caller.subjectOf(procedure), deadline, headers ? msgpackCodec.contentType : undefined);
    // The NATS request's span, a child of the HTTP request's; without tracing there is none, and no ids are drawn.
    const hop = tracingOn() ? startHop(procedure, 'client', ctx.state.hop) : undefined;
    headers = taskRequestHeaders(ctx, prefer, headers);
    // A client that hangs up before its answer cancels the call: the handler's signal aborts.
    const controller = new AbortController();
    // (on, not once: a response closes once, and once wraps the listener.)
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished) controller.abort();
    });
    const format = codec === jsonCodec ? streamFormatOf(headerOf(ctx, 'accept')) : undefined;
    if (format) return streamCall(ctx, format, controller, procedure, body, { deadline, headers, trace: hop, signal: controller.signal }, hop);
    let msg: Msg;
    try {
      msg = await caller.request(procedure, body, { deadline, headers, trace: hop, signal: controller.signal });
    } catch (err) {
      hop?.end(err instanceof MeshError ? err : undefined);
      // An instance gone, or none answering for now: the registry looks again (at most once per its miss gap), so a
      // procedure that went away for good is soon UNKNOWN_PROCEDURE rather than UNAVAILABLE.
      if (err instanceof MeshError && err.code === 'UNAVAILABLE' && caller.connected) void registry.refreshSoon();
      throw err;
    }
    hop?.end();
    if (answeredAsync(ctx, prefer, msg)) return;
    ctx.status = replyStatus(msg);
    const type = msg.headers?.get(CONTENT_TYPE_HEADER);
    // Koa's type setter looks the charset up in mime-db on every call; JSON's full Content-Type is known.
    if (type) ctx.type = type;
    else ctx.set('Content-Type', JSON_RESPONSE_TYPE);
    ctx.body = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
    if (debug) {
      requestLogger(logger, ctx).debug({ subject: procedure, ms: Number((performance.now() - started).toFixed(3)), status: ctx.status }, 'request');
    }
  }

  /** A call whose progressive results are written as they come (`Accept: application/x-ndjson` or `text/event-stream`). */
  function streamCall(ctx: GatewayContext, format: StreamFormat, controller: AbortController, procedure: string, body: Buffer, options: RequestOptions, hop: Hop | undefined) {
    const response = openStreamResponse(format, () => controller.abort());
    ctx.status = 200;
    ctx.type = response.contentType;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = response.body;
    caller.request(procedure, body, { ...options, onProgress: (msg) => response.progress(msg) }).then(
      (msg) => {
        hop?.end();
        response.end({ msg });
      },
      (err: unknown) => {
        const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
        hop?.end(error);
        response.end({ error });
      },
    );
  }

  return forward;
}
