// `$SRV.STATS` counts what a handler did over its whole answer: an async handler's time, and its errors. `mesh stats`
// (the micro protocol's standard fields) and `mesh top` (the host's own figures) then tell the same story.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { gatherStats as microStats } from '../../mesh/cli/stats.ts';
import { createClient, hostService, MeshError, rpc, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { gatherStats as meshStats, summarize } from '../../mesh/observability/mesh-stats.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

class NapService {
  name = 'nap_service';

  @rpc async nap(ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (ms > 100) throw new MeshError('INVALID_ARGUMENT', 'too long a nap');
    return ms;
  }
}

describe('$SRV.STATS', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let client: MeshClient;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    hosted = await hostService(new NapService(), { nc, logger: silentLogger });
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    client.close();
    await hosted.stop();
    await nc.drain();
    await server.stop();
  });

  it("times async handlers over their whole answer and counts their errors, as mesh top does", async () => {
    await client.call('nap_service.nap', [60]);
    await client.call('nap_service.nap', [60]);
    await assert.rejects(client.call('nap_service.nap', [120]), { code: 'INVALID_ARGUMENT' });
    const [micro] = await microStats(nc, 'nap_service', null, 500);
    assert.deepEqual([micro!.requests, micro!.errors], [3, 1]);
    assert.ok(micro!.processingMs >= 240, `processing ${micro!.processingMs} ms covers the naps (240 ms at least)`);
    const [top] = summarize(await meshStats(nc, { logger: silentLogger, waitMs: 300 }));
    assert.deepEqual([top!.requests, top!.errors], [micro!.requests, micro!.errors]);
    assert.equal(top!.averageMs.toFixed(3), micro!.averageMs.toFixed(3));
  });
});
