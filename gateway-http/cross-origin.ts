// The cross-origin rules of the HTTP gateway: CORS answers for trusted origins, and a refusal of any request from
// another site that could change something. It decides where a browser may call from; not who may call.
import cors from '@koa/cors';
import type { Context, Middleware } from 'koa';
import { MeshError, crossOriginProblem } from '../mesh/gateway.ts';

/** Methods that change nothing: the cross-origin rule lets them through, as Go's CrossOriginProtection does. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The steps, in order: CORS (only when some origin is trusted), then the cross-origin rule. `*` trusts every origin. */
export function crossOriginRules(corsOrigins: readonly string[]): Middleware[] {
  const trusted = new Set(corsOrigins);
  const steps: Middleware[] = [];
  if (trusted.size > 0) {
    steps.push(cors({ origin: (ctx) => (trusted.has('*') || trusted.has(ctx.get('Origin')) ? ctx.get('Origin') : '') }));
  }
  // A browser's request from another site changes nothing, whatever its type: only trusted origins may.
  steps.push((ctx, next) => {
    if (!SAFE_METHODS.has(ctx.method)) refuseCrossSite(ctx, trusted);
    return next();
  });
  return steps;
}

/**
 * Refuses a browser's request from another site whose Origin is not trusted: every POST, and a GET that calls a
 * procedure (a declared GET route), since the gateway cannot know that a procedure only reads.
 */
export function refuseCrossSite(ctx: Context, trusted: ReadonlySet<string>): void {
  const problem = crossOriginProblem(ctx.req.headers, trusted);
  if (problem) throw new MeshError('PERMISSION_DENIED', problem);
}
