// The WAMP gateway process: a WAMP v2 router whose topics and procedures are NATS subjects, and the frontend
// page, on one port. Run it with `mesh gateway wamp`; tests start it on port 0 through the same `start`.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from 'nats';
import { connectNats, createCaller, MESH_QUEUE, MeshError, type ProcessContext, type Running } from '../mesh/gateway.ts';
import { warnIfOpen } from '../mesh/exposure.ts';
import { createRateLimiter } from '../mesh/rate-limit.ts';
import { createGatewayAuth } from '../mesh/auth/index.ts';
import { createRegistry } from '../mesh/gateway.ts';
import { advertise } from './advertise.ts';
import { Broker } from './broker.ts';
import { Dealer } from './dealer.ts';
import { Guard } from './guard.ts';
import { MetaProcedures } from './meta.ts';
import { Router } from './router.ts';
import { createPageHandler } from './static.ts';

export interface RunningWampGateway extends Running {
  /** The page, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** The WAMP endpoint, e.g. ws://127.0.0.1:8080/ws */
  readonly wsUrl: string;
  readonly router: Router;
  /** The gateway's NATS connection. */
  readonly nats: NatsConnection;
  /** This process's instance id in the micro services protocol ($SRV.INFO.wamp_gateway.<id>). */
  readonly serviceId: string;
}

/** GET /health, as gateway-http answers it: 200 while the NATS connection is up, 503 with the error body otherwise. */
function answerHealth(res: ServerResponse, connected: boolean): void {
  const body = connected
    ? { status: 'ok', nats: 'connected' }
    : new MeshError('UNAVAILABLE', 'the gateway is not connected to NATS').toBody();
  res.writeHead(connected ? 200 : 503, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.end(JSON.stringify(body));
}

/** Connections the kernel queues before the gateway accepts them: room for thousands of tabs reconnecting at once. */
const LISTEN_BACKLOG = 4096;

/** NATS's own default, for a server that does not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** The version the gateway announces in $SRV replies. */
const SERVICE_VERSION = '0.1.0';

export async function start({ config, logger }: ProcessContext): Promise<RunningWampGateway> {
  const { wamp } = config;
  const nc = await connectNats(config.nats, 'gateway-wamp');
  const registry = createRegistry(nc, { logger, refreshMs: config.rpc.registryRefreshMs, maxNameBytes: wamp.maxNameBytes });
  // The rules on procedure subjects hold from the first session: the gateway listens once the registry has answered.
  await registry.refresh();
  // Calls to procedures whose instances send heartbeats fail fast when the instance that took them dies.
  const caller = createCaller(nc, { timeoutMs: config.rpc.timeoutMs, known: (subject) => registry.get(subject) });
  const broker = new Broker(nc, randomBytes(8).toString('hex'), logger);
  const { maxNameBytes, maxRegistrationsPerSession, maxPendingCallsPerSession, maxPendingInvocationsPerSession } = wamp;
  const limits = { maxNameBytes, maxRegistrationsPerSession, maxPendingCallsPerSession, maxPendingInvocationsPerSession };
  const auth = createGatewayAuth(config.auth);
  const registeredHere = (subject: string): boolean => dealer.registrations.get(subject) !== undefined;
  const guard = new Guard({ registry, registeredHere, policy: auth?.policy });
  const forwarder = auth?.forwarder;
  const meta = new MetaProcedures(registry, guard);
  const dealer: Dealer = new Dealer({ nc, caller, logger, timeoutMs: config.rpc.timeoutMs, limits, guard, forwarder, revokeCheckMs: config.rpc.registryRefreshMs, meta });
  const maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  const advertisement = await advertise(nc, {
    version: SERVICE_VERSION,
    realm: wamp.realm,
    queue: MESH_QUEUE,
    registrations: () => dealer.registrations.active(),
    maxPayload,
    logger,
  });
  const router = new Router({
    path: wamp.path,
    realm: wamp.realm,
    broker,
    dealer,
    maxBufferedBytes: wamp.maxBufferedBytes,
    maxPayload: wamp.maxMessageBytes,
    maxNameBytes: wamp.maxNameBytes,
    maxSubscriptionsPerSession: wamp.maxSubscriptionsPerSession,
    rateLimiter: createRateLimiter(config.rateLimit),
    guard,
    auth,
    logger,
  });
  const page = createPageHandler({ path: wamp.path, realm: wamp.realm });
  const server = createServer((req, res) => (req.url === '/health' ? answerHealth(res, caller.connected) : page(req, res)));
  server.on('upgrade', (request, socket, head) => router.upgrade(request, socket, head));
  server.listen({ port: wamp.port, host: wamp.host, backlog: LISTEN_BACKLOG });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = wamp.host === '0.0.0.0' ? '127.0.0.1' : wamp.host;
  const url = `http://${host}:${port}`;
  const wsUrl = `ws://${host}:${port}${wamp.path}`;
  logger.info({ url, ws: wsUrl, realm: wamp.realm }, 'wamp gateway listening');
  warnIfOpen('gateway-wamp', wamp.host, auth?.authenticator.configured === true, logger);
  return {
    url,
    wsUrl,
    router,
    nats: nc,
    serviceId: advertisement.id,
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      router.shutdown();
      server.closeAllConnections();
      await closed;
      broker.close();
      dealer.close();
      advertisement.stop();
      registry.close();
      caller.close();
      await nc.drain();
    },
  };
}
