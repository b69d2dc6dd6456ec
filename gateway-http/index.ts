// The HTTP gateway process: connects to NATS, learns the procedures, serves the Koa app on http.host:http.port,
// drains on stop. Run it with `mesh gateway gateway-http`; tests start it on port 0 through the same `start`.
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import {
  connectNats,
  createCaller,
  createReports,
  reportSettings,
  type ProcessContext,
  type Running,
  warnIfOpen,
  createRateLimiter,
  createGatewayAuth,
  createRegistry,
  createGatewayMetrics,
  createRefusalLog,
  scrapeMesh,
  createStatsGatherer,
  STATS_REUSE_MS,
} from '../mesh/gateway.ts';
import { createHttpApp } from './app.ts';
import { createGatewayServer } from './server.ts';
import { httpSettings } from './config.ts';
import type { NatsConnection } from '@nats-io/transport-node';

/** Its section of the configuration, which `mesh gateway --port/--host` set. */
export { httpSettings as settings };

export interface RunningHttpGateway extends Running {
  readonly url: string;
  /** The gateway's NATS connection. */
  readonly nats: NatsConnection;
}

/** Connections the kernel queues before the gateway accepts them (Linux caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

/** What nats-server announces when it does not say: its own default max_payload. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export async function start({ config, logger }: ProcessContext): Promise<RunningHttpGateway> {
  const http = httpSettings.of(config);
  const { namespace } = config.nats;
  const auth = createGatewayAuth(config.auth);
  const reporting = await reportSettings(config.reports);
  const nc = await connectNats(config.nats, 'gateway-http', logger);
  const registry = createRegistry(nc, { logger, refreshMs: config.rpc.registryRefreshMs, maxNameBytes: http.maxNameBytes, namespace });
  await registry.refresh();
  // Requests to procedures whose instances send heartbeats fail fast when the instance that took them dies.
  const caller = createCaller(nc, { logger, timeoutMs: config.rpc.timeoutMs, namespace, known: (subject) => registry.get(subject), coalesce: true });
  const gatewayMetrics = config.metrics.enabled ? createGatewayMetrics('http') : undefined;
  const gather = createStatsGatherer(nc, { logger, waitMs: config.metrics.meshWaitMs, reuseMs: STATS_REUSE_MS, maxNameBytes: http.maxNameBytes, namespace });
  const rateLimiter = createRateLimiter(config.rateLimit);
  const reports = createReports(nc, logger, reporting, namespace);
  const refusals = createRefusalLog({ logger, perSecond: config.log.refusalsPerSecond, counted: gatewayMetrics && ((code) => gatewayMetrics.refusal(code)) });
  const app = createHttpApp({
    caller,
    logger,
    registry,
    bodyLimit: http.bodyLimit,
    timeoutMs: config.rpc.timeoutMs,
    corsOrigins: http.corsOrigins,
    maxNameBytes: http.maxNameBytes,
    maxPayload: () => nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
    rateLimiter: gatewayMetrics ? gatewayMetrics.countRefusals(rateLimiter) : rateLimiter,
    auth,
    jsonRpcMaxBatch: http.jsonRpcMaxBatch,
    discovery: http.discovery,
    metrics: gatewayMetrics && {
      gateway: gatewayMetrics,
      mesh: () => scrapeMesh(gather),
    },
    reports,
    refusals,
  });
  const server = createGatewayServer(app.callback(), http, logger, refusals);
  if (gatewayMetrics) {
    let open = 0;
    server.on('connection', (socket: Socket) => {
      open++;
      socket.once('close', () => open--);
    });
    gatewayMetrics.gauge('mesh_gateway_open_connections', 'HTTP connections open now.', () => open);
    gatewayMetrics.watchNats(nc);
  }
  // A burst of new connections (a thousand clients at once) must not overflow Node's default backlog of 511.
  server.listen({ port: http.port, host: http.host, backlog: LISTEN_BACKLOG });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = http.host === '0.0.0.0' ? '127.0.0.1' : http.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, 'http gateway listening');
  warnIfOpen('gateway-http', http.host, auth?.authenticator.configured === true, logger);
  return {
    url,
    nats: nc,
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      await closed;
      refusals.close();
      registry.close();
      caller.close();
      await nc.drain();
    },
  };
}
