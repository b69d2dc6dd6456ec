// What every step of the HTTP gateway's pipeline sees of a request: its state (codec, identity, span), the procedure
// its path names, and a logger carrying its ids. It holds no behaviour of its own; the steps are in their modules.
import type { Context } from 'koa';
import type { Codec, Hop, Logger, Identity } from '../mesh/gateway.ts';
import type { RouteMatch } from './get-routes.ts';

export interface GatewayState {
  codec: Codec;
  identity?: Identity;
  /** The span of this HTTP request: a child of the caller's `traceparent`, or a fresh trace. */
  hop: Hop;
  /** The task id a `GET /tasks/<id>` asks about. */
  taskId?: string;
  /** The declared GET route the request takes: its arguments come from the path and the query string, not a body. */
  route?: RouteMatch;
}

export type GatewayContext = Context & { state: GatewayState };

const SLASH = 0x2f;

/** How much of a path a log line shows. */
export const LOGGED_PATH_CHARS = 300;

/**
 * The procedure a POST path names, percent-decoded (text that does not decode stays as sent), or undefined: a path of
 * one segment (a trailing slash allowed, as the router allows it), other than the JSON-RPC route's. Cut with
 * indexOf rather than matched with a regular expression, which allocates its match on every request.
 */
export function procedureOf(path: string): string | undefined {
  if (path.charCodeAt(0) !== SLASH) return undefined;
  const end = path.charCodeAt(path.length - 1) === SLASH ? path.length - 1 : path.length;
  const slash = path.indexOf('/', 1);
  if (end <= 1 || (slash !== -1 && slash < end)) return undefined;
  const segment = path.slice(1, end);
  if (segment === 'jsonrpc') return undefined;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A request header as ctx.get reads it ('' when absent), by its name in lower case: ctx.get lowercases the name on
 * every call. Node joins a repeated header into one string (only Set-Cookie, which no step reads, is a list).
 */
export function headerOf(ctx: Context, lowerCaseName: string): string {
  const value = ctx.req.headers[lowerCaseName];
  return typeof value === 'string' ? value : '';
}

/** A child logger whose lines carry the request's trace id and request id (its span id). */
export function requestLogger(logger: Logger, ctx: GatewayContext): Logger {
  return logger.child({ trace_id: ctx.state.hop.traceId, request_id: ctx.state.hop.spanId });
}
