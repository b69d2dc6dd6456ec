// PubSub through gateway-wamp and real NATS: topics are subjects, prefix and wildcard subscriptions are NATS
// wildcards, sessions on one topic share one NATS subscription, and a publisher skips its own event unless it asks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { jsonCodec, MAX_DEPTH } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession, type RawClient } from './raw-client.ts';

const { SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBED, EVENT, PUBLISHED, ERROR } = MessageType;

async function subscribe(client: RawClient, topic: string, options: Record<string, unknown> = {}): Promise<number> {
  client.send([SUBSCRIBE, 7, options, topic]);
  const [type, request, subscriptionId] = await client.next();
  assert.deepEqual([type, request], [SUBSCRIBED, 7]);
  return subscriptionId as number;
}

describe('gateway-wamp pubsub', () => {
  let gateway: Awaited<ReturnType<typeof start>>;
  let nc: NatsConnection;

  before(async () => {
    const config = testConfig();
    gateway = await start({ config, logger: silentLogger });
    nc = await connect({ servers: config.nats.url });
  });

  after(async () => {
    await gateway.stop();
    await nc.drain();
  });

  /** Publishes JSON as any NATS client may, past the mesh codec's depth limit too. */
  const publishNats = async (subject: string, payload: unknown) => {
    nc.publish(subject, JSON.stringify(payload));
    await nc.flush();
  };

  it('delivers a NATS message [args, kwargs] as EVENT to a session subscribed to the subject', async () => {
    const topic = uniqueName('topic');
    const client = await openSession(gateway.wsUrl);
    const subscriptionId = await subscribe(client, `${topic}.news`);
    await publishNats(`${topic}.news`, [['hello'], { from: 'nats' }]);
    const [type, subscription, publicationId, details, args, kwargs] = await client.next();
    assert.deepEqual([type, subscription, details, args, kwargs], [EVENT, subscriptionId, {}, ['hello'], { from: 'nats' }]);
    assert.ok(Number.isInteger(publicationId) && (publicationId as number) >= 1);
    await client.close();
  });

  it('shares one NATS subscription and one subscription id among the sessions on a topic', async () => {
    const topic = uniqueName('shared');
    const { broker } = gateway.router;
    const before = broker.natsSubscriptions;
    const clients = await Promise.all([0, 1, 2].map(() => openSession(gateway.wsUrl)));
    const ids = [];
    for (const client of clients) ids.push(await subscribe(client, topic));
    assert.equal(new Set(ids).size, 1);
    assert.equal(broker.natsSubscriptions, before + 1);
    assert.equal(await subscribe(clients[0]!, topic), ids[0], 'subscribing again gives the same subscription');

    await publishNats(topic, [[1], {}]);
    const events = await Promise.all(clients.map((c) => c.next()));
    assert.equal(new Set(events.map((e) => e[2])).size, 1, 'one publication id per delivery');

    clients[0]!.send([34, 8, ids[0]]);
    assert.deepEqual(await clients[0]!.next(), [UNSUBSCRIBED, 8]);
    assert.equal(broker.natsSubscriptions, before + 1);
    await clients[1]!.close();
    await clients[2]!.close();
    for (let i = 0; i < 50 && broker.natsSubscriptions !== before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(broker.natsSubscriptions, before, 'the last session leaving drops the NATS subscription');
    clients[0]!.send([34, 9, ids[0]]);
    const [type, requestType, request, , uri] = await clients[0]!.next();
    assert.deepEqual([type, requestType, request, uri], [ERROR, 34, 9, 'wamp.error.no_such_subscription']);
    await clients[0]!.close();
  });

  it('maps prefix (a.b -> a.b.>) and wildcard (a..c -> a.*.c) subscriptions, with details.topic', async () => {
    const root = uniqueName('pattern');
    const client = await openSession(gateway.wsUrl);
    const prefix = await subscribe(client, `${root}.a`, { match: 'prefix' });
    await publishNats(`${root}.a.deep.down`, [['p'], {}]);
    const [type, subscription, , details, args] = await client.next();
    assert.deepEqual([type, subscription, details, args], [EVENT, prefix, { topic: `${root}.a.deep.down` }, ['p']]);
    const wildcard = await subscribe(client, `${root}..c`, { match: 'wildcard' });
    await publishNats(`${root}.b.c`, [['w'], {}]);
    const event = await client.next();
    assert.deepEqual([event[0], event[1], event[3], event[4]], [EVENT, wildcard, { topic: `${root}.b.c` }, ['w']]);
    await client.close();
  });

  it('matches a prefix by string, as WAMP does: a.b gets a.b, a.b.c and a.bc, never a.c or a requests', async () => {
    const root = uniqueName('strprefix');
    const client = await openSession(gateway.wsUrl);
    const prefix = await subscribe(client, `${root}.ab`, { match: 'prefix' });
    nc.publish(`${root}.abc`, JSON.stringify([['request'], {}]), { reply: 'someone.else' });
    for (const topic of [`${root}.a`, `${root}.ac`, `${root}.ab`, `${root}.abc.d`, `${root}.abc`]) await publishNats(topic, [[topic], {}]);
    const heard = [];
    for (let i = 0; i < 3; i++) {
      const [type, subscription, , details, args] = await client.next();
      assert.deepEqual([type, subscription, args], [EVENT, prefix, [(details as { topic: string }).topic]]);
      heard.push((details as { topic: string }).topic);
    }
    assert.deepEqual(heard, [`${root}.ab`, `${root}.abc.d`, `${root}.abc`]);
    // A one-part prefix keeps its part whole: it would otherwise listen on the whole mesh.
    const one = await subscribe(client, `${root}x`, { match: 'prefix' });
    for (const topic of [`${root}xy`, `${root}x`, `${root}x.y`]) await publishNats(topic, [[topic], {}]);
    for (const topic of [`${root}x`, `${root}x.y`])
      assert.deepEqual(
        (await client.next()).slice(1, 5).filter((_, i) => i !== 1),
        [one, { topic }, [topic]],
      );
    await client.close();
  });

  it('names no publisher for a malformed disclosure in Wamp-Publication, and still delivers the event', async () => {
    const topic = uniqueName('disclosed');
    const client = await openSession(gateway.wsUrl);
    const subscription = await subscribe(client, topic);
    const values = ['5;x;a;b', '5;7;%zz;b', '5;7;a', '5;7;a;b;c', '5;0;a;b', '5;7;a;b'];
    for (const value of values) {
      const headers = natsHeaders();
      headers.set('Wamp-Publication', value);
      nc.publish(topic, JSON.stringify([[value], {}]), { headers });
    }
    await nc.flush();
    for (const value of values) {
      const [type, id, publication, details, args] = await client.next();
      const disclosed = value === '5;7;a;b' ? { publisher: 7, publisher_authid: 'a', publisher_authrole: 'b' } : {};
      assert.deepEqual([type, id, publication, details, args], [EVENT, subscription, 5, disclosed, [value]]);
    }
    await client.close();
  });

  it('publishes [args, kwargs] to NATS and acknowledges with PUBLISHED when asked', async () => {
    const topic = uniqueName('out');
    const client = await openSession(gateway.wsUrl);
    const sub = nc.subscribe(topic, { max: 1, timeout: 3000 });
    await nc.flush();
    client.send([16, 3, { acknowledge: true }, topic, ['a', 1], { k: true }]);
    const [type, request, publicationId] = await client.next();
    assert.deepEqual([type, request], [PUBLISHED, 3]);
    assert.ok(Number.isInteger(publicationId));
    for await (const msg of sub) assert.deepEqual(jsonCodec.decode(msg.data), [['a', 1], { k: true }]);
    await client.close();
  });

  it('does not send a publisher its own event, even back through NATS, unless exclude_me is false', async () => {
    const topic = uniqueName('echo');
    const publisher = await openSession(gateway.wsUrl);
    const listener = await openSession(gateway.wsUrl);
    await subscribe(publisher, topic);
    await subscribe(listener, topic);

    publisher.send([16, 1, { acknowledge: true }, topic, ['first']]);
    const [, , publicationId] = await publisher.next();
    const heard = await listener.next();
    assert.deepEqual([heard[0], heard[2], heard[4]], [EVENT, publicationId, ['first']], 'the same publication id as PUBLISHED');

    publisher.send([16, 2, { exclude_me: false }, topic, ['second']]);
    const own = await publisher.next();
    assert.deepEqual([own[0], own[4]], [EVENT, ['second']], "the publisher's next message is the event it asked for, not 'first'");
    assert.deepEqual((await listener.next())[4], ['second']);
    await Promise.all([publisher.close(), listener.close()]);
  });

  it('refuses an acknowledged PUBLISH whose arguments are nested deeper than its serializer encodes', async () => {
    const topic = uniqueName('deep');
    const client = await openSession(gateway.wsUrl);
    const depth = 20_000;
    client.sendRaw(`[16, 3, {"acknowledge": true}, "${topic}", [${'['.repeat(depth)}${']'.repeat(depth)}]]`, false);
    const [type, requestType, requestId, , uri, args] = await client.next();
    assert.deepEqual([type, requestType, requestId, uri, args], [ERROR, 16, 3, 'wamp.error.invalid_argument', [`arguments cannot be encoded: value is nested deeper than ${MAX_DEPTH} levels`]]);
    await client.close();
  });

  it(`delivers an event ${MAX_DEPTH} levels deep to both serializers, one deeper to none, and goes on delivering`, async () => {
    const topic = uniqueName('deep_event');
    const packed = await openSession(gateway.wsUrl, 'wamp.2.msgpack');
    const plain = await openSession(gateway.wsUrl);
    await subscribe(packed, topic);
    await subscribe(plain, topic);
    /** `levels` arrays one inside another: with [args, kwargs] around them, a payload levels + 1 deep. */
    const nested = (levels: number) => {
      let value: unknown[] = [];
      for (let i = 1; i < levels; i++) value = [value];
      return value;
    };
    await publishNats(topic, [nested(MAX_DEPTH), {}]);
    await publishNats(topic, [nested(MAX_DEPTH - 1), {}]);
    await publishNats(topic, [['after'], {}]);
    for (const session of [plain, packed]) {
      assert.deepEqual((await session.next())[4], nested(MAX_DEPTH - 1));
      assert.deepEqual((await session.next())[4], ['after']);
    }
    await Promise.all([packed.close(), plain.close()]);
  });

  it('refuses topics that are not subjects a client may use', async () => {
    const client = await openSession(gateway.wsUrl);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['$SYS.REQ.SERVER.PING', {}, 'wamp.error.invalid_uri'],
      ['_INBOX.abc', {}, 'wamp.error.invalid_uri'],
      ['a.*', {}, 'wamp.error.invalid_uri'],
      ['a.>', {}, 'wamp.error.invalid_uri'],
      ['a..b', {}, 'wamp.error.invalid_uri'],
      ['has space.b', {}, 'wamp.error.invalid_uri'],
      ['.b', { match: 'wildcard' }, 'wamp.error.invalid_uri'],
      ['wamp.session.on_nothing', {}, 'wamp.error.invalid_uri'],
      ['wamp.session.on_join', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['a\u0000b', {}, 'wamp.error.invalid_uri'],
    ];
    for (const [index, [topic, options, uri]] of cases.entries()) {
      client.send([SUBSCRIBE, index + 1, options, topic]);
      const [type, requestType, request, , error] = await client.next();
      assert.deepEqual([type, requestType, request, error], [ERROR, SUBSCRIBE, index + 1, uri], topic);
    }
    client.send([16, 99, { acknowledge: true }, '$SRV.PING', []]);
    assert.deepEqual((await client.next()).slice(0, 5), [ERROR, 16, 99, {}, 'wamp.error.invalid_uri']);
    await client.close();
  });
});
