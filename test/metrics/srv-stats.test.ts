// `$SRV.STATS` counts what a handler did over its whole answer: an async handler's time, and its errors. `mesh stats`
// (the micro protocol's standard fields) and `mesh top` (the host's own figures) then tell the same story.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { gatherStats as microStats } from '../../mesh/cli/stats.ts';
import { createClient, hostService, MeshError, rpc, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { gatherStats as meshStats, summarize } from '../../mesh/observability/mesh-stats.ts';
import { askServices } from '../../mesh/wire/micro.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { start } from '../../gateway-http/index.ts';
import { sampleValue } from './promtool.ts';

class NapService {
  name = 'nap_service';

  @rpc async nap(ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (ms > 100) throw new MeshError('INVALID_ARGUMENT', 'too long a nap');
    return ms;
  }
}

/** One procedure that waits and one that answers or fails at once, without a promise. */
class TallyService {
  name = 'tally_service';

  @rpc async wait(ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (ms > 100) throw new MeshError('DEADLINE_EXCEEDED', 'waited too long');
    return ms;
  }

  @rpc check(n: number) {
    if (n < 0) throw new MeshError('INVALID_ARGUMENT', 'n must be at least 0');
    return n;
  }
}

describe('$SRV.STATS', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let tally: HostedService;
  let client: MeshClient;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    hosted = await hostService(new NapService(), { nc, logger: silentLogger });
    tally = await hostService(new TallyService(), { nc, logger: silentLogger });
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    client.close();
    await hosted.stop();
    await tally.stop();
    await nc.drain();
    await server.stop();
  });

  it('times async handlers over their whole answer and counts their errors, as mesh top does', async () => {
    await client.call('nap_service.nap', [60]);
    await client.call('nap_service.nap', [60]);
    await assert.rejects(client.call('nap_service.nap', [120]), { code: 'INVALID_ARGUMENT' });
    const micro = (await microStats(nc, 'nap_service', null, 500)).find((e) => e.subject === 'nap_service.nap');
    assert.deepEqual([micro!.requests, micro!.errors], [3, 1]);
    assert.ok(micro!.processingMs >= 240, `processing ${micro!.processingMs} ms covers the naps (240 ms at least)`);
    const top = summarize(await meshStats(nc, { logger: silentLogger, waitMs: 300 })).find((p) => p.procedure === 'nap_service.nap');
    assert.deepEqual([top!.requests, top!.errors], [micro!.requests, micro!.errors]);
    assert.equal(top!.averageMs.toFixed(3), micro!.averageMs.toFixed(3));
  });

  it("agrees four ways: $SRV.STATS, mesh stats, mesh top and the gateway's /metrics count the same calls", async () => {
    const gateway = await start({ config: testConfig({ 'nats.url': server.url }), logger: silentLogger });
    try {
      const post = (procedure: string, body: unknown) => fetch(`${gateway.url}/${procedure}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await client.call('tally_service.check', [1]);
      await assert.rejects(client.call('tally_service.check', [-1]), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(client.call('tally_service.wait', [150]), { code: 'DEADLINE_EXCEEDED' });
      assert.equal((await post('tally_service.check', [[2], {}])).status, 200);
      assert.equal((await post('tally_service.check', [[-2], {}])).status, 400);
      assert.equal((await post('tally_service.wait', [[10], {}])).status, 200);
      assert.equal((await post('tally_service.wait', [[20], {}])).status, 200);

      const [raw] = await askServices(nc, 'STATS', 'tally_service', { maxWaitMs: 2000, silenceMs: 300 });
      const endpoints = (raw as { endpoints: { name: string; num_requests: number; num_errors: number }[] }).endpoints;
      const srv = Object.fromEntries(endpoints.map((e) => [e.name, [e.num_requests, e.num_errors]]));
      const cli = Object.fromEntries((await microStats(nc, 'tally_service', null, 500)).map((e) => [e.subject.split('.')[1], [e.requests, e.errors]]));
      const tallied = summarize(await meshStats(nc, { logger: silentLogger, waitMs: 300 })).filter((p) => p.service === 'tally_service');
      const top = Object.fromEntries(tallied.map((p) => [p.procedure.split('.')[1], [p.requests, p.errors]]));
      const text = await (await fetch(`${gateway.url}/metrics/mesh`)).text();
      const series = (name: string, method: string) =>
        sampleValue(text, name, { service: 'tally_service', procedure: `tally_service.${method}`, instance_id: endpoints.length ? (raw as { id: string }).id : '' });
      const metrics = Object.fromEntries(['wait', 'check'].map((m) => [m, [series('mesh_endpoint_requests_total', m), series('mesh_endpoint_errors_total', m)]]));

      const expected = { wait: [3, 1], check: [4, 2] };
      assert.deepEqual(srv, expected);
      assert.deepEqual(cli, expected);
      assert.deepEqual(top, expected);
      assert.deepEqual(metrics, expected);
    } finally {
      await gateway.stop();
    }
  });
});
