// The procedure registry over real NATS: hosted services appear and disappear, a miss refreshes it, a flood
// of misses is rate-limited, and rogue $SRV.INFO replies are ignored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { hostService, rpc } from '../../mesh/gateway.ts';
import { createRegistry, SERVICE_INFO_SUBJECT } from '../../mesh/calling/registry.ts';
import { DEFAULT_HEARTBEAT_MS } from '../../mesh/wire/heartbeat.ts';
import { NATS_URL, OwnNatsServer, silentLogger, uniqueName } from '../helpers.ts';

class PingService {
  constructor(readonly name: string) {}
  @rpc async ping() {
    return 'pong';
  }
}

function serviceNamed(name: string) {
  return new PingService(name);
}

describe('procedure registry', () => {
  let nc: NatsConnection;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
  });

  after(async () => {
    await nc.drain();
  });

  it('knows a hosted service after a refresh, and forgets it two refreshes after it stopped', async (t) => {
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000 });
    t.after(() => registry.close());
    const name = uniqueName('reg');
    const hosted = await hostService(serviceNamed(name), { nc, logger: silentLogger });
    await registry.refresh();
    assert.equal(registry.loaded, true);
    const info = registry.get(`${name}.ping`);
    assert.ok(info);
    assert.deepEqual(info.services, [name]);
    assert.equal(info.instances.length, 1);
    assert.equal(info.instances[0]!.metadata.parameters, '');
    assert.equal(info.heartbeatMs, DEFAULT_HEARTBEAT_MS, 'service hosts send heartbeats');

    await hosted.stop();
    await registry.refresh();
    assert.ok(registry.get(`${name}.ping`), 'one refresh without it is not enough to forget it');
    await registry.refresh();
    assert.equal(registry.get(`${name}.ping`), undefined);
  });

  it('refreshes on a miss, so a service started a moment ago is found', async (t) => {
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000 });
    t.after(() => registry.close());
    await registry.refresh();
    const name = uniqueName('late');
    const hosted = await hostService(serviceNamed(name), { nc, logger: silentLogger });
    t.after(() => hosted.stop());
    assert.equal(registry.get(`${name}.ping`), undefined);
    assert.deepEqual((await registry.lookup(`${name}.ping`))?.services, [name]);
  });

  it('refreshes by itself on its interval', async (t) => {
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 300, windowMs: 100 });
    t.after(() => registry.close());
    const name = uniqueName('interval');
    const hosted = await hostService(serviceNamed(name), { nc, logger: silentLogger });
    t.after(() => hosted.stop());
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(registry.get(`${name}.ping`));
  });

  it('asks $SRV.INFO a few times a second at most, however many unknown names are looked up', async (t) => {
    const inboxPrefix = uniqueName('_REGTEST');
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000, minGapMs: 250, inboxPrefix });
    t.after(() => registry.close());
    let queries = 0;
    const counter = nc.subscribe(SERVICE_INFO_SUBJECT, {
      callback: (_err, msg) => {
        if (msg.reply?.startsWith(inboxPrefix)) queries++;
      },
    });
    t.after(() => counter.unsubscribe());
    await nc.flush();
    const started = performance.now();
    const lookups: Promise<unknown>[] = [];
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) lookups.push(registry.lookup(`${uniqueName('nobody')}.call`));
      await new Promise((r) => setTimeout(r, 100));
    }
    const results = await Promise.all(lookups);
    const seconds = (performance.now() - started) / 1000;
    await nc.flush();
    assert.ok(results.every((r) => r === undefined));
    assert.ok(queries >= 2, `a miss queries $SRV.INFO (${queries})`);
    assert.ok(queries <= Math.ceil(seconds * 4) + 1, `${queries} queries in ${seconds.toFixed(2)} s for 1,000 misses`);
  });
});

describe('procedure registry with a rogue responder', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await nc.close();
    await server.stop();
  });

  function respondToInfo(replies: (string | object)[]) {
    return nc.subscribe(SERVICE_INFO_SUBJECT, {
      callback: (_err, msg: Msg) => {
        for (const reply of replies) msg.respond(typeof reply === 'string' ? reply : JSON.stringify(reply));
      },
    });
  }

  it('ignores malformed INFO replies and keeps the well-formed ones', async (t) => {
    const info = (name: string, endpoints: unknown, extra: object = {}) => ({
      type: 'io.nats.micro.v1.info_response', name, id: 'x1', version: '1.0.0', endpoints, ...extra,
    });
    const rogue = respondToInfo([
      'not json {',
      'null',
      '[1, 2, 3]',
      '"text"',
      { type: 'io.nats.micro.v1.info_response' },
      { type: 'io.nats.micro.v1.ping_response', name: 'pinger', id: 'p', endpoints: [{ subject: 'pinger.x' }] },
      info('noendpoints', 'many'),
      info('numbers', [{ subject: 42 }, null, 'svc.x', { subject: 'wild.*' }, { subject: '$SYS.REQ' }, { subject: 'x'.repeat(300) }]),
      info('good', [{ name: 'call', subject: 'good.call', metadata: { parameters: 'a', nested: { no: 1 } } }]),
    ]);
    t.after(() => rogue.unsubscribe());
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000 });
    t.after(() => registry.close());
    await registry.refresh();
    const good = registry.get('good.call');
    assert.deepEqual(good?.instances, [{ service: 'good', id: 'x1', version: '1.0.0', metadata: { parameters: 'a' } }]);
    for (const subject of ['pinger.x', 'wild.*', '$SYS.REQ', 'svc.x']) assert.equal(registry.get(subject), undefined, subject);
    assert.equal(nc.isClosed(), false);
  });

  it('reports the smallest heartbeat only when every instance advertises one', async (t) => {
    const reply = (id: string, endpointMeta: object, serviceMeta: object = {}) => ({
      type: 'io.nats.micro.v1.info_response',
      name: 'beats',
      id,
      version: '1.0.0',
      metadata: serviceMeta,
      endpoints: [
        { name: 'all', subject: 'beats.all', metadata: endpointMeta },
        { name: 'some', subject: 'beats.some', metadata: id === 'c' ? {} : endpointMeta },
      ],
    });
    const rogue = respondToInfo([
      reply('a', { heartbeat_ms: '2000' }),
      reply('b', {}, { heartbeat_ms: '1500' }),
      reply('c', { heartbeat_ms: '3000' }),
    ]);
    t.after(() => rogue.unsubscribe());
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000 });
    t.after(() => registry.close());
    await registry.refresh();
    const all = registry.get('beats.all');
    assert.equal(all?.instances.length, 3);
    assert.deepEqual(all?.services, ['beats']);
    assert.equal(all?.heartbeatMs, 1500);
    assert.equal(registry.get('beats.some')?.heartbeatMs, undefined);
  });
});
