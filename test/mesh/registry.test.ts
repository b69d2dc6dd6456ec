// The procedure registry over real NATS: hosted services appear (announced at once) and disappear, a miss is
// answered from the last view and refreshes it in the background, a flood of misses is rate-limited, rogue replies are ignored.
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

  it('knows a service started a moment ago on another connection from its announcement, without asking $SRV.INFO', async (t) => {
    const inboxPrefix = uniqueName('_REGTEST');
    const own = await connect({ servers: NATS_URL, inboxPrefix });
    t.after(() => own.close());
    const registry = createRegistry(own, { logger: silentLogger, refreshMs: 60_000, inboxPrefix });
    t.after(() => registry.close());
    await registry.refresh();
    const queries = countQueries(inboxPrefix);
    t.after(() => queries.stop());
    const generation = registry.generation;
    const name = uniqueName('late');
    const hosted = await hostService(serviceNamed(name), { nc, logger: silentLogger });
    t.after(() => hosted.stop());
    // The announcement went out before the host's flush, so the server delivered it before this flush's reply.
    await own.flush();
    assert.deepEqual(registry.get(`${name}.ping`)?.services, [name]);
    assert.deepEqual(
      (await registry.lookup(`${name}.ping`))?.instances.map((i) => i.service),
      [name],
    );
    assert.ok(registry.generation > generation, 'what is built from list() is built again');
    await nc.flush();
    assert.equal(queries.seen, 0);
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

  it('asks $SRV.INFO at most once per miss gap, however many unknown names are looked up', async (t) => {
    const inboxPrefix = uniqueName('_REGTEST');
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000, missGapMs: 500, inboxPrefix });
    t.after(() => registry.close());
    const queries = countQueries(inboxPrefix);
    t.after(() => queries.stop());
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
    assert.ok(queries.seen >= 2, `misses query $SRV.INFO in the background (${queries.seen})`);
    assert.ok(queries.seen <= Math.ceil(seconds / 0.5) + 1, `${queries.seen} queries in ${seconds.toFixed(2)} s for 1,000 misses`);
  });

  /** Counts the $SRV.INFO queries whose reply inbox has the prefix: one registry's, on a server others share. */
  function countQueries(inboxPrefix: string) {
    const counter = { seen: 0, stop: () => sub.unsubscribe() };
    const sub = nc.subscribe(SERVICE_INFO_SUBJECT, {
      callback: (_err, msg) => {
        if (msg.reply?.startsWith(inboxPrefix)) counter.seen++;
      },
    });
    return counter;
  }
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
      type: 'io.nats.micro.v1.info_response',
      name,
      id: 'x1',
      version: '1.0.0',
      endpoints,
      ...extra,
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

  it('keeps pattern endpoints apart: listed by patterns(), never a procedure for get, lookup or list', async (t) => {
    const pattern = (subject: string, metadata: object) => ({ name: 'p', subject, queue_group: 'q.prefix.orders', metadata });
    const rogue = respondToInfo([
      {
        type: 'io.nats.micro.v1.info_response',
        name: 'wamp_gateway',
        id: 'g1',
        version: '0.1.0',
        endpoints: [
          pattern('orders.>', { match: 'prefix', pattern: 'orders.eu' }),
          pattern('orders', { match: 'prefix', pattern: 'orders' }),
          pattern('jobs.*.cancel', { match: 'wildcard', pattern: 'jobs..cancel' }),
          pattern('bad.>', { match: 'prefix', pattern: 'bad pattern' }),
          pattern('long.>', { match: 'prefix', pattern: `long.${'x'.repeat(300)}` }),
          pattern('nomatch.>', { match: 'regex', pattern: 'nomatch' }),
        ],
      },
    ]);
    t.after(() => rogue.unsubscribe());
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000 });
    t.after(() => registry.close());
    await registry.refresh();
    const found = registry
      .patterns()
      .map((p) => `${p.match} ${p.subject}`)
      .sort();
    assert.deepEqual(found, ['prefix orders', 'prefix orders.eu', 'wildcard jobs..cancel']);
    // `orders` is a one-part prefix's subject, and a name: still no procedure. `nomatch.>` is not a name at all.
    for (const name of ['orders', 'orders.eu', 'prefix orders', 'jobs..cancel', 'nomatch']) assert.equal(registry.get(name), undefined, name);
    assert.equal(await registry.lookup('orders'), undefined);
    assert.deepEqual(registry.list(), []);
  });

  it('answers a miss from its last view at once, and refreshes in the background', async (t) => {
    const registry = createRegistry(nc, { logger: silentLogger, refreshMs: 60_000 });
    t.after(() => registry.close());
    await registry.refresh();
    // Only a new $SRV.INFO would show this one: it never announces itself.
    const quiet = { type: 'io.nats.micro.v1.info_response', name: 'quiet', id: 'q1', version: '1.0.0', endpoints: [{ name: 'call', subject: 'quiet.call' }] };
    const rogue = respondToInfo([quiet]);
    t.after(() => rogue.unsubscribe());
    await nc.flush();
    assert.equal(await registry.lookup('quiet.call'), undefined, 'answered from the view the last refresh left');
    for (let i = 0; i < 100 && !registry.get('quiet.call'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(registry.get('quiet.call')?.services, ['quiet'], 'the miss refreshed the view behind it');
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
    const rogue = respondToInfo([reply('a', { heartbeat_ms: '2000' }), reply('b', {}, { heartbeat_ms: '1500' }), reply('c', { heartbeat_ms: '3000' })]);
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
