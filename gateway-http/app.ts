// The HTTP gateway as a Koa app: POST /<service>.<method> becomes a NATS request, the reply comes back as is.
// Small steps: map errors, find the procedure, check the content type, read, forward; sockets are server.ts's.
import cors from '@koa/cors';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import getRawBody from 'raw-body';
import {
  CONTENT_TYPE_HEADER,
  JSON_TYPE,
  MeshError,
  RateLimitedError,
  jsonCodec,
  msgpackCodec,
  replyStatus,
  reportGatewayCrash,
  startHop,
  tracingOn,
  withErrorId,
  type Caller,
  type Hop,
  type RequestOptions,
  type Codec,
  type Logger,
  type Reports,
  type TaskClient,
} from '../mesh/gateway.ts';
import type { GatewayAuth, Identity } from '../mesh/auth/index.ts';
import { crossOriginProblem, nameProblem, quoteName } from '../mesh/gateway.ts';
import type { RateLimiter } from '../mesh/edge/rate-limit.ts';
import type { RefusalLog } from '../mesh/edge/refusal-log.ts';
import type { ProcedureRegistry } from '../mesh/gateway.ts';
import { keywordBody } from './keyword-body.ts';
import { openStreamResponse, streamFormatOf, type StreamFormat } from './stream-response.ts';
import { addressOf, credentialOf } from './credentials.ts';
import { createOpenApi } from './openapi.ts';
import { docsFile, docsPage } from './docs.ts';
import { createBrowse } from './browse.ts';
import { createDiscovery } from './discovery.ts';
import { createJsonRpc } from './jsonrpc.ts';
import { answeredAsync, taskRequestHeaders, taskStatus } from './tasks.ts';
import { METRICS_CONTENT_TYPE, UNKNOWN_PROCEDURE_LABEL, withVisibleProcedures, type GatewayMetrics } from '../mesh/edge/metrics.ts';

export interface HttpGatewayOptions {
  caller: Caller;
  logger: Logger;
  bodyLimit: number;
  timeoutMs: number;
  /** Origins whose browsers may call across sites (CORS, and the cross-origin rule); `*` trusts every one. */
  corsOrigins: readonly string[];
  /** The procedures a call may reach: nothing else is ever published to. */
  registry: ProcedureRegistry;
  /** Longest procedure name, in bytes: the registry's own maxNameBytes. */
  maxNameBytes: number;
  /** The NATS server's max_payload now (it may change on reconnect). */
  maxPayload: () => number;
  /** Budgets per caller; none, or one not enabled, adds no step. */
  rateLimiter?: RateLimiter;
  /** Authentication, the policy and identity forwarding; undefined when nothing is configured (all open). */
  auth?: GatewayAuth;
  /** Calls one JSON-RPC batch may hold. */
  jsonRpcMaxBatch?: number;
  /** The gateway's metrics (GET /metrics), and the mesh's (GET /metrics/mesh); undefined when metrics are off. */
  metrics?: { gateway: GatewayMetrics; mesh: () => Promise<string> };
  /** Where crash reports of the gateway's own INTERNAL errors go; undefined: they are only logged. */
  reports?: Reports;
  /** The lines of client errors the gateway refuses, rate-limited per code (INTERNAL errors never pass through it). */
  refusals: RefusalLog;
  /** False: /openapi.json, /docs, GET / and GET /<procedure> are 404 (http.discovery); true by default. */
  discovery?: boolean;
  /** Reads task statuses for GET /tasks/<id>; undefined: no such route. */
  tasks?: TaskClient;
}

/**
 * Types curl's `-d` and a plain fetch send: read as JSON, as the seed's `curl -d '[["Bob"]]'` means. A browser could
 * send them cross-site without a preflight; the cross-origin rule, not the type, refuses that.
 */
const PLAIN_JSON_TYPES = new Set(['application/x-www-form-urlencoded', 'text/plain']);
/** RFC 7240's `Prefer: wait=<seconds>`: how long the client will wait for the answer. */
const PREFER_WAIT = /(?:^|[,;])\s*wait\s*=\s*(\d{1,9})\s*(?:[,;]|$)/i;

/** The time a request may take: the client's `Prefer: wait`, never more than the gateway's own timeout. */
function waitOf(prefer: string, timeoutMs: number): number {
  const seconds = prefer ? PREFER_WAIT.exec(prefer)?.[1] : undefined;
  return seconds === undefined ? timeoutMs : Math.min(timeoutMs, Math.max(1, Number(seconds)) * 1000);
}

/** Methods that change nothing: the cross-origin rule lets them through, as Go's CrossOriginProtection does. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const MSGPACK_TYPES = new Set([msgpackCodec.contentType, 'application/x-msgpack', 'application/vnd.msgpack']);

/** How much of a path a log line shows. */
const LOGGED_PATH_CHARS = 300;

/** A path of one segment (a trailing slash allowed, as the router allows it), other than the JSON-RPC route's. */
const ONE_SEGMENT = /^\/([^/]+)\/?$/;

/** The procedure a POST path names, percent-decoded (text that does not decode stays as sent), or undefined. */
function procedureOf(path: string): string | undefined {
  const segment = ONE_SEGMENT.exec(path)?.[1];
  if (segment === undefined || segment === 'jsonrpc') return undefined;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Room left in a NATS message for its headers: a body may take max_payload less this. */
const HEADER_ROOM = 128;

interface GatewayState {
  codec: Codec;
  identity?: Identity;
  /** The span of this HTTP request: a child of the caller's `traceparent`, or a fresh trace. */
  hop: Hop;
}

type GatewayContext = Context & { state: GatewayState };

/**
 * The codec of a request's body, or undefined when its type is refused. No type at all is accepted only with
 * no body: a call without arguments, as `curl -X POST` sends it.
 */
function requestCodec(ctx: Context): Codec | undefined {
  if (ctx.req.headers['content-type'] === JSON_TYPE) return jsonCodec;
  const type = ctx.request.type;
  if (type === JSON_TYPE || type.endsWith('+json')) return jsonCodec;
  if (MSGPACK_TYPES.has(type)) return msgpackCodec;
  if (type === '') return jsonCodec;
  if (PLAIN_JSON_TYPES.has(type)) return jsonCodec;
  return undefined;
}

export function createHttpApp(options: HttpGatewayOptions): Koa {
  const { caller, logger, bodyLimit, timeoutMs, registry, maxNameBytes, maxPayload, auth } = options;
  const msgpackHeaders: MsgHdrs = natsHeaders();
  msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);

  /** A child logger whose lines carry the request's trace id and request id (its span id). */
  function requestLogger(ctx: GatewayContext): Logger {
    return logger.child({ trace_id: ctx.state.hop.traceId, request_id: ctx.state.hop.spanId });
  }

  /**
   * The request's span, from the caller's `traceparent` (a malformed one starts a fresh trace); the response
   * tells the caller its trace: `traceparent` (this span) and `Trace-Id`, unless tracing is off.
   */
  async function traceRequest(ctx: GatewayContext, next: Next) {
    const hop = startHop(`${ctx.method} ${ctx.path.slice(0, LOGGED_PATH_CHARS)}`, 'server', ctx.get('traceparent') || undefined, ctx.get('tracestate') || undefined);
    ctx.state.hop = hop;
    if (tracingOn()) {
      ctx.set('traceparent', hop.traceparent);
      ctx.set('Trace-Id', hop.traceId);
    }
    try {
      await next();
    } finally {
      hop.end(ctx.status >= 500 ? new MeshError('INTERNAL', `HTTP ${ctx.status}`) : undefined);
    }
  }

  /**
   * Logs an error the gateway made under its id: an INTERNAL one with the full cause, and a crash report; one info
   * line otherwise.
   */
  function logError(ctx: GatewayContext, error: MeshError, cause: unknown, started: number) {
    if (error.code !== 'INTERNAL') return logRefusal(ctx, error);
    reportCrash(ctx, ctx.method === 'POST' ? procedureOf(ctx.path) : undefined, ctx.state.identity, error, cause, started);
  }

  /** One info line under the error's id, for an error the gateway made that is not INTERNAL, unless its code used its lines this second. */
  function logRefusal(ctx: GatewayContext, error: MeshError) {
    options.refusals.log(error.code, () => {
      const path = ctx.path.slice(0, LOGGED_PATH_CHARS);
      requestLogger(ctx).info({ path, error_id: error.id, code: error.code, reason: error.message }, 'request refused');
    });
  }

  /** An INTERNAL error the gateway made: logged once under its id and reported; named by its procedure when the registry knows it, else the route. */
  function reportCrash(ctx: GatewayContext, named: string | undefined, identity: Identity | undefined, error: MeshError, cause: unknown, started: number) {
    const procedure = named !== undefined && registry.get(named) ? named : `${ctx.method} ${ctx.path.slice(0, LOGGED_PATH_CHARS)}`;
    const durationMs = performance.now() - started;
    reportGatewayCrash(options.reports, logger, { gateway: 'gateway-http', procedure, caller: identity?.id, durationMs, hop: ctx.state.hop, error, cause });
  }

  async function mapErrors(ctx: GatewayContext, next: Next) {
    ctx.state.codec = jsonCodec;
    const started = performance.now();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new MeshError('NOT_FOUND', `no route ${ctx.method} ${quoteName(ctx.path)}`);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      const made = error.id === undefined;
      withErrorId(error);
      if (made) logError(ctx, error, err, started);
      ctx.status = error.status;
      if (error.code === 'UNAUTHENTICATED') ctx.set('WWW-Authenticate', 'Bearer realm="nats-mesh"');
      if (error instanceof RateLimitedError) ctx.set('Retry-After', String(error.retryAfterS));
      ctx.type = ctx.state.codec.contentType;
      ctx.body = Buffer.from(ctx.state.codec.encode(error.toBody()));
    }
  }

  /**
   * Only subjects a service advertises are reachable. A known name costs one Map hit and no await (the registry
   * keeps only names nameProblem accepts); any other name is checked before NATS is asked anything, and an unknown
   * one is answered from the registry's last view, without waiting on the mesh.
   */
  function findProcedure(procedure: string): Promise<void> | undefined {
    if (registry.get(procedure)) return undefined;
    const problem = nameProblem(procedure, maxNameBytes);
    if (problem) throw new MeshError('UNKNOWN_PROCEDURE', `${quoteName(procedure)} is not a procedure name: ${problem}`);
    if (!caller.connected) throw new MeshError('UNAVAILABLE', 'NATS is unreachable');
    return registry.lookup(procedure).then((found) => {
      // The name passed nameProblem: no quote, whitespace or control character to escape.
      if (!found) throw new MeshError('UNKNOWN_PROCEDURE', `no service answers '${procedure}'`);
    });
  }

  /** One request from the caller's budget (its identity, else its address); over budget is 429 with Retry-After. */
  async function limitRate(ctx: GatewayContext) {
    const refused = await options.rateLimiter!.take({ address: addressOf(ctx), identity: ctx.state.identity });
    if (refused) throw refused;
  }

  /**
   * Who calls, and whether the policy lets them call this procedure; before any lookup, so an unauthenticated
   * caller learns nothing of which procedures exist. A cached token or an API key costs no await.
   */
  function authorize(ctx: GatewayContext, procedure: string): Promise<void> | undefined {
    const { policy, anonymous } = auth!;
    const presented = credentialOf(ctx);
    if (presented === undefined) {
      if (!policy.allows(anonymous, 'call', procedure)) {
        throw new MeshError('UNAUTHENTICATED', 'Authorization header missing: send "Authorization: Bearer <token>" or "X-Api-Token: <API key>"');
      }
      ctx.state.identity = anonymous;
      return undefined;
    }
    const admit = (identity: Identity) => {
      if (!policy.allows(identity, 'call', procedure)) {
        throw new MeshError('PERMISSION_DENIED', `${quoteName(identity.id)} may not call ${quoteName(procedure)}`);
      }
      ctx.state.identity = identity;
    };
    const identity = auth!.identify(presented.credential, addressOf(ctx), presented.apiKeyOnly);
    if (identity instanceof Promise) return identity.then(admit);
    admit(identity);
    return undefined;
  }

  function acceptContentType(ctx: GatewayContext) {
    const codec = requestCodec(ctx);
    if (!codec) {
      const type = ctx.request.type || 'none';
      throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${quoteName(type)} is not accepted; send application/json or application/msgpack`);
    }
    ctx.state.codec = codec;
    const encoding = ctx.get('Content-Encoding');
    if (encoding && encoding !== 'identity') {
      throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${quoteName(encoding)} is not supported`);
    }
  }

  async function checkContentType(ctx: GatewayContext, next: Next) {
    acceptContentType(ctx);
    await next();
  }

  /** The body, at most bodyLimit and what one NATS message carries; a bad body is one refusal line under its id, no stack. */
  async function readBody(ctx: GatewayContext): Promise<Buffer> {
    const natsLimit = maxPayload() - HEADER_ROOM;
    const limit = Math.min(bodyLimit, natsLimit);
    try {
      return await getRawBody(ctx.req, { limit, length: ctx.request.length });
    } catch (err) {
      const type = (err as { type?: string }).type;
      const reason = (err as Error).message;
      if (type === 'request.aborted') {
        requestLogger(ctx).debug({ path: ctx.path.slice(0, LOGGED_PATH_CHARS), reason }, 'request body aborted');
        throw new MeshError('CANCELED', 'the request was aborted');
      }
      const error = type === 'entity.too.large'
        ? new MeshError('PAYLOAD_TOO_LARGE', `request body is over the limit of ${limit} bytes (${limit === bodyLimit ? 'http.bodyLimit' : "the NATS server's max_payload"})`)
        : new MeshError('INVALID_ARGUMENT', `cannot read the request body: ${reason}`);
      withErrorId(error);
      options.refusals.log(error.code, () => {
        requestLogger(ctx).warn({ path: ctx.path.slice(0, LOGGED_PATH_CHARS), error_id: error.id, code: error.code, reason }, 'bad request body');
      });
      throw error;
    }
  }

  const debug = logger.isLevelEnabled('debug');

  async function forward(ctx: GatewayContext, procedure: string) {
    const started = debug ? performance.now() : 0;
    const { codec, identity } = ctx.state;
    const body = keywordBody(await readBody(ctx), codec);
    const forwarder = auth?.forwarder;
    // The client's own timeout (Prefer: wait), never longer than the gateway's.
    const deadline = Date.now() + waitOf(ctx.get('Prefer'), timeoutMs);
    let headers = codec === msgpackCodec ? msgpackHeaders : undefined;
    // The identity goes as a token for this procedure's subject that ends by the call's deadline (mesh-identity.ts).
    if (forwarder && identity) headers = forwarder.headers(identity, caller.subjectOf(procedure), deadline, headers ? msgpackCodec.contentType : undefined);
    // The NATS request's span, a child of the HTTP request's; without tracing there is none, and no ids are drawn.
    const hop = tracingOn() ? startHop(procedure, 'client', ctx.state.hop) : undefined;
    headers = taskRequestHeaders(ctx, headers);
    // A client that hangs up before its answer cancels the call: the handler's signal aborts.
    const controller = new AbortController();
    ctx.res.once('close', () => {
      if (!ctx.res.writableFinished) controller.abort();
    });
    const format = codec === jsonCodec ? streamFormatOf(ctx.get('Accept')) : undefined;
    if (format) return streamCall(ctx, format, controller, procedure, body, { deadline, headers, trace: hop, signal: controller.signal }, hop);
    const msg = await caller.request(procedure, body, { deadline, headers, trace: hop, signal: controller.signal }).catch((err: unknown) => {
      hop?.end(err instanceof MeshError ? err : undefined);
      // An instance gone, or none answering for now: the registry looks again (at most once per its miss gap), so a
      // procedure that went away for good is soon UNKNOWN_PROCEDURE rather than UNAVAILABLE.
      if (err instanceof MeshError && err.code === 'UNAVAILABLE' && caller.connected) void registry.refreshSoon();
      throw err;
    });
    hop?.end();
    if (answeredAsync(ctx, msg)) return;
    ctx.status = replyStatus(msg);
    ctx.type = msg.headers?.get(CONTENT_TYPE_HEADER) || JSON_TYPE;
    ctx.body = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
    if (debug) {
      requestLogger(ctx).debug({ subject: procedure, ms: Number((performance.now() - started).toFixed(3)), status: ctx.status }, 'request');
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

  function health(ctx: GatewayContext) {
    if (!caller.connected) throw new MeshError('UNAVAILABLE', 'the gateway is not connected to NATS');
    ctx.body = { status: 'ok', nats: 'connected' };
  }

  /** Ready to serve: connected to NATS and the registry has answered once. */
  function ready(ctx: GatewayContext) {
    if (!registry.loaded) throw new MeshError('UNAVAILABLE', 'the gateway has not loaded the procedure registry yet');
    health(ctx);
    ctx.body = { status: 'ok', nats: 'connected', registry: 'loaded' };
  }

  function live(ctx: GatewayContext) {
    ctx.body = { status: 'ok' };
  }

  const metrics = options.metrics;
  /**
   * One counter increment and one histogram observation per call; the label is the procedure only when the
   * registry knows it (a Map hit), so client input never becomes a label value.
   */
  async function measured(ctx: GatewayContext, procedure: string) {
    const started = performance.now();
    let status = 500;
    try {
      await call(ctx, procedure);
      status = ctx.status;
    } catch (err) {
      status = err instanceof MeshError ? err.status : 500;
      throw err;
    } finally {
      const label = registry.get(procedure) ? procedure : UNKNOWN_PROCEDURE_LABEL;
      metrics!.gateway.request(label, status, (performance.now() - started) / 1000);
    }
  }

  const rateLimited = options.rateLimiter?.enabled === true;
  /**
   * A call, step by step: who calls and whether they may (before any lookup, so an unauthenticated caller learns
   * nothing of which procedures exist), their budget, the procedure, the body's type, then forward. A step that
   * needs nothing asynchronous (a known procedure, a cached token) costs no await.
   */
  async function call(ctx: GatewayContext, procedure: string) {
    if (auth) await authorize(ctx, procedure);
    if (rateLimited) await limitRate(ctx);
    const finding = findProcedure(procedure);
    if (finding) await finding;
    acceptContentType(ctx);
    await forward(ctx, procedure);
  }

  /** POST /<procedure>: the call, with its metrics when they are on. */
  function callProcedure(ctx: GatewayContext, procedure: string): Promise<void> {
    return metrics ? measured(ctx, procedure) : call(ctx, procedure);
  }

  async function serveMetrics(ctx: GatewayContext, render: () => Promise<string>) {
    const text = await render();
    ctx.type = METRICS_CONTENT_TYPE;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = text;
  }

  const discovery = createDiscovery(auth, options.discovery ?? true);
  /** Metrics with only the procedures the caller may see. */
  const visibleMetrics = (render: () => Promise<string>) => async (ctx: GatewayContext) => {
    const view = await discovery.view(ctx);
    return serveMetrics(ctx, async () => withVisibleProcedures(await render(), view.visible));
  };
  /** A discovery route: 404 while discovery is off. */
  const discoverable = (ctx: GatewayContext, next: Next) => {
    discovery.open(ctx);
    return next();
  };

  const router = new Router<GatewayState>();
  router.get('/health', health);
  router.get('/health/live', live);
  router.get('/health/ready', ready);
  if (metrics) {
    router.get('/metrics', visibleMetrics(metrics.gateway.render));
    router.get('/metrics/mesh', visibleMetrics(metrics.mesh));
  }
  const openApi = createOpenApi({ registry, authenticated: auth?.authenticator.configured === true });
  const browse = createBrowse({ registry, caller, maxNameBytes, refused: (ctx, error) => logRefusal(ctx as GatewayContext, error) });
  const jsonRpc = createJsonRpc({ caller, registry, maxNameBytes, timeoutMs, auth, rateLimiter: options.rateLimiter, maxBatch: options.jsonRpcMaxBatch ?? 100, readBody, crashed: reportCrash, refused: (ctx, error) => logRefusal(ctx as GatewayContext, error) });
  router.get('/openapi.json', discoverable, async (ctx) => {
    const view = await discovery.view(ctx);
    ctx.type = JSON_TYPE;
    ctx.body = openApi(view);
  });
  router.get('/docs', discoverable, docsPage);
  router.get('/docs/:file', discoverable, docsFile);
  router.get('/ping', browse.ping);
  router.get('/version', browse.version);
  router.get('/', discoverable, async (ctx) => browse.services(ctx, await discovery.view(ctx)));
  const { tasks } = options;
  if (tasks) router.get('/tasks/:id', (ctx) => taskStatus(ctx, tasks, ctx.params.id ?? ''));
  // A path without a dot is no procedure: it is left to the routes after this one.
  router.get('/:procedure', (ctx, next) => {
    if (!ctx.params.procedure?.includes('.')) return next();
    discovery.open(ctx);
    return browse.procedure(ctx, discovery.view(ctx));
  });
  router.post('/jsonrpc', checkContentType, jsonRpc);
  router.post('/:procedure', (ctx) => callProcedure(ctx, ctx.params.procedure ?? ''));

  const app = new Koa<GatewayState>();
  app.on('error', (err: Error & { status?: number; code?: string }) => {
    logger.warn({ code: err.code, status: err.status, reason: err.message }, 'http response error');
  });
  app.use(traceRequest);
  app.use(mapErrors);
  const trusted = new Set(options.corsOrigins);
  if (trusted.size > 0) {
    app.use(cors({ origin: (ctx) => (trusted.has('*') || trusted.has(ctx.get('Origin')) ? ctx.get('Origin') : '') }));
  }
  // A browser's request from another site changes nothing, whatever its type: only trusted origins may.
  app.use((ctx, next) => {
    const problem = SAFE_METHODS.has(ctx.method) ? undefined : crossOriginProblem(ctx.req.headers, trusted);
    if (problem) throw new MeshError('PERMISSION_DENIED', problem);
    return next();
  });
  // The call route, taken before the router matches its other routes; the router keeps it too, for Allow headers.
  app.use((ctx, next) => {
    const procedure = ctx.method === 'POST' ? procedureOf(ctx.path) : undefined;
    return procedure === undefined ? next() : callProcedure(ctx, procedure);
  });
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
