// The HTTP gateway as a Koa app: POST /<service>.<method> becomes a NATS request, the reply comes back as is.
// A pipeline of small steps: map errors, check the procedure, check the content type, read the body, forward.
import cors from '@koa/cors';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { headers as natsHeaders, type MsgHdrs } from 'nats';
import getRawBody from 'raw-body';
import {
  CONTENT_TYPE_HEADER,
  JSON_TYPE,
  MeshError,
  jsonCodec,
  msgpackCodec,
  replyStatus,
  type Caller,
  type Codec,
  type Logger,
} from '../mesh/index.ts';

export interface HttpGatewayOptions {
  caller: Caller;
  logger: Logger;
  bodyLimit: number;
  timeoutMs: number;
  corsOrigins: readonly string[];
}

/** Subjects a caller may reach: `service.method`, never `$SYS`, `$SRV`, `_INBOX` or a wildcard. */
const PROCEDURE = /^(?!_INBOX\.)[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Request types read as JSON: curl -d sends form-urlencoded and fetch with a string sends text/plain. */
const JSON_ALIASES = new Set([JSON_TYPE, 'application/x-www-form-urlencoded', 'text/plain']);
const MSGPACK_TYPES = new Set([msgpackCodec.contentType, 'application/x-msgpack', 'application/vnd.msgpack']);

interface GatewayState {
  codec: Codec;
}

type GatewayContext = Context & { state: GatewayState };

function requestCodec(ctx: Context): Codec | undefined {
  const type = ctx.request.type;
  if (type === '' || JSON_ALIASES.has(type) || type.endsWith('+json')) return jsonCodec;
  if (MSGPACK_TYPES.has(type)) return msgpackCodec;
  return undefined;
}

export function createHttpApp(options: HttpGatewayOptions): Koa {
  const { caller, logger, bodyLimit, timeoutMs } = options;
  const msgpackHeaders: MsgHdrs = natsHeaders();
  msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);

  async function mapErrors(ctx: GatewayContext, next: Next) {
    ctx.state.codec = jsonCodec;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new MeshError('NOT_FOUND', `no route ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      if (!(err instanceof MeshError)) logger.error({ err, path: ctx.path }, 'unexpected gateway error');
      ctx.status = error.status;
      ctx.type = ctx.state.codec.contentType;
      ctx.body = Buffer.from(ctx.state.codec.encode(error.toBody()));
    }
  }

  async function checkProcedure(ctx: GatewayContext, next: Next) {
    const procedure = ctx.params.procedure ?? '';
    if (!PROCEDURE.test(procedure)) {
      throw new MeshError('UNKNOWN_PROCEDURE', `'${procedure}' is not a procedure name of the form service.method`);
    }
    await next();
  }

  async function checkContentType(ctx: GatewayContext, next: Next) {
    const codec = requestCodec(ctx);
    if (!codec) {
      throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `Content-Type '${ctx.request.type}' is not supported; send application/json or application/msgpack`);
    }
    ctx.state.codec = codec;
    const encoding = ctx.get('Content-Encoding');
    if (encoding && encoding !== 'identity') {
      throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding '${encoding}' is not supported`);
    }
    await next();
  }

  async function readBody(ctx: GatewayContext): Promise<Buffer> {
    try {
      return await getRawBody(ctx.req, { limit: bodyLimit, length: ctx.request.length });
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') {
        throw new MeshError('PAYLOAD_TOO_LARGE', `request body is over the limit of ${bodyLimit} bytes`);
      }
      throw new MeshError('INVALID_ARGUMENT', `cannot read the request body: ${(err as Error).message}`);
    }
  }

  async function forward(ctx: GatewayContext) {
    const started = performance.now();
    const procedure = ctx.params.procedure!;
    const body = await readBody(ctx);
    const { codec } = ctx.state;
    const msg = await caller.request(procedure, body, {
      timeoutMs,
      headers: codec === msgpackCodec ? msgpackHeaders : undefined,
    });
    ctx.status = replyStatus(msg);
    ctx.type = msg.headers?.get(CONTENT_TYPE_HEADER) || JSON_TYPE;
    ctx.body = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
    logger.debug({ subject: procedure, ms: Number((performance.now() - started).toFixed(3)), status: ctx.status }, 'request');
  }

  function health(ctx: GatewayContext) {
    if (!caller.connected) throw new MeshError('UNAVAILABLE', 'the gateway is not connected to NATS');
    ctx.body = { status: 'ok', nats: 'connected' };
  }

  const router = new Router<GatewayState>();
  router.get('/health', health);
  router.post('/:procedure', checkProcedure, checkContentType, forward);

  const app = new Koa<GatewayState>();
  app.use(mapErrors);
  if (options.corsOrigins.length > 0) {
    const allowed = new Set(options.corsOrigins);
    app.use(cors({ origin: (ctx) => (allowed.has('*') || allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : '') }));
  }
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new MeshError('METHOD_NOT_ALLOWED', 'use POST to call a procedure'),
      notImplemented: () => new MeshError('METHOD_NOT_ALLOWED', 'method not supported'),
    }),
  );
  return app;
}
