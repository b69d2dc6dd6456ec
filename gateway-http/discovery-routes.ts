// The routes that show the mesh to people and tools: /openapi.json, /docs, GET / and GET /<procedure> (each 404
// while discovery is off), and /ping, /version. They show what discovery.ts lets a caller see; calls are POSTs.
import type Router from '@koa/router';
import type { Next } from 'koa';
import { JSON_TYPE, type Caller, type MeshError, type ProcedureRegistry, type GatewayAuth } from '../mesh/gateway.ts';
import { createOpenApi } from './openapi.ts';
import { docsFile, docsPage } from './docs.ts';
import { createBrowse } from './browse.ts';
import type { Discovery } from './discovery.ts';
import type { GetRoutes } from './get-routes.ts';
import type { GatewayContext, GatewayState } from './context.ts';

export interface DiscoveryRouteOptions {
  discovery: Discovery;
  registry: ProcedureRegistry;
  /** The declared GET routes, shown as GET operations. */
  getRoutes: GetRoutes;
  caller: Caller;
  maxNameBytes: number;
  auth?: GatewayAuth;
  /** Logs an error a page shows, under its id. */
  refused(ctx: GatewayContext, error: MeshError): void;
}

export function addDiscoveryRoutes(router: Router<GatewayState>, { discovery, registry, getRoutes, caller, maxNameBytes, auth, refused }: DiscoveryRouteOptions) {
  const openApi = createOpenApi({ registry, getRoutes, authenticated: auth?.authenticator.configured === true });
  const browse = createBrowse({ registry, getRoutes, caller, maxNameBytes, refused: (ctx, error) => refused(ctx as GatewayContext, error) });
  /** A discovery route: 404 while discovery is off. */
  const discoverable = (ctx: GatewayContext, next: Next) => {
    discovery.open(ctx);
    return next();
  };
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
  // A path without a dot is no procedure: it is left to the routes after this one.
  router.get('/:procedure', (ctx, next) => {
    if (!ctx.params.procedure?.includes('.')) return next();
    discovery.open(ctx);
    return browse.procedure(ctx, discovery.view(ctx));
  });
}
