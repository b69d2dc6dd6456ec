// A three-node NATS cluster, as the compose cluster profile runs it: the services and the HTTP gateway are given
// every node's URL; killing the node the gateway is on under load costs only quick 503s, and calls succeed again
// through a surviving node within 2 s.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { start } from '../../gateway-http/index.ts';
import { silentLogger, testConfig } from '../helpers.ts';
import { meshProcess, sleep, startLoad, stopProcess, summary } from './load.ts';
import { NatsCluster } from './nats-cluster.ts';

describe('a NATS cluster losing the node the gateway is on', () => {
  let cluster: NatsCluster;
  let gateway: Awaited<ReturnType<typeof start>>;
  const instances: ChildProcess[] = [];

  before(async () => {
    cluster = await NatsCluster.start(3);
    instances.push(meshProcess(['run', 'services/greeting'], cluster.urls), meshProcess(['run', 'services/greeting'], cluster.urls));
    gateway = await start({ config: testConfig({ 'nats.url': cluster.urls }), logger: silentLogger });
    const call = () => fetch(`${gateway.url}/greeting_service.hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[["Bob"]]' });
    for (let i = 0; i < 200 && (await call().catch(() => undefined))?.status !== 200; i++) await sleep(100);
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all(instances.map((child) => stopProcess(child, 'SIGKILL')));
    await cluster?.stop();
  });

  it('answers every call with success or a quick 503, and succeeds again within 2 s', async (t) => {
    const load = startLoad(`${gateway.url}/greeting_service.hello`, JSON.stringify([['Bob'], { last_name: 'Ross' }]));
    await sleep(1500);
    const node = await cluster.nodeOf('gateway-http');
    assert.ok(node, 'the gateway is connected to a node');
    const killedAt = load.now();
    await cluster.kill(node);
    await sleep(4000);
    const outcomes = await load.finish();
    const text = summary(outcomes);
    t.diagnostic(`killed ${node}: ${text}`);
    assert.ok(
      outcomes.every((o) => o.status === 200 || (o.status === 503 && o.code === 'UNAVAILABLE')),
      text,
    );
    assert.ok(
      outcomes.filter((o) => o.status === 503).every((o) => o.ms < 1000),
      `503 answers come at once: ${text}`,
    );
    const recovered = outcomes.filter((o) => o.status === 200 && o.startedAt > killedAt).map((o) => o.startedAt + o.ms);
    assert.ok(recovered.length > 0 && Math.min(...recovered) - killedAt < 2000, `a call succeeds within 2 s of the kill: ${text}`);
    assert.notEqual(await cluster.nodeOf('gateway-http'), node, 'the gateway moved to a surviving node');
  });
});
