// What the discovery routes (/openapi.json, /docs, GET /, GET /<procedure>, /metrics) show a caller: only the procedures
// its policy lets it call, and nothing at all when http.discovery is off. It decides what is seen; the routes render it.
import type { Context } from 'koa';
import { MeshError, quoteName, type GatewayAuth, type Identity } from '../mesh/gateway.ts';
import { callerOf } from './credentials.ts';

/** What one caller may see. */
export interface View {
  /** Whether the caller may see (because it may call) the procedure. */
  visible(procedure: string): boolean;
  /** The same for every caller who sees the same: its sorted roles, or `*` when everything is visible. */
  readonly key: string;
}

const EVERYTHING: View = Object.freeze({ visible: () => true, key: '*' });

export interface Discovery {
  /** The caller's view: the anonymous identity's without a credential; a bad credential is 401, as on a call. */
  view(ctx: Context): View | Promise<View>;
  /** Refuses a discovery route when discovery is off: 404, as if it did not exist. */
  open(ctx: Context): void;
}

export function createDiscovery(auth: GatewayAuth | undefined, enabled: boolean): Discovery {
  const policy = auth?.policy;
  return {
    view(ctx) {
      if (!auth || !policy?.configured) return EVERYTHING;
      const toView = (identity: Identity): View => ({
        visible: (procedure) => policy.allows(identity, 'call', procedure),
        key: [...identity.roles].sort().join(','),
      });
      const identity = callerOf(ctx, auth);
      return identity instanceof Promise ? identity.then(toView) : toView(identity);
    },
    open(ctx) {
      if (!enabled) throw new MeshError('NOT_FOUND', `no route ${ctx.method} ${quoteName(ctx.path)}: discovery is off (http.discovery)`);
    },
  };
}
