// Reading a call's body: its codec from Content-Type (JSON, MessagePack, and the plain types curl sends), and its
// bytes within http.bodyLimit and one NATS message. It reads bytes; what they mean is the service's business.
import type { Next } from 'koa';
import getRawBody from 'raw-body';
import { JSON_TYPE, MeshError, jsonCodec, msgpackCodec, quoteName, withErrorId, type Codec, type Logger, type RefusalLog } from '../mesh/gateway.ts';
import { headerOf, LOGGED_PATH_CHARS, requestLogger, type GatewayContext } from './context.ts';

/**
 * Types curl's `-d` and a plain fetch send: read as JSON, as the seed's `curl -d '[["Bob"]]'` means. A browser could
 * send them cross-site without a preflight; the cross-origin rule, not the type, refuses that.
 */
const PLAIN_JSON_TYPES = new Set(['application/x-www-form-urlencoded', 'text/plain']);
const MSGPACK_TYPES = new Set([msgpackCodec.contentType, 'application/x-msgpack', 'application/vnd.msgpack']);

/** Room left in a NATS message for its headers: a body may take max_payload less this. */
const HEADER_ROOM = 128;

/**
 * The codec of a request's body, or undefined when its type is refused. No type at all is accepted only with
 * no body: a call without arguments, as `curl -X POST` sends it.
 */
function requestCodec(ctx: GatewayContext): Codec | undefined {
  if (ctx.req.headers['content-type'] === JSON_TYPE) return jsonCodec;
  const type = ctx.request.type;
  if (type === JSON_TYPE || type.endsWith('+json')) return jsonCodec;
  if (MSGPACK_TYPES.has(type)) return msgpackCodec;
  if (type === '') return jsonCodec;
  if (PLAIN_JSON_TYPES.has(type)) return jsonCodec;
  return undefined;
}

/** Sets the request's codec from its Content-Type; a refused type or any Content-Encoding is 415. */
export function acceptContentType(ctx: GatewayContext) {
  // A GET route's request has no body to type: the answer is MessagePack when the client accepts it before JSON.
  if (ctx.state.route) {
    ctx.state.codec = ctx.accepts(JSON_TYPE, msgpackCodec.contentType) === msgpackCodec.contentType ? msgpackCodec : jsonCodec;
    return;
  }
  const codec = requestCodec(ctx);
  if (!codec) {
    const type = ctx.request.type || 'none';
    throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${quoteName(type)} is not accepted; send application/json or application/msgpack`);
  }
  ctx.state.codec = codec;
  const encoding = headerOf(ctx, 'content-encoding');
  if (encoding && encoding !== 'identity') {
    throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${quoteName(encoding)} is not supported`);
  }
}

/** acceptContentType as a step of a route. */
export async function checkContentType(ctx: GatewayContext, next: Next) {
  acceptContentType(ctx);
  await next();
}

export interface BodyLimits {
  bodyLimit: number;
  /** The NATS server's max_payload now (it may change on reconnect). */
  maxPayload: () => number;
  logger: Logger;
  refusals: RefusalLog;
}

export type ReadBody = (ctx: GatewayContext) => Promise<Buffer>;

export function createBodyReader({ bodyLimit, maxPayload, logger, refusals }: BodyLimits): ReadBody {
  /** The body, at most bodyLimit and what one NATS message carries; a bad body is one refusal line under its id, no stack. */
  return async function readBody(ctx: GatewayContext): Promise<Buffer> {
    const natsLimit = maxPayload() - HEADER_ROOM;
    const limit = Math.min(bodyLimit, natsLimit);
    try {
      return await getRawBody(ctx.req, { limit, length: ctx.request.length });
    } catch (err) {
      const type = (err as { type?: string }).type;
      const reason = (err as Error).message;
      if (type === 'request.aborted') {
        requestLogger(logger, ctx).debug({ path: ctx.path.slice(0, LOGGED_PATH_CHARS), reason }, 'request body aborted');
        throw new MeshError('CANCELED', 'the request was aborted');
      }
      const error =
        type === 'entity.too.large'
          ? new MeshError('PAYLOAD_TOO_LARGE', `request body is over the limit of ${limit} bytes (${limit === bodyLimit ? 'http.bodyLimit' : "the NATS server's max_payload"})`)
          : new MeshError('INVALID_ARGUMENT', `cannot read the request body: ${reason}`);
      withErrorId(error);
      refusals.log(error.code, () => {
        requestLogger(logger, ctx).warn({ path: ctx.path.slice(0, LOGGED_PATH_CHARS), error_id: error.id, code: error.code, reason }, 'bad request body');
      });
      throw error;
    }
  };
}
