// The broker against hostile and advanced PUBLISH/SUBSCRIBE, over real NATS and two gateway processes: one
// publication id for every subscriber, eligible/exclude lists across gateways, MessagePack binary values,
// exact ids at 2^53, topic names checked before NATS sees them, and per-session limits with coded answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, Encoder } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession, RawClient } from './raw-client.ts';

type Gateway = Awaited<ReturnType<typeof start>>;

async function subscribe(client: RawClient, topic: string, options: Record<string, unknown> = {}): Promise<number> {
  client.send([32, 7, options, topic]);
  const [type, request, subscriptionId] = await client.next();
  assert.deepEqual([type, request], [33, 7]);
  return subscriptionId as number;
}

/** Publishes a marker with acknowledge and returns once PUBLISHED: everything published before it was routed first. */
async function publishMarker(client: RawClient, topic: string): Promise<void> {
  client.send([16, 99, { acknowledge: true, exclude_me: false }, topic, ['marker']]);
  assert.equal((await client.next())[0], 17);
}

/** The next frame's raw bytes. */
function nextRaw(client: RawClient): Promise<Buffer> {
  return new Promise((resolve) => client.ws.once('message', (data: Buffer) => resolve(data)));
}

/** Records the status events of a NATS connection. */
function watchStatus(nc: NatsConnection): string[] {
  const events: string[] = [];
  void (async () => {
    for await (const status of nc.status()) events.push(status.type);
  })();
  return events;
}

describe('gateway-wamp broker conformance', () => {
  let a: Gateway;
  let b: Gateway;
  let nc: NatsConnection;

  before(async () => {
    a = await start({ config: testConfig({ 'wamp.maxSubscriptionsPerSession': 3, 'wamp.maxMessageBytes': '4mb' }), logger: silentLogger });
    b = await start({ config: testConfig({ 'wamp.maxMessageBytes': 65_536 }), logger: silentLogger });
    nc = await connect({ servers: testConfig().nats.url });
  });

  after(async () => {
    await a.stop();
    await b.stop();
    await nc.drain();
  });

  it('gives every subscriber, on every gateway and serializer, the same publication id, acknowledged or not', async () => {
    const topic = uniqueName('pubid');
    const publisher = await openSession(a.wsUrl);
    const subscribers = await Promise.all([openSession(a.wsUrl), openSession(a.wsUrl, 'wamp.2.msgpack'), openSession(b.wsUrl), openSession(b.wsUrl, 'wamp.2.msgpack')]);
    for (const s of subscribers) await subscribe(s, topic);
    publisher.send([16, 1, {}, topic, ['quiet']]);
    const quiet = await Promise.all(subscribers.map((s) => s.next()));
    assert.deepEqual(
      quiet.map((e) => e[4]),
      subscribers.map(() => ['quiet']),
    );
    assert.equal(new Set(quiet.map((e) => e[2])).size, 1, 'one publication id without acknowledge');
    publisher.send([16, 2, { acknowledge: true }, topic, ['loud']]);
    const [, , published] = await publisher.next();
    const loud = await Promise.all(subscribers.map((s) => s.next()));
    assert.deepEqual(
      loud.map((e) => e[2]),
      subscribers.map(() => published),
    );
    assert.notEqual(published, quiet[0]![2]);
    await Promise.all([publisher, ...subscribers].map((c) => c.close()));
  });

  it('honours eligible, exclude and exclude_me across gateways', async () => {
    const topic = uniqueName('lists');
    const ids = new Map<RawClient, number>();
    const sessions = await Promise.all(
      [a.wsUrl, a.wsUrl, b.wsUrl, b.wsUrl].map(async (url, i) => {
        const client = await RawClient.open(url, i === 3 ? 'wamp.2.msgpack' : 'wamp.2.json');
        ids.set(client, await client.hello());
        return client;
      }),
    );
    const [pub, subA, subB1, subB2] = sessions as [RawClient, RawClient, RawClient, RawClient];
    for (const s of [pub, subA, subB1, subB2]) await subscribe(s, topic);
    const id = (c: RawClient) => ids.get(c)!;

    pub.send([16, 1, { eligible: [id(subB1), id(subA), id(pub)], exclude: [id(subA)], exclude_me: false }, topic, ['listed']]);
    await publishMarker(pub, topic);
    assert.deepEqual((await pub.next())[4], ['listed'], 'the publisher is eligible and exclude_me is false');
    assert.deepEqual((await pub.next())[4], ['marker']);
    assert.deepEqual((await subB1.next())[4], ['listed'], 'eligible on the other gateway');
    assert.deepEqual((await subB1.next())[4], ['marker']);
    assert.deepEqual((await subA.next())[4], ['marker'], 'eligible but excluded');
    assert.deepEqual((await subB2.next())[4], ['marker'], 'not eligible');

    pub.send([16, 2, { exclude: [id(subB2)] }, topic, ['most']]);
    await publishMarker(pub, topic);
    assert.deepEqual((await pub.next())[4], ['marker'], 'exclude_me defaults to true');
    for (const s of [subA, subB1]) assert.deepEqual([(await s.next())[4], (await s.next())[4]], [['most'], ['marker']]);
    assert.deepEqual((await subB2.next())[4], ['marker']);
    await Promise.all(sessions.map((c) => c.close()));
  });

  it('delivers MessagePack binary values unchanged to MessagePack subscribers, and as "\\0" + base64 to JSON ones', async () => {
    const topic = uniqueName('binary');
    const publisher = await openSession(a.wsUrl, 'wamp.2.msgpack');
    const [msgpack, json, remoteJson] = await Promise.all([openSession(b.wsUrl, 'wamp.2.msgpack'), openSession(a.wsUrl), openSession(b.wsUrl)]);
    for (const s of [msgpack, json, remoteJson]) await subscribe(s, topic);
    const natsSide = nc.subscribe(topic, { max: 1, timeout: 3000 });
    await nc.flush();
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    publisher.send([16, 1, { acknowledge: true }, topic, [bytes, 'text'], { blob: bytes }]);
    assert.equal((await publisher.next())[0], 17);
    const hex = (value: unknown) => Buffer.from(value as Uint8Array).toString('hex');
    const [, , , , args, kwargs] = (await msgpack.next()) as [number, number, number, Record<string, unknown>, [Uint8Array, string], { blob: Uint8Array }];
    assert.ok(args[0] instanceof Uint8Array && kwargs.blob instanceof Uint8Array, 'MessagePack bin, not a string or a list');
    assert.deepEqual([hex(args[0]), args[1], hex(kwargs.blob)], [hex(bytes), 'text', hex(bytes)]);
    const base64 = `\0${Buffer.from(bytes).toString('base64')}`;
    for (const s of [json, remoteJson]) {
      const event = await s.next();
      assert.deepEqual([event[4], event[5]], [[base64, 'text'], { blob: base64 }]);
    }
    for await (const msg of natsSide) {
      assert.equal(msg.headers?.get('Content-Type'), 'application/msgpack');
      const [natsArgs, natsKwargs] = decode(msg.data) as [[Uint8Array, string], { blob: Uint8Array }];
      assert.deepEqual([hex(natsArgs[0]), natsArgs[1], hex(natsKwargs.blob)], [hex(bytes), 'text', hex(bytes)]);
    }
    await Promise.all([publisher, msgpack, json, remoteJson].map((c) => c.close()));
  });

  it('echoes an id of 2^53 exactly: as a JSON integer and as a MessagePack uint64, never a float', async () => {
    const json = await openSession(a.wsUrl);
    json.sendRaw('[34, 9007199254740992, 1]', false);
    const text = (await nextRaw(json)).toString('utf8');
    assert.match(text, /^\[8,34,9007199254740992,\{\},"wamp\.error\.no_such_subscription"/);
    const msgpack = await openSession(a.wsUrl, 'wamp.2.msgpack');
    msgpack.sendRaw(new Encoder({ useBigInt64: true }).encode([34, BigInt(2 ** 53), 1]), true);
    const frame = await nextRaw(msgpack);
    assert.equal(frame.subarray(3, 12).toString('hex'), 'cf0020000000000000', 'the request id as a uint64');
    assert.deepEqual((decode(frame) as unknown[]).slice(0, 3), [8, 34, 2 ** 53]);
    await Promise.all([json.close(), msgpack.close()]);
  });

  it('refuses a 5,000-character topic with wamp.error.invalid_uri before NATS sees it, and the NATS connection stays up', async () => {
    const events = watchStatus(a.nats);
    const client = await openSession(a.wsUrl);
    const long = `t.${'x'.repeat(5000)}`;
    for (const [i, match] of ['exact', 'prefix', 'wildcard'].entries()) {
      client.send([32, i + 1, { match }, long]);
      assert.deepEqual((await client.next()).slice(0, 5), [8, 32, i + 1, {}, 'wamp.error.invalid_uri'], match);
    }
    client.send([16, 4, { acknowledge: true }, long, ['lost']]);
    assert.deepEqual((await client.next()).slice(0, 5), [8, 16, 4, {}, 'wamp.error.invalid_uri']);
    // The subject built must fit too: a 255-byte prefix becomes a 258-byte subject with `.>`.
    const edge = `t.${'y'.repeat(253)}`;
    client.send([32, 5, { match: 'prefix' }, edge]);
    assert.deepEqual((await client.next()).slice(0, 5), [8, 32, 5, {}, 'wamp.error.invalid_uri']);
    const topic = uniqueName('after');
    await subscribe(client, topic);
    await publishMarker(client, topic);
    assert.deepEqual((await client.next())[4], ['marker']);
    assert.deepEqual(
      events.filter((e) => e === 'disconnect' || e === 'error'),
      [],
    );
    assert.equal(a.nats.isClosed(), false);
    await client.close();
  });

  it('limits subscriptions per session with mesh.error.too_many_subscriptions, for that session only', async () => {
    const client = await openSession(a.wsUrl);
    const other = await openSession(a.wsUrl);
    const root = uniqueName('many');
    for (let i = 0; i < 3; i++) await subscribe(client, `${root}.${i}`);
    client.send([32, 8, {}, `${root}.3`]);
    const [type, requestType, request, , uri, args] = await client.next();
    assert.deepEqual([type, requestType, request, uri], [8, 32, 8, 'mesh.error.too_many_subscriptions']);
    assert.match((args as string[])[0]!, /at most 3 subscriptions/);
    await subscribe(other, `${root}.3`);
    client.send([34, 9, await subscribe(client, `${root}.0`)]);
    assert.deepEqual(await client.next(), [35, 9]);
    await subscribe(client, `${root}.3`);
    await Promise.all([client.close(), other.close()]);
  });

  it('holds a burst of pipelined SUBSCRIBEs to the limit: those waiting for NATS count', async () => {
    const client = await openSession(a.wsUrl);
    const root = uniqueName('burst');
    const BURST = 20;
    for (let i = 0; i < BURST; i++) client.send([32, 100 + i, {}, `${root}.${i}`]);
    const answers = [];
    for (let i = 0; i < BURST; i++) answers.push((await client.next())[0]);
    assert.deepEqual([answers.filter((t) => t === 33).length, answers.filter((t) => t === 8).length], [3, BURST - 3]);
    await client.close();
  });

  it('closes a session whose frame passes wamp.maxMessageBytes with 1009, and only that one', async () => {
    const big = await openSession(b.wsUrl);
    const other = await openSession(b.wsUrl);
    big.sendRaw(`[16, 1, {}, "a.b", ["${'z'.repeat(70_000)}"]]`, false);
    assert.equal((await big.closed).code, 1009);
    const topic = uniqueName('still');
    await subscribe(other, topic);
    await publishMarker(other, topic);
    assert.deepEqual((await other.next())[4], ['marker']);
    await other.close();
  });

  it("answers a PUBLISH larger than the NATS server's max_payload with mesh.error.payload_too_large, never a disconnect", async () => {
    const events = watchStatus(a.nats);
    const maxPayload = a.nats.info!.max_payload;
    const client = await openSession(a.wsUrl);
    const topic = uniqueName('huge');
    await subscribe(client, topic);
    client.send([16, 1, { acknowledge: true, exclude_me: false }, topic, ['h'.repeat(maxPayload)]]);
    const [type, requestType, request, , uri] = await client.next();
    assert.deepEqual([type, requestType, request, uri], [8, 16, 1, 'mesh.error.payload_too_large']);
    await publishMarker(client, topic);
    assert.deepEqual((await client.next())[4], ['marker'], 'the large event never went out');
    assert.deepEqual(
      events.filter((e) => e === 'disconnect' || e === 'error'),
      [],
    );
    await client.close();
  });
});
