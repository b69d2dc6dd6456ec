// The WAMP gateway process: a WAMP v2 router whose topics and procedures are NATS subjects, and the frontend
// page, on one port. Run it with `mesh gateway gateway-wamp`; tests start it on port 0 through the same `start`.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectNats,
  createCaller,
  natsEvents,
  createReports,
  meshNamespace,
  reportSettings,
  type NatsRole,
  type ProcessContext,
  type Running,
  createGatewayMetrics,
  UNKNOWN_PROCEDURE_LABEL,
  createRefusalLog,
  scrapeMesh,
  createStatsGatherer,
  STATS_REUSE_MS,
  summarize,
  warnIfOpen,
  createRateLimiter,
  bearerCredential,
  createGatewayAuth,
  type GatewayAuth,
  createRegistry,
  type EndpointInfo,
  type EndpointInstance,
} from '../mesh/gateway.ts';
import { advertise, WAMP_SERVICE_NAME } from './advertise.ts';
import { Broker } from './broker.ts';
import { Dealer } from './dealer.ts';
import { Guard } from './guard.ts';
import { MetaProcedures } from './meta.ts';
import { TaskProcedures } from './task-procedures.ts';
import { WampMeta } from './wamp-meta.ts';
import { Router } from './router.ts';
import { createOpsHandler } from './ops.ts';
import { createPageHandler } from './static.ts';
import { wampSettings } from './config.ts';

/** Its section of the configuration, which `mesh gateway --port/--host` set. */
export { wampSettings as settings };

/**
 * For `mesh nats-config`: besides calling, it subscribes to the topics its clients name and answers the procedures
 * they register (in the mesh queue group), and answers `$SRV` discovery for them as wamp_gateway.
 */
export const natsRole: NatsRole = 'router';

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

/** Connections the kernel queues before the gateway accepts them: room for thousands of tabs reconnecting at once. */
const LISTEN_BACKLOG = 4096;

/** NATS's own default, for a server that does not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** The procedure the page's dashboard calls for the figures of every procedure on the mesh. */
export const MESH_STATS_PROCEDURE = 'mesh.stats';

/** The version the gateway announces in $SRV replies. */
const SERVICE_VERSION = '0.1.0';

/** What the sender of an HTTP request to the ops port may see: its `Authorization: Bearer` credential's calls, else anonymous's. */
async function visibleTo(auth: GatewayAuth, req: IncomingMessage): Promise<(procedure: string) => boolean> {
  const { authorization } = req.headers;
  const identity = authorization ? await auth.identify(bearerCredential(authorization), req.socket.remoteAddress ?? '') : auth.anonymous;
  return (procedure) => auth.policy.allows(identity, 'call', procedure);
}

export async function start({ config, logger }: ProcessContext): Promise<RunningWampGateway> {
  const wamp = wampSettings.of(config);
  const { namespace } = config.nats;
  const reporting = await reportSettings(config.reports);
  const nc = await connectNats(config.nats, 'gateway-wamp', logger);
  const registry = createRegistry(nc, { logger, refreshMs: config.rpc.registryRefreshMs, maxNameBytes: wamp.maxNameBytes, namespace });
  // The rules on procedure subjects hold from the first session: the gateway listens once the registry has answered.
  await registry.refresh();
  // Calls to procedures whose instances send heartbeats fail fast when the instance that took them dies.
  const caller = createCaller(nc, { logger, timeoutMs: config.rpc.timeoutMs, namespace, known: (subject) => registry.get(subject), coalesce: true });
  const broker = new Broker(nc, randomBytes(8).toString('hex'), logger, meshNamespace(namespace));
  const { maxNameBytes, maxRegistrationsPerSession, maxPendingCallsPerSession, maxPendingInvocationsPerSession } = wamp;
  const limits = { maxNameBytes, maxRegistrationsPerSession, maxPendingCallsPerSession, maxPendingInvocationsPerSession };
  const auth = createGatewayAuth(config.auth);
  const registeredHere = (subject: string): boolean => dealer.registrations.get(subject) !== undefined;
  const guard = new Guard({ registry, registeredHere, policy: auth?.policy });
  const forwarder = auth?.forwarder;
  const gatewayMetrics = config.metrics.enabled ? createGatewayMetrics('wamp') : undefined;
  // The label is the procedure only when the registry knows it: a name a client made up never becomes a series.
  const measure = gatewayMetrics && ((procedure: string, status: number, seconds: number) => gatewayMetrics.request(registry.get(procedure) ? procedure : UNKNOWN_PROCEDURE_LABEL, status, seconds));
  const gather = createStatsGatherer(nc, { logger, waitMs: config.metrics.meshWaitMs, reuseMs: STATS_REUSE_MS, maxNameBytes: wamp.maxNameBytes, namespace });
  const meta = new MetaProcedures(registry, guard);
  const tasks = new TaskProcedures({ guard, registry, caller, forwarder, timeoutMs: config.rpc.timeoutMs });
  const gatewayProcedures = new Map([[MESH_STATS_PROCEDURE, async () => ({ at: Date.now(), procedures: summarize(await gather()), nats: natsEvents(nc) })]]);
  const reports = createReports(nc, logger, reporting, namespace);
  const refusals = createRefusalLog({ logger, perSecond: config.log.refusalsPerSecond, counted: gatewayMetrics && ((code) => gatewayMetrics.refusal(code)) });
  const maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  const wampMeta = new WampMeta({ broker, guard, maxNameBytes, maxTestamentBytes: Math.min(maxPayload, wamp.maxMessageBytes), logger });
  const elsewhere = (instance: EndpointInstance) => instance.service !== WAMP_SERVICE_NAME || instance.id !== advertisement.id;
  // Other gateways' pattern registrations, read again when the registry's view changes: a pattern's request asks for them.
  let patterns: { generation: number; endpoints: EndpointInfo[] } = { generation: -1, endpoints: [] };
  const patternsElsewhere = (): EndpointInfo[] => {
    if (patterns.generation !== registry.generation) {
      patterns = { generation: registry.generation, endpoints: registry.patterns().filter((p) => p.instances.some(elsewhere)) };
    }
    return patterns.endpoints;
  };
  const dealer: Dealer = new Dealer({
    nc,
    caller,
    logger,
    timeoutMs: config.rpc.timeoutMs,
    limits,
    guard,
    forwarder,
    revokeCheckMs: config.rpc.registryRefreshMs,
    meta,
    wampMeta,
    tasks,
    measure,
    gatewayProcedures,
    reports,
    refusals,
    namespace: meshNamespace(namespace),
    // Registrations come once the router listens, after the advertisement exists.
    announce: (registration) => advertisement.announce(registration),
    // Anything but this process's own registrations, which its dealer knows better than the registry.
    answeredElsewhere: (procedure) => registry.get(procedure)?.instances.some(elsewhere) ?? false,
    patternsElsewhere,
  });
  wampMeta.watch(dealer.registrations);
  const advertisement = await advertise(nc, {
    version: SERVICE_VERSION,
    realm: wamp.realm,
    namespace: meshNamespace(namespace),
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
    origins: wamp.origins,
    rateLimiter: gatewayMetrics ? gatewayMetrics.countRefusals(createRateLimiter(config.rateLimit)) : createRateLimiter(config.rateLimit),
    guard,
    auth,
    logger,
    meta: wampMeta,
  });
  const page = createPageHandler({ path: wamp.path, realm: wamp.realm });
  if (gatewayMetrics) {
    gatewayMetrics.gauge('mesh_wamp_sessions', 'WAMP sessions open now.', () => router.sessionCount);
    gatewayMetrics.gauge('mesh_wamp_subscriptions', 'NATS subscriptions held for WAMP subscribers (one per topic and policy).', () => broker.natsSubscriptions);
    gatewayMetrics.gauge('mesh_wamp_registrations', 'Procedures WAMP sessions have registered.', () => dealer.registrations.all().length);
    gatewayMetrics.watchNats(nc);
  }
  const ops = createOpsHandler({
    connected: () => caller.connected,
    registryLoaded: () => registry.loaded,
    metrics: gatewayMetrics && { gateway: gatewayMetrics, mesh: () => scrapeMesh(gather) },
    visibleTo: auth?.policy.configured ? (req) => visibleTo(auth, req) : undefined,
  });
  const server = createServer((req, res) => ops(req, res) || page(req, res));
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
      refusals.close();
      advertisement.stop();
      registry.close();
      caller.close();
      await nc.drain();
    },
  };
}
