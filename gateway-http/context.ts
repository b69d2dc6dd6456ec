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

/** How much of a path a log line shows. */
export const LOGGED_PATH_CHARS = 300;

/** A path of one segment (a trailing slash allowed, as the router allows it), other than the JSON-RPC route's. */
const ONE_SEGMENT = /^\/([^/]+)\/?$/;

/** The procedure a POST path names, percent-decoded (text that does not decode stays as sent), or undefined. */
export function procedureOf(path: string): string | undefined {
  const segment = ONE_SEGMENT.exec(path)?.[1];
  if (segment === undefined || segment === 'jsonrpc') return undefined;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A child logger whose lines carry the request's trace id and request id (its span id). */
export function requestLogger(logger: Logger, ctx: GatewayContext): Logger {
  return logger.child({ trace_id: ctx.state.hop.traceId, request_id: ctx.state.hop.spanId });
}
