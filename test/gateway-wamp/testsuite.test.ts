// The WAMP spec's testsuite vectors (test/gateway-wamp/testsuite-vectors.ts) sent raw to the router, in JSON and
// MessagePack, over a nats-server of the test's own (the vectors use fixed topic names). Each asserts the exact answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { start } from '../../gateway-wamp/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { RawClient, type Frame } from './raw-client.ts';
import { NOT_APPLICABLE, PUBLISHER_EXCLUSION_DISABLED, VECTOR_REALM, VECTORS, type Vector } from './testsuite-vectors.ts';

type Protocol = 'wamp.2.json' | 'wamp.2.msgpack';
const PROTOCOLS: Protocol[] = ['wamp.2.json', 'wamp.2.msgpack'];

/** A message that gets a known answer: UNSUBSCRIBE of a subscription nobody has. */
const PROBE = [34, 4242, 2 ** 53];
const PROBE_ANSWER = [8, 34, 4242, {}, 'wamp.error.no_such_subscription'];

function frame(vector: Vector, protocol: Protocol): string | Uint8Array {
  if (protocol === 'wamp.2.json') return vector.json ?? JSON.stringify(vector.message);
  return vector.msgpack ? Buffer.from(vector.msgpack, 'hex') : encode(vector.message);
}

/** The message as a value, for its request id and topic. */
function messageOf(vector: Vector): unknown[] {
  return vector.message ?? (JSON.parse(vector.json!) as unknown[]);
}

async function session(url: string, protocol: Protocol): Promise<RawClient> {
  const client = await RawClient.open(url, protocol);
  await client.hello(VECTOR_REALM);
  return client;
}

describe('WAMP testsuite vectors', () => {
  let nats: OwnNatsServer;
  let gateway: Awaited<ReturnType<typeof start>>;

  before(async () => {
    nats = await OwnNatsServer.start();
    gateway = await start({ config: testConfig({ 'nats.url': nats.url, 'wamp.realm': VECTOR_REALM }), logger: silentLogger });
  });

  after(async () => {
    await gateway?.stop();
    await nats?.stop();
  });

  it(`covers every vector: ${VECTORS.length} apply to a router, ${NOT_APPLICABLE.length} do not`, () => {
    assert.equal(new Set(VECTORS.map((v) => `${v.source} ${v.description}`)).size, VECTORS.length);
    for (const vector of NOT_APPLICABLE) assert.ok(vector.reason.length > 0);
  });

  for (const vector of VECTORS) {
    for (const protocol of PROTOCOLS) {
      it(`${vector.description} [${vector.source.replace('testsuite/', '')}, ${protocol}]`, async () => {
        const message = messageOf(vector);
        const requestId = message[1];
        const topic = message[3] as string;
        let subscriber: RawClient | undefined;
        if (vector.event !== undefined) {
          subscriber = await session(gateway.wsUrl, protocol);
          subscriber.send([32, 1, {}, topic]);
          assert.equal((await subscriber.next())[0], 33);
        }
        const client = await RawClient.open(gateway.wsUrl, protocol);
        if (vector.phase === 'session') await client.hello(VECTOR_REALM);
        client.sendRaw(frame(vector, protocol), protocol === 'wamp.2.msgpack');

        const { expect } = vector;
        const answer = expect.answer === 'closed' || expect.answer === 'none' ? undefined : await client.next();
        switch (expect.answer) {
          case 'violation': {
            const [type, details, reason] = answer as [number, { message: string }, string];
            assert.deepEqual([type, reason], [3, 'wamp.error.protocol_violation']);
            if (expect.contains) assert.ok(details.message.includes(expect.contains), details.message);
            assert.equal((await client.closed).code, 1002);
            return;
          }
          case 'closed':
            assert.equal((await client.closed).code, 1000);
            return;
          case 'goodbye':
            assert.deepEqual(answer, [6, {}, 'wamp.close.goodbye_and_out']);
            return client.close().then(() => undefined);
          case 'welcome':
            assert.equal(answer![0], 2);
            break;
          case 'subscribed':
          case 'registered':
          case 'published': {
            const code = { subscribed: 33, registered: 65, published: 17 }[expect.answer];
            const [type, request, id] = answer as [number, unknown, number];
            assert.deepEqual([type, request], [code, requestId]);
            assert.ok(Number.isInteger(id) && id >= 1 && id <= 2 ** 53);
            break;
          }
          case 'error':
            assert.deepEqual(answer!.slice(0, 5), [8, message[0], requestId, {}, expect.uri]);
            break;
          case 'none':
            break;
        }
        client.send(PROBE);
        assert.deepEqual((await client.next()).slice(0, 5), PROBE_ANSWER, 'nothing else was sent, and the session is still open');

        if (subscriber) {
          client.send([16, 4343, { acknowledge: true }, topic, ['marker']]);
          assert.equal((await client.next())[0], 17);
          let event: Frame = await subscriber.next();
          if (vector.event) {
            assert.deepEqual([event[0], event[4], event[5]], [36, vector.event.args, vector.event.kwargs]);
            event = await subscriber.next();
          }
          assert.deepEqual([event[0], event[4]], [36, ['marker']], 'no other event reached the subscriber');
          await subscriber.close();
        }
        await client.close();
      });
    }
  }

  for (const protocol of PROTOCOLS) {
    it(`publisher exclusion disabled, as a sequence [${PUBLISHER_EXCLUSION_DISABLED.source.replace('testsuite/', '')}, ${protocol}]`, async () => {
      const { subscribe, publish, eventArgs } = PUBLISHER_EXCLUSION_DISABLED;
      const client = await session(gateway.wsUrl, protocol);
      client.send([...subscribe]);
      const [type, request, subscriptionId] = await client.next();
      assert.deepEqual([type, request], [33, subscribe[1]]);
      client.send([...publish]);
      const [eventType, eventSubscription, publicationId, details, args] = await client.next();
      assert.deepEqual([eventType, eventSubscription, details, args], [36, subscriptionId, {}, eventArgs]);
      assert.ok(Number.isInteger(publicationId));
      await client.close();
    });
  }
});
