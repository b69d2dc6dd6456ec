// The HTTP gateway process: connects to NATS, serves the Koa app on http.host:http.port, drains on stop.
// Run it with `mesh gateway http`; tests start it on port 0 through the same `start`.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connectNats, createCaller, type ProcessContext, type Running } from '../mesh/index.ts';
import { createHttpApp } from './app.ts';

export interface RunningHttpGateway extends Running {
  readonly url: string;
}

export async function start({ config, logger }: ProcessContext): Promise<RunningHttpGateway> {
  const nc = await connectNats(config.nats, 'gateway-http');
  const caller = createCaller(nc, { timeoutMs: config.rpc.timeoutMs });
  const app = createHttpApp({
    caller,
    logger,
    bodyLimit: config.http.bodyLimit,
    timeoutMs: config.rpc.timeoutMs,
    corsOrigins: config.http.corsOrigins,
  });
  const server = app.listen(config.http.port, config.http.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, 'http gateway listening');
  return {
    url,
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      await closed;
      caller.close();
      await nc.drain();
    },
  };
}
