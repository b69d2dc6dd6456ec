// An HTTP server under test, in its own process: the mesh's gateway-http (as configured by default, with
// authentication, with metrics and tracing off or only one of them on), or a baseline: bare Koa
// answering a constant, bare Koa forwarding inline with the lean caller, the batching caller, the mesh's caller or
// nc.request, moleculer-web.
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import getRawBody from 'raw-body';
import { start } from '../../gateway-http/index.ts';
import { createCaller, createLogger, loadConfig, startTracing } from '../../mesh/gateway.ts';
import { batchingCaller } from '../baselines/batching-caller.ts';
import { leanCaller, type LeanRequest } from '../baselines/lean-caller.ts';
import { NATS_URL, serve } from './ipc.ts';

type Kind =
  'gateway' | 'gateway-auth' | 'gateway-unobserved' | 'gateway-metrics-only' | 'gateway-tracing-only' | 'koa-constant' | 'koa-lean' | 'koa-caller' | 'koa-batching' | 'koa-request' | 'moleculer-web';
const [kind, service, jwtSecret] = process.argv.slice(2) as [Kind, string, string?];
const logger = createLogger({ level: 'silent', format: 'json' }, 'bench');

/**
 * `{ cpu: true }`: the CPU time this process has used, in µs, what bench/gateway-cpu.ts divides by the requests served;
 * `{ gc: true }`: a full garbage collection (with --expose-gc), so bench/http-instructions.ts counts from a clean heap.
 */
const cpuTime = async (message: Record<string, unknown>) => {
  if (message.gc) return globalThis.gc?.() ?? null;
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function listen(app: Koa): Promise<{ url: string; close: () => Promise<void> }> {
  // The gateways' own listen backlog: with Node's default of 511, a burst of 1,000 connections overflows the queue.
  const server = app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // A load generator that gave up leaves connections the server still holds (seen after 5,000 at once): they are cut.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The mesh's caller as gateway-http makes it (the turn's requests published together, a signal per request that a
 * client's hang-up would abort): koa-caller tells what the caller costs from what the gateway's own steps cost.
 * CALLER_TICK_MS sets its deadline tick (50 ms by default), which is also how long it reuses a set of headers: under
 * callgrind, some fifty times slower, a tick holds far fewer requests than at full speed.
 */
function meshCaller(nc: NatsConnection): LeanRequest {
  const caller = createCaller(nc, { timeoutMs: 10_000, coalesce: true, tickMs: Number(process.env.CALLER_TICK_MS ?? 50) });
  return (subject, data) => caller.request(subject, data, { signal: new AbortController().signal });
}

/** The gateway kinds that turn metrics or tracing off; the others run with both on, as by default. */
const OBSERVED: Partial<Record<Kind, { metrics: boolean; tracing: boolean }>> = {
  'gateway-unobserved': { metrics: false, tracing: false },
  'gateway-metrics-only': { metrics: true, tracing: false },
  'gateway-tracing-only': { metrics: false, tracing: true },
};

if (kind.startsWith('gateway')) {
  const observed = OBSERVED[kind] ?? { metrics: true, tracing: true };
  const settings: Record<string, unknown> = { 'metrics.enabled': observed.metrics, 'tracing.enabled': observed.tracing };
  // gateway-auth: JWT bearer tokens (HS256) and a policy that lets the role `bench` call the service, deny otherwise.
  if (kind === 'gateway-auth') {
    const policyFile = join(mkdtempSync(join(tmpdir(), 'bench-policy-')), 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ roles: { bench: [{ uri: service, match: 'prefix', allow: ['call'] }] } }));
    Object.assign(settings, { 'auth.jwtSecret': jwtSecret, 'auth.policyFile': policyFile });
  }
  // REGISTRY_REFRESH_MS: how often the gateway looks at the mesh again (5 s by default); bench/http-instructions.ts
  // makes it rare, since under callgrind a refresh's 250 ms window can miss the service and the calls fail.
  if (process.env.REGISTRY_REFRESH_MS) settings['rpc.registryRefreshMs'] = Number(process.env.REGISTRY_REFRESH_MS);
  const config = loadConfig({ env: {}, overrides: { 'nats.url': NATS_URL, 'http.host': '127.0.0.1', 'http.port': 0, 'log.level': 'silent', ...settings } });
  await startTracing('gateway-http', config.tracing, {});
  const gateway = await start({ config, logger });
  serve({ url: gateway.url }, cpuTime, () => gateway.stop());
} else if (kind === 'moleculer-web') {
  const { ServiceBroker } = await import('moleculer');
  const { default: ApiGateway } = await import('moleculer-web');
  const broker = new ServiceBroker({ nodeID: `web-${process.pid}`, transporter: NATS_URL, logger: false });
  broker.createService({
    name: 'api',
    mixins: [ApiGateway],
    settings: { port: 0, ip: '127.0.0.1', routes: [{ path: '/', aliases: { [`POST /${service}.hello`]: `${service}.hello` }, bodyParsers: { json: { strict: false }, urlencoded: false } }] },
  });
  await broker.start();
  await broker.waitForServices(service, 10_000);
  const api = broker.getLocalService('api') as unknown as { server: { address(): AddressInfo } };
  serve({ url: `http://127.0.0.1:${api.server.address().port}` }, cpuTime, () => broker.stop());
} else {
  const nc = await connect({ servers: NATS_URL });
  const caller = kind === 'koa-batching' ? batchingCaller(nc) : kind === 'koa-caller' ? meshCaller(nc) : leanCaller(nc);
  const app = new Koa();
  app.use(async (ctx) => {
    if (kind === 'koa-constant') {
      ctx.type = 'application/json';
      ctx.body = '[["Hello, Bob Ross"],{}]';
      return;
    }
    const body = await getRawBody(ctx.req, { limit: 1024 * 1024 });
    const reply = kind === 'koa-request' ? await nc.request(`${service}.hello`, body, { timeout: 10_000 }) : await caller(`${service}.hello`, body);
    ctx.type = 'application/json';
    ctx.body = Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
  });
  const server = await listen(app);
  serve({ url: server.url }, cpuTime, async () => {
    await server.close();
    await nc.close();
  });
}
