// The WAMP gateway's /metrics (sessions, calls by procedure and status) and its mesh.stats procedure, which the
// page's dashboard calls: the figures of every procedure on the mesh, answered by the gateway, never registrable.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { hostService, MeshError, rpc, Service, type HostedService } from '../../mesh/gateway.ts';
import { STATS_REUSE_MS, type ProcedureFigures } from '../../mesh/observability/mesh-stats.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession } from '../gateway-wamp/raw-client.ts';
import { checkMetrics, sampleValue } from './promtool.ts';

const { CALL, RESULT, ERROR, REGISTER } = MessageType;
const SERVICE = uniqueName('wamp_metrics');

class CountedService extends Service {
  name = SERVICE;

  @rpc async double(n: number) {
    return n * 2;
  }

  @rpc async missing() {
    throw new MeshError('NOT_FOUND', 'nothing here');
  }
}

describe('metrics on the WAMP gateway', () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: RunningWampGateway;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(new CountedService(), { nc, logger: silentLogger });
    gateway = await start({ config: testConfig({ 'wamp.port': 0, 'wamp.host': '127.0.0.1' }), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  it('counts sessions and calls by procedure and status, and passes promtool', async () => {
    const client = await openSession(gateway.wsUrl);
    try {
      for (let i = 1; i <= 3; i++) {
        client.send([CALL, i, {}, `${SERVICE}.double`, [i]]);
        assert.deepEqual(await client.next(), [RESULT, i, {}, [i * 2], {}]);
      }
      client.send([CALL, 9, {}, `${SERVICE}.missing`, []]);
      assert.equal((await client.next())[0], ERROR);
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      assert.equal(checkMetrics(text), '');
      assert.equal(sampleValue(text, 'mesh_gateway_requests_total', { gateway: 'wamp', procedure: `${SERVICE}.double`, status: '200' }), 3);
      assert.equal(sampleValue(text, 'mesh_gateway_requests_total', { procedure: `${SERVICE}.missing`, status: '404' }), 1);
      assert.equal(sampleValue(text, 'mesh_wamp_sessions', {}), 1);
      assert.equal(sampleValue(text, 'mesh_wamp_registrations', {}), 0);
      const mesh = await (await fetch(`${gateway.url}/metrics/mesh`)).text();
      assert.equal(checkMetrics(mesh), '');
      assert.equal(sampleValue(mesh, 'mesh_procedure_requests', { procedure: `${SERVICE}.double` }), 3);
    } finally {
      await client.close();
    }
  });

  it('answers mesh.stats with the figures of every procedure, and lets no session register it', async () => {
    const client = await openSession(gateway.wsUrl);
    try {
      client.send([CALL, 1, {}, `${SERVICE}.double`, [21]]);
      assert.deepEqual(await client.next(), [RESULT, 1, {}, [42], {}]);
      // The gateway answers its last gather again for STATS_REUSE_MS: wait for a fresh one.
      await new Promise((resolve) => setTimeout(resolve, STATS_REUSE_MS));
      client.send([CALL, 2, {}, 'mesh.stats', []]);
      const [type, id, , [stats]] = (await client.next()) as [number, number, unknown, [{ at: number; procedures: ProcedureFigures[] }]];
      assert.equal(type, RESULT);
      assert.equal(id, 2);
      const double = stats.procedures.find((p) => p.procedure === `${SERVICE}.double`);
      assert.ok(double, 'the procedure is listed');
      assert.equal(double.service, SERVICE);
      assert.equal(double.instances, 1);
      assert.equal(double.requests, 4);
      assert.equal(double.errors, 0);
      assert.equal(typeof double.p99Ms, 'number');
      const missing = stats.procedures.find((p) => p.procedure === `${SERVICE}.missing`)!;
      assert.deepEqual(missing.errorsByCode, { NOT_FOUND: 1 });

      client.send([REGISTER, 3, {}, 'mesh.stats']);
      const [refused, , request, , uri] = await client.next();
      assert.deepEqual([refused, request, uri], [ERROR, 3, 'wamp.error.not_authorized']);
    } finally {
      await client.close();
    }
  });
});
