// POST /<procedure>, step by step: who calls and whether they may, their budget, the procedure, the body's type,
// then forward.ts; counted in the metrics when they are on. It decides whether a call goes out, not how.
import {
  MeshError,
  nameProblem,
  quoteName,
  type Caller,
  type ProcedureRegistry,
  type GatewayAuth,
  type Identity,
  type RateLimiter,
  UNKNOWN_PROCEDURE_LABEL,
  type GatewayMetrics,
} from '../mesh/gateway.ts';
import { addressOf, credentialOf } from './credentials.ts';
import { acceptContentType } from './body.ts';
import type { Forward } from './forward.ts';
import type { GatewayContext } from './context.ts';

export interface CallOptions {
  caller: Caller;
  registry: ProcedureRegistry;
  /** Longest procedure name, in bytes: the registry's own maxNameBytes. */
  maxNameBytes: number;
  auth?: GatewayAuth;
  /** Budgets per caller; none, or one not enabled, adds no step. */
  rateLimiter?: RateLimiter;
  metrics?: GatewayMetrics;
  forward: Forward;
}

export type CallProcedure = (ctx: GatewayContext, procedure: string) => Promise<void>;

export function createCallProcedure({ caller, registry, maxNameBytes, auth, rateLimiter, metrics, forward }: CallOptions): CallProcedure {
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
    const refused = await rateLimiter!.take({ address: addressOf(ctx), identity: ctx.state.identity });
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
    const identity = auth!.identify(presented.credential, addressOf(ctx), presented.apiKeyOnly);
    if (identity instanceof Promise) return identity.then((known) => admit(ctx, procedure, known));
    admit(ctx, procedure, identity);
    return undefined;
  }

  /** Lets an identified caller call the procedure if the policy allows it. */
  function admit(ctx: GatewayContext, procedure: string, identity: Identity): void {
    if (!auth!.policy.allows(identity, 'call', procedure)) {
      throw new MeshError('PERMISSION_DENIED', `${quoteName(identity.id)} may not call ${quoteName(procedure)}`);
    }
    ctx.state.identity = identity;
  }

  const rateLimited = rateLimiter?.enabled === true;
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
      metrics!.request(label, status, (performance.now() - started) / 1000);
    }
  }

  return metrics ? measured : call;
}
