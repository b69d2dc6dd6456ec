// GET /metrics and /metrics/mesh: the Prometheus text of the gateway's metrics or the mesh's, showing only the
// procedures the caller may see. It serves the text; the metrics themselves are mesh/edge/metrics.ts's.
import { METRICS_CONTENT_TYPE, withVisibleProcedures } from '../mesh/gateway.ts';
import type { Discovery } from './discovery.ts';
import type { GatewayContext } from './context.ts';

/** A route that renders metrics with only the procedures the caller may see. */
export function metricsRoute(render: () => Promise<string>, discovery: Discovery) {
  return async (ctx: GatewayContext) => {
    const view = await discovery.view(ctx);
    const text = withVisibleProcedures(await render(), view.visible);
    ctx.type = METRICS_CONTENT_TYPE;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = text;
  };
}
