// The WAMP gateway's operational endpoints on its HTTP port: /health, /health/live, /health/ready, /metrics and
// /metrics/mesh (with only the procedures the caller may see). Answers those paths and says whether it did.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeshError, RateLimitedError, withErrorId, METRICS_CONTENT_TYPE, withVisibleProcedures, type GatewayMetrics } from '../mesh/gateway.ts';

export interface OpsSettings {
  /** True while the NATS connection is up. */
  connected(): boolean;
  /** True once the procedure registry has answered. */
  registryLoaded(): boolean;
  /** Undefined when metrics are off: then /metrics and /metrics/mesh are not found. */
  metrics?: { gateway: GatewayMetrics; mesh: () => Promise<string> };
  /**
   * The procedures the request's caller may see (its `Authorization: Bearer` credential, else anonymous): /metrics
   * leaves out the others' series. Rejects with the MeshError to answer (401, 429). Undefined: everything.
   */
  visibleTo?(req: IncomingMessage): Promise<(procedure: string) => boolean>;
}

function answerJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.end(JSON.stringify(body));
}

/** 200 with `ok`, or 503 with the error body, as gateway-http answers. */
function answerCheck(res: ServerResponse, problem: string | undefined, ok: Record<string, string>): void {
  if (problem) answerJson(res, 503, new MeshError('UNAVAILABLE', problem).toBody());
  else answerJson(res, 200, { status: 'ok', ...ok });
}

function answerMetrics(res: ServerResponse, render: () => Promise<string>, visible: Promise<(procedure: string) => boolean>): void {
  visible.then(
    (admits) =>
      render().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-cache' });
          res.end(withVisibleProcedures(text, admits));
        },
        () => answerJson(res, 503, new MeshError('UNAVAILABLE', 'the metrics could not be gathered').toBody()),
      ),
    (err: unknown) => {
      const error = err instanceof MeshError ? err : new MeshError('UNAUTHENTICATED', 'the credential cannot be verified');
      withErrorId(error);
      if (error instanceof RateLimitedError) res.setHeader('Retry-After', String(error.retryAfterS));
      answerJson(res, error.status, error.toBody());
    },
  );
}

const EVERYTHING = Promise.resolve(() => true);

/** The handler: true when it answered the request. */
export function createOpsHandler(settings: OpsSettings): (req: IncomingMessage, res: ServerResponse) => boolean {
  const notConnected = () => (settings.connected() ? undefined : 'the gateway is not connected to NATS');
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    switch (path) {
      case '/health':
        answerCheck(res, notConnected(), { nats: 'connected' });
        return true;
      case '/health/live':
        answerJson(res, 200, { status: 'ok' });
        return true;
      case '/health/ready': {
        const problem = settings.registryLoaded() ? notConnected() : 'the gateway has not loaded the procedure registry yet';
        answerCheck(res, problem, { nats: 'connected', registry: 'loaded' });
        return true;
      }
      case '/metrics':
      case '/metrics/mesh':
        if (!settings.metrics) return false;
        answerMetrics(res, path === '/metrics' ? settings.metrics.gateway.render : settings.metrics.mesh, settings.visibleTo?.(req) ?? EVERYTHING);
        return true;
      default:
        return false;
    }
  };
}
