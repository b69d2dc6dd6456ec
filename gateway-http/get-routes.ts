// The GET routes procedures declare (`http_get` in their `$SRV.INFO` endpoint metadata), as a table built from the
// registry: malformed and conflicting routes are left out with one log line each, and a path finds its procedure.
// It finds the route; the call goes through the same steps as a POST (call.ts), its arguments from route-arguments.ts.
import { HTTP_GET_METADATA, matchRoute, parseRoute, parseSchema, type Logger, type ProcedureRegistry, type RoutePattern } from '../mesh/gateway.ts';
import { valueKinds, type ValueKind } from './route-arguments.ts';

export interface GetRoute {
  /** The procedure it calls, `<service>.<method>`. */
  readonly procedure: string;
  readonly pattern: RoutePattern;
  /** What each keyword argument's text becomes, by the type its params schema gives it; the rest stay text. */
  readonly kinds: ReadonlyMap<string, ValueKind>;
}

export interface RouteMatch {
  readonly route: GetRoute;
  /** The path parameters' values, still percent-encoded. */
  readonly params: Readonly<Record<string, string>>;
}

export interface GetRoutes {
  /** The route a path names, the most specific one when several match (a fixed segment before a :parameter). */
  match(path: string): RouteMatch | undefined;
  /** Every route served, sorted by pattern. */
  list(): readonly GetRoute[];
}

/** Fixed segments sort before parameters at the first place two patterns differ, so the more specific one is tried first. */
function specificity(pattern: RoutePattern): string {
  return pattern.segments.map((s) => ('param' in s ? '\u0001' : `\u0000${s.literal}`)).join('\u0002');
}

/** Refusals remembered as logged; a route's text in a key is cut short, as in its log line. */
const MAX_LOGGED_REFUSALS = 1000;
const LOGGED_ROUTE_CHARS = 300;

export function createGetRoutes(registry: ProcedureRegistry, logger: Logger): GetRoutes {
  let generation = -1;
  let routes: GetRoute[] = [];
  /** The routes by their number of segments, most specific first. */
  let bySegments = new Map<number, GetRoute[]>();
  /** Refusals already logged: a route refused for a reason is logged once, not on every rebuild. */
  const logged = new Set<string>();

  function refuse(key: string, fields: Record<string, unknown>, message: string) {
    if (logged.has(key)) return;
    // A service that announces ever new bad routes cannot grow it without bound: past the cap they are logged again.
    if (logged.size >= MAX_LOGGED_REFUSALS) logged.clear();
    logged.add(key);
    logger.warn(fields, message);
  }

  /** The table from the registry's procedures; a shape two procedures declare is served by neither. */
  function build() {
    const byShape = new Map<string, GetRoute[]>();
    for (const endpoint of registry.list()) {
      const seen = new Set<string>();
      for (const { metadata } of endpoint.instances) {
        const text = metadata[HTTP_GET_METADATA];
        if (text === undefined || seen.has(text)) continue;
        seen.add(text);
        const pattern = parseRoute(text);
        if (typeof pattern === 'string') {
          const shown = text.slice(0, LOGGED_ROUTE_CHARS);
          refuse(`malformed ${endpoint.subject} ${shown}`, { procedure: endpoint.subject, route: shown, reason: pattern }, 'GET route refused: malformed');
          continue;
        }
        const params = parseSchema(metadata.params_schema);
        const route: GetRoute = { procedure: endpoint.subject, pattern, kinds: valueKinds(params && 'schema' in params ? params.schema : undefined) };
        const same = byShape.get(pattern.shape);
        if (same) same.push(route);
        else byShape.set(pattern.shape, [route]);
      }
    }
    const served: GetRoute[] = [];
    for (const [shape, declared] of byShape) {
      const procedures = [...new Set(declared.map((r) => r.procedure))].sort();
      if (procedures.length > 1) {
        refuse(`conflict ${shape} ${procedures.join(' ')}`, { route: shape, procedures }, 'GET route refused: declared by more than one procedure, served by none');
        continue;
      }
      served.push(...declared);
    }
    routes = served.sort((a, b) => (a.pattern.text < b.pattern.text ? -1 : a.pattern.text > b.pattern.text ? 1 : 0));
    bySegments = new Map();
    const order = (route: GetRoute) => `${specificity(route.pattern)}\u0003${route.pattern.text}`;
    for (const route of [...served].sort((a, b) => (order(a) < order(b) ? -1 : 1))) {
      const count = route.pattern.segments.length;
      const list = bySegments.get(count);
      if (list) list.push(route);
      else bySegments.set(count, [route]);
    }
  }

  /** Rebuilt only when the registry's procedures or instances changed. */
  function current() {
    if (generation !== registry.generation) {
      generation = registry.generation;
      build();
    }
  }

  current();
  return {
    match(path) {
      current();
      if (bySegments.size === 0) return undefined;
      // A route's first segment is fixed text without a dot: a procedure's path (`/greeting_service.hello`) is no route.
      const dot = path.indexOf('.');
      if (dot >= 0) {
        const slash = path.indexOf('/', 1);
        if (slash < 0 || dot < slash) return undefined;
      }
      // A trailing slash is allowed, as the gateway's own routes allow it.
      const segments = (path.endsWith('/') ? path.slice(1, -1) : path.slice(1)).split('/');
      for (const route of bySegments.get(segments.length) ?? []) {
        const params = matchRoute(route.pattern, segments);
        if (params) return { route, params };
      }
      return undefined;
    },
    list() {
      current();
      return routes;
    },
  };
}
