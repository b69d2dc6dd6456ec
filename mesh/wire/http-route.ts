// A procedure's declared HTTP GET route (`@rpc({ http: { get: '/things/:uuid' } })`): the grammar of its pattern,
// the `http_get` endpoint metadata that carries it, and matching a path against it. Which routes a gateway serves is the gateway's.

/** The endpoint metadata key (`$SRV.INFO`) holding a procedure's GET route pattern, e.g. `/things/:uuid`. */
export const HTTP_GET_METADATA = 'http_get';

/** First path segments the HTTP gateway keeps for its own routes: a declared route may not start with one. */
export const RESERVED_ROUTE_SEGMENTS: ReadonlySet<string> = new Set(['docs', 'health', 'jsonrpc', 'metrics', 'openapi.json', 'ping', 'tasks', 'version']);

/** Longest pattern, in characters, and most segments: a route names a resource, it does not carry data. */
const MAX_ROUTE_CHARS = 256;
const MAX_ROUTE_SEGMENTS = 16;

/** A fixed segment: letters, digits, `_`, `-` and `~`; no dot, so a route never looks like a procedure's path. */
const LITERAL = /^[A-Za-z0-9_~-]+$/;
/** A parameter segment: `:` and a keyword argument's name. */
const PARAMETER = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

export type RouteSegment = { readonly literal: string } | { readonly param: string };

export interface RoutePattern {
  /** The pattern as declared: `/things/:uuid`. */
  readonly text: string;
  readonly segments: readonly RouteSegment[];
  /** The parameters' names, in order. */
  readonly params: readonly string[];
  /** What two patterns share when they match the same paths: `/things/:`. */
  readonly shape: string;
}

/** The pattern, or why it is not one: `/` then segments, each fixed text or `:name`, the first fixed and not the gateway's. */
export function parseRoute(text: unknown): RoutePattern | string {
  if (typeof text !== 'string') return 'must be a string such as /things/:uuid';
  if (text.length > MAX_ROUTE_CHARS) return `must be at most ${MAX_ROUTE_CHARS} characters`;
  if (!text.startsWith('/') || text === '/') return 'must start with / and name at least one segment, such as /things/:uuid';
  const parts = text.slice(1).split('/');
  if (parts.length > MAX_ROUTE_SEGMENTS) return `must have at most ${MAX_ROUTE_SEGMENTS} segments`;
  const segments: RouteSegment[] = [];
  const params: string[] = [];
  for (const part of parts) {
    const param = PARAMETER.exec(part)?.[1];
    if (param !== undefined) {
      if (params.includes(param)) return `names the parameter :${param} twice`;
      params.push(param);
      segments.push({ param });
    } else if (LITERAL.test(part)) {
      segments.push({ literal: part });
    } else {
      return `has a segment ${JSON.stringify(part.slice(0, 40))} that is neither fixed text (letters, digits, _, - and ~) nor a :parameter`;
    }
  }
  const first = segments[0]!;
  if ('param' in first) return 'must start with a fixed segment, not a :parameter';
  if (RESERVED_ROUTE_SEGMENTS.has(first.literal)) return `must not start with /${first.literal}, which the HTTP gateway serves itself`;
  const shape = `/${segments.map((s) => ('param' in s ? ':' : s.literal)).join('/')}`;
  return { text, segments, params, shape };
}

/** The raw (still percent-encoded) values of the pattern's parameters in a path's segments, or undefined when it does not match. */
export function matchRoute(pattern: RoutePattern, segments: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== pattern.segments.length) return undefined;
  // No prototype: a parameter named `__proto__` is a name like any other.
  const values = Object.create(null) as Record<string, string>;
  for (let i = 0; i < segments.length; i++) {
    const segment = pattern.segments[i]!;
    const value = segments[i]!;
    if ('param' in segment) {
      if (value === '') return undefined;
      values[segment.param] = value;
    } else if (value !== segment.literal) {
      return undefined;
    }
  }
  return values;
}
