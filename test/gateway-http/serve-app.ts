// The HTTP gateway's Koa app served on a free loopback port over a given NATS connection, for tests that hand it
// options `start` builds from the configuration (a logger to read, an auth to break, reports to follow).
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { createHttpApp, type HttpGatewayOptions } from '../../gateway-http/app.ts';
import { httpSettings } from '../../gateway-http/config.ts';
import { createGatewayServer } from '../../gateway-http/server.ts';
import { createCaller, createRegistry } from '../../mesh/gateway.ts';
import { createRefusalLog } from '../../mesh/edge/refusal-log.ts';
import { silentLogger, testConfig } from '../helpers.ts';

export interface ServedApp {
  url: string;
  stop(): Promise<void>;
}

export async function serveHttpApp(nc: NatsConnection, options: Partial<Pick<HttpGatewayOptions, 'logger' | 'reports' | 'auth' | 'refusals'>> = {}): Promise<ServedApp> {
  const http = httpSettings.of(testConfig());
  const refusals = options.refusals ?? createRefusalLog({ logger: options.logger ?? silentLogger, perSecond: 10 });
  const caller = createCaller(nc, { timeoutMs: 2000 });
  const registry = createRegistry(nc, { logger: silentLogger, maxNameBytes: http.maxNameBytes });
  await registry.refresh();
  const app = createHttpApp({
    logger: silentLogger,
    ...options,
    caller,
    registry,
    bodyLimit: http.bodyLimit,
    timeoutMs: 2000,
    corsOrigins: [],
    maxNameBytes: http.maxNameBytes,
    maxPayload: () => nc.info!.max_payload,
    refusals,
  });
  const server = createGatewayServer(app.callback(), http, silentLogger, refusals);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      refusals.close();
      registry.close();
      caller.close();
    },
  };
}
