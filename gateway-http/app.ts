// The HTTP gateway as a Koa app: POST /<service>.<method> becomes a NATS request, the reply comes back as is.
// A pipeline read top to bottom: trace, map errors, cross-origin rules, declared GET routes, the call route, the other routes.
import Router from '@koa/router';
import Koa from 'koa';
import { MeshError, type Caller, type Logger, type ProcedureRegistry, type Reports, type GatewayAuth, type RateLimiter, type RefusalLog, type GatewayMetrics } from '../mesh/gateway.ts';
import { procedureOf, type GatewayContext, type GatewayState } from './context.ts';
import { traceRequest } from './trace-request.ts';
import { createErrorAnswers } from './errors.ts';
import { crossOriginRules } from './cross-origin.ts';
import { checkContentType, createBodyReader } from './body.ts';
import { createForward } from './forward.ts';
import { createCallProcedure } from './call.ts';
import { createHealthRoutes } from './health.ts';
import { metricsRoute } from './metrics-route.ts';
import { createDiscovery } from './discovery.ts';
import { addDiscoveryRoutes } from './discovery-routes.ts';
import { createJsonRpc } from './jsonrpc.ts';
import { createTaskForward, createTaskQueuesRoute, taskIdRoute } from './tasks.ts';
import { createGetRoutes } from './get-routes.ts';
import { createGetRouteStep } from './get-route-step.ts';

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
}

export function createHttpApp(options: HttpGatewayOptions): Koa {
  const { caller, logger, timeoutMs, registry, maxNameBytes, auth, refusals, metrics } = options;
  const errors = createErrorAnswers({ logger, registry, refusals, reports: options.reports });
  const readBody = createBodyReader({ bodyLimit: options.bodyLimit, maxPayload: options.maxPayload, logger, refusals });
  const forward = createForward({ caller, registry, logger, timeoutMs, auth, readBody });
  const callProcedure = createCallProcedure({ caller, registry, maxNameBytes, auth, rateLimiter: options.rateLimiter, metrics: metrics?.gateway, forward });
  // A task's status and a retry go through the same checks as a call of its procedure, and are not counted as one.
  const taskAsk = (ask: 'status' | 'retry') =>
    createCallProcedure({ caller, registry, maxNameBytes, auth, rateLimiter: options.rateLimiter, forward: createTaskForward({ caller, auth, timeoutMs, ask }) });
  const discovery = createDiscovery(auth, options.discovery ?? true);
  const getRoutes = createGetRoutes(registry, logger);
  const health = createHealthRoutes(caller, registry);
  const jsonRpc = createJsonRpc({
    caller,
    registry,
    maxNameBytes,
    timeoutMs,
    auth,
    rateLimiter: options.rateLimiter,
    metrics: metrics?.gateway,
    maxBatch: options.jsonRpcMaxBatch ?? 100,
    readBody,
    crashed: errors.reportCrash,
    refused: (ctx, error) => errors.logRefusal(ctx as GatewayContext, error),
  });

  const router = new Router<GatewayState>();
  router.get('/health', health.health);
  router.get('/health/live', health.live);
  router.get('/health/ready', health.ready);
  if (metrics) {
    router.get('/metrics', metricsRoute(metrics.gateway.render, discovery));
    router.get('/metrics/mesh', metricsRoute(metrics.mesh, discovery));
  }
  router.get('/tasks', createTaskQueuesRoute({ caller, registry, auth, rateLimiter: options.rateLimiter, timeoutMs }));
  router.get('/tasks/:id', taskIdRoute(taskAsk('status')));
  router.post('/tasks/:id/retry', taskIdRoute(taskAsk('retry')));
  addDiscoveryRoutes(router, { discovery, registry, getRoutes, caller, maxNameBytes, auth, refused: errors.logRefusal });
  router.post('/jsonrpc', checkContentType, jsonRpc);
  router.post('/:procedure', (ctx) => callProcedure(ctx, ctx.params.procedure ?? ''));

  const app = new Koa<GatewayState>();
  app.on('error', (err: Error & { status?: number; code?: string }) => {
    logger.warn({ code: err.code, status: err.status, reason: err.message }, 'http response error');
  });
  app.use(traceRequest);
  app.use(errors.mapErrors);
  for (const step of crossOriginRules(options.corsOrigins)) app.use(step);
  // The GET routes procedures declare; a POST naming a procedure passes on to the call route.
  app.use(createGetRouteStep({ routes: getRoutes, registry, corsOrigins: options.corsOrigins, callProcedure }));
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
