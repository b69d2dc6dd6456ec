// The step that serves declared GET routes: a GET or HEAD whose path a route matches is a call of its procedure
// through the same steps as a POST, refused across sites as a POST is; another method on that path is 405 with Allow.
import type { Next } from 'koa';
import { MeshError, quoteName, type ProcedureRegistry } from '../mesh/gateway.ts';
import { procedureOf, type GatewayContext } from './context.ts';
import { refuseCrossSite } from './cross-origin.ts';
import type { CallProcedure } from './call.ts';
import type { GetRoutes } from './get-routes.ts';

const ALLOW = 'GET, HEAD, OPTIONS';

export interface GetRouteStepOptions {
  routes: GetRoutes;
  registry: ProcedureRegistry;
  /** Origins whose browsers may call across sites (http.corsOrigins). */
  corsOrigins: readonly string[];
  callProcedure: CallProcedure;
}

export function createGetRouteStep({ routes, registry, corsOrigins, callProcedure }: GetRouteStepOptions) {
  const trusted = new Set(corsOrigins);
  return function getRouteStep(ctx: GatewayContext, next: Next) {
    const match = routes.match(ctx.path);
    if (!match) return next();
    const { method } = ctx;
    if (method === 'GET' || method === 'HEAD') {
      refuseCrossSite(ctx, trusted);
      ctx.state.route = match;
      return callProcedure(ctx, match.route.procedure);
    }
    // A POST naming a procedure is a call, whatever route looks like its path.
    if (method === 'POST' && registry.get(procedureOf(ctx.path) ?? '')) return next();
    ctx.set('Allow', ALLOW);
    if (method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new MeshError('METHOD_NOT_ALLOWED', `${quoteName(ctx.path)} is a GET route (${match.route.pattern.text}): use GET`);
  };
}
