// GET /metrics and /metrics/mesh on the HTTP gateway, against a real nats-server: promtool accepts both, counters
// move by exactly the calls made, and a bare micro service (no nats-mesh host) shows up in the mesh's figures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { addMicroService, type MicroService } from '../../mesh/service/micro-service.ts';
import { start, type RunningHttpGateway } from '../../gateway-http/index.ts';
import { hostService, MeshError, rpc, Service, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { checkMetrics, sampleValue } from './promtool.ts';

const SERVICE = uniqueName('metrics_test');
const BARE = uniqueName('bare_micro');

class MetricsService extends Service {
  name = SERVICE;

  @rpc async hello(name: string) {
    return `Hello, ${name}!`;
  }

  @rpc async refuse() {
    throw new MeshError('INVALID_ARGUMENT', 'always refused');
  }
}

async function call(gateway: RunningHttpGateway, procedure: string, body: unknown): Promise<number> {
  const res = await fetch(`${gateway.url}/${procedure}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

async function scrape(gateway: RunningHttpGateway, path: string): Promise<string> {
  const res = await fetch(`${gateway.url}${path}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** A procedure's count of requests answered with a status, in one scrape (0 before its first). */
function counted(text: string, procedure: string, status: string): number {
  return sampleValue(text, 'mesh_gateway_requests_total', { procedure, status }) ?? 0;
}

/** What the calls between two scrapes added: ok calls, refused ones (400), unknown names (404), and ok's latency observations. */
function countsAdded(before: string, after: string, ok: string, refused: string): number[] {
  const added = (procedure: string, status: string) => counted(after, procedure, status) - counted(before, procedure, status);
  const observed = (text: string) => sampleValue(text, 'mesh_gateway_request_duration_seconds_count', { procedure: ok }) ?? 0;
  return [added(ok, '200'), added(refused, '400'), added('(unknown)', '404'), observed(after) - observed(before)];
}

describe('metrics on the HTTP gateway', () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let bare: MicroService;
  let gateway: RunningHttpGateway;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(new MetricsService(), { nc, logger: silentLogger });
    // A service in the micro protocol without nats-mesh's host, as one in another language would be.
    bare = addMicroService(nc, { name: BARE, logger: silentLogger, version: '1.0.0' });
    bare.addEndpoint('echo', { subject: `${BARE}.echo`, queue: 'q', handler: (msg) => void msg.respond(msg.data) });
    gateway = await start({ config: testConfig({ 'http.port': 0, 'http.host': '127.0.0.1' }), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await bare.stop();
    await hosted.stop();
    await nc.drain();
  });

  it('counts each call by procedure and status, exactly, and passes promtool', async () => {
    const hello = `${SERVICE}.hello`;
    const refuse = `${SERVICE}.refuse`;
    const unknownName = uniqueName('no_such_service') + '.nothing';
    const before = await scrape(gateway, '/metrics');
    for (let i = 0; i < 3; i++) assert.equal(await call(gateway, hello, [['Ann'], {}]), 200);
    for (let i = 0; i < 2; i++) assert.equal(await call(gateway, refuse, [[], {}]), 400);
    assert.equal(await call(gateway, unknownName, [[], {}]), 404);
    const text = await scrape(gateway, '/metrics');
    assert.equal(checkMetrics(text), '');
    assert.deepEqual(countsAdded(before, text, hello, refuse), [3, 2, 1, 3]);
    assert.ok(!text.includes(unknownName), 'a name no service advertises never becomes a label value');
    assert.ok((sampleValue(text, 'mesh_gateway_open_connections', {}) ?? -1) >= 0);
    assert.ok(sampleValue(text, 'process_cpu_user_seconds_total', { gateway: 'http' }) !== undefined, 'process metrics are there');
  });

  it('serves every procedure on the mesh from $SRV.STATS, bare micro services included, and passes promtool', async () => {
    for (let i = 0; i < 4; i++) assert.equal(await call(gateway, `${SERVICE}.hello`, [['Bo'], {}]), 200);
    for (let i = 0; i < 3; i++) assert.equal(await call(gateway, `${SERVICE}.refuse`, [[], {}]), 400);
    for (let i = 0; i < 2; i++) assert.equal(await call(gateway, `${BARE}.echo`, [[1], {}]), 200);
    const text = await scrape(gateway, '/metrics/mesh');
    assert.equal(checkMetrics(text), '');
    const helloBefore = sampleValue(text, 'mesh_procedure_requests', { service: SERVICE, procedure: `${SERVICE}.hello` })!;
    // The first test made 3 calls to hello and 2 to refuse; this one 4 and 3: the service has seen exactly those.
    assert.equal(helloBefore, 7);
    const refuse = { service: SERVICE, procedure: `${SERVICE}.refuse` };
    assert.equal(sampleValue(text, 'mesh_procedure_errors', refuse), 5);
    const instance = { ...refuse };
    assert.equal(sampleValue(text, 'mesh_endpoint_errors_by_code_total', { ...instance, code: 'INVALID_ARGUMENT' }), 5);
    assert.equal(sampleValue(text, 'mesh_endpoint_duration_seconds_count', { procedure: `${SERVICE}.hello` }), 7);
    assert.equal(sampleValue(text, 'mesh_endpoint_duration_seconds_bucket', { procedure: `${SERVICE}.hello`, le: '+Inf' }), 7);
    assert.equal(sampleValue(text, 'mesh_endpoint_in_flight_requests', { procedure: `${SERVICE}.hello` }), 0);
    assert.equal(sampleValue(text, 'mesh_endpoint_requests_total', { service: BARE, procedure: `${BARE}.echo` }), 2);
    assert.equal(sampleValue(text, 'mesh_procedure_requests', { service: BARE, procedure: `${BARE}.echo` }), 2);
    assert.equal(sampleValue(text, 'mesh_endpoint_errors_total', { service: BARE, procedure: `${BARE}.echo` }), 0);
  });

  it('counts JSON-RPC calls as it counts POST /<procedure>: each call of a batch by its procedure and status', async () => {
    const hello = `${SERVICE}.hello`;
    const refuse = `${SERVICE}.refuse`;
    const unknownName = uniqueName('no_such_service') + '.nothing';
    const before = await scrape(gateway, '/metrics');
    const batch = [
      { jsonrpc: '2.0', method: hello, params: ['Ann'], id: 1 },
      { jsonrpc: '2.0', method: hello, params: ['Bob'] },
      { jsonrpc: '2.0', method: refuse, id: 2 },
      { jsonrpc: '2.0', method: unknownName, id: 3 },
      { not: 'a request' },
    ];
    const res = await fetch(`${gateway.url}/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(batch) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as unknown[]).length, 4);
    const text = await scrape(gateway, '/metrics');
    assert.equal(checkMetrics(text), '');
    assert.deepEqual(countsAdded(before, text, hello, refuse), [2, 1, 1, 2]);
    assert.ok(!text.includes(unknownName), 'a name no service advertises never becomes a label value');
  });

  it('counts rate-limit refusals, exactly', async () => {
    const limited = await start({ config: testConfig({ 'http.port': 0, 'http.host': '127.0.0.1', 'rateLimit.points': 2, 'rateLimit.durationS': 60 }), logger: silentLogger });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await call(limited, `${SERVICE}.hello`, [['Di'], {}]));
      assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
      const text = await scrape(limited, '/metrics');
      assert.equal(sampleValue(text, 'mesh_gateway_rate_limited_total', {}), 3);
      assert.equal(sampleValue(text, 'mesh_gateway_requests_total', { procedure: `${SERVICE}.hello`, status: '429' }), 3);
    } finally {
      await limited.stop();
    }
  });

  it('is off with metrics.enabled false: no /metrics, calls still answered', async () => {
    const quiet = await start({ config: testConfig({ 'http.port': 0, 'http.host': '127.0.0.1', 'metrics.enabled': false }), logger: silentLogger });
    try {
      // No such route: a GET of a path that is no procedure name passes the browsable API by, to a 404.
      assert.equal((await fetch(`${quiet.url}/metrics`)).status, 404);
      assert.equal((await fetch(`${quiet.url}/metrics/mesh`)).status, 404);
      assert.equal(await call(quiet, `${SERVICE}.hello`, [['Cy'], {}]), 200);
    } finally {
      await quiet.stop();
    }
  });
});
