// GET /health, /health/live and /health/ready: whether the gateway is up, connected to NATS, and has its procedure
// registry. They report state; they change nothing and need no credential.
import { MeshError, type Caller, type ProcedureRegistry } from '../mesh/gateway.ts';
import type { GatewayContext } from './context.ts';

export interface HealthRoutes {
  /** Connected to NATS. */
  health(ctx: GatewayContext): void;
  /** The process answers at all. */
  live(ctx: GatewayContext): void;
  /** Ready to serve: connected to NATS and the registry has answered once. */
  ready(ctx: GatewayContext): void;
}

export function createHealthRoutes(caller: Caller, registry: ProcedureRegistry): HealthRoutes {
  function health(ctx: GatewayContext) {
    if (!caller.connected) throw new MeshError('UNAVAILABLE', 'the gateway is not connected to NATS');
    ctx.body = { status: 'ok', nats: 'connected' };
  }
  return {
    health,
    live(ctx) {
      ctx.body = { status: 'ok' };
    },
    ready(ctx) {
      if (!registry.loaded) throw new MeshError('UNAVAILABLE', 'the gateway has not loaded the procedure registry yet');
      health(ctx);
      ctx.body = { status: 'ok', nats: 'connected', registry: 'loaded' };
    },
  };
}
