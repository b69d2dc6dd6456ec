// The first step of the HTTP gateway's pipeline: the request's span, from the caller's `traceparent`, ended with the
// response's status. It traces; what the request does is the later steps'.
import type { Next } from 'koa';
import { MeshError, startHop, tracingOn } from '../mesh/gateway.ts';
import { headerOf, LOGGED_PATH_CHARS, type GatewayContext } from './context.ts';

/**
 * The request's span, from the caller's `traceparent` (a malformed one starts a fresh trace); the response
 * tells the caller its trace: `traceparent` (this span) and `Trace-Id`, unless tracing is off.
 */
export async function traceRequest(ctx: GatewayContext, next: Next) {
  const hop = startHop(`${ctx.method} ${ctx.path.slice(0, LOGGED_PATH_CHARS)}`, 'server', headerOf(ctx, 'traceparent') || undefined, headerOf(ctx, 'tracestate') || undefined);
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
