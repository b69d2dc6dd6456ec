// Values one serializer can carry and another cannot: a JSON caller's arguments nested deeper than MessagePack goes,
// for a MessagePack callee. The caller gets INVALID_ARGUMENT at once, and the gateway's NATS connection, the same one
// from start to end, keeps serving every other session meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { CONTENT_TYPE_HEADER, jsonCodec, MAX_DEPTH, msgpackCodec, natsEvents, type ErrorBody } from '../../mesh/gateway.ts';
import { kwargsWithoutErrorId, OwnNatsServer, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { RawClient } from './raw-client.ts';

const { ERROR, CALL, REGISTER, REGISTERED, INVOCATION, YIELD, RESULT, SUBSCRIBE, SUBSCRIBED, PUBLISH, PUBLISHED } = MessageType;

/** `[[[ … 1 … ]]]`, `levels` arrays deep. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** The client ids of the server's connections with the given name, from /connz. */
async function clientIds(server: OwnNatsServer, name: string): Promise<number[]> {
  const connz = (await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections?: { cid: number; name?: string }[] };
  return (connz.connections ?? []).filter((c) => c.name === name).map((c) => c.cid);
}

describe('gateway-wamp across serializers', () => {
  let server: OwnNatsServer;
  let gateway: RunningWampGateway;
  let nc: NatsConnection;
  const clients: RawClient[] = [];

  before(async () => {
    server = await OwnNatsServer.start({ monitoring: true });
    gateway = await start({ config: testConfig({ 'nats.url': server.url }), logger: silentLogger });
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    for (const client of clients) await client.close();
    await gateway.stop();
    await nc.drain();
    await server.stop();
  });

  async function session(protocol: 'wamp.2.json' | 'wamp.2.msgpack'): Promise<RawClient> {
    const client = await RawClient.open(gateway.wsUrl, protocol);
    clients.push(client);
    await client.hello();
    return client;
  }

  /** A callee that answers every INVOCATION with its first argument, until the test ends. */
  async function echoCallee(protocol: 'wamp.2.json' | 'wamp.2.msgpack', procedure: string): Promise<void> {
    const callee = await session(protocol);
    callee.send([REGISTER, 1, {}, procedure]);
    assert.deepEqual((await callee.next()).slice(0, 2), [REGISTERED, 1]);
    callee.ws.on('message', () => {
      void callee.next().then(([type, invocationId, , , args]) => {
        if (type === INVOCATION) callee.send([YIELD, invocationId, {}, [(args as unknown[])[0]]]);
      });
    });
  }

  it('a JSON caller whose arguments nest deeper than MessagePack goes gets INVALID_ARGUMENT at once, and 300 other calls go on', async () => {
    const deep = `${uniqueName('com.h3')}.deep`;
    const echo = `${uniqueName('com.h3')}.echo`;
    const callee = await session('wamp.2.msgpack');
    callee.send([REGISTER, 1, {}, deep]);
    assert.deepEqual((await callee.next()).slice(0, 2), [REGISTERED, 1]);
    await echoCallee('wamp.2.json', echo);
    const [cid] = await clientIds(server, 'gateway-wamp');
    assert.ok(cid !== undefined, 'the gateway is connected');

    const hostile = await session('wamp.2.json');
    const bystander = await session('wamp.2.json');
    hostile.send([CALL, 7, {}, deep, [nested(150)], {}]);
    const answers = Array.from({ length: 300 }, (_, i) => {
      bystander.send([CALL, i + 1, {}, echo, [i], {}]);
      return i;
    });
    const [type, requestType, requestId, , uri, , kwargs] = await hostile.next();
    assert.deepEqual([type, requestType, requestId, uri], [ERROR, CALL, 7, 'wamp.error.invalid_argument']);
    assert.deepEqual(kwargsWithoutErrorId(kwargs), { code: 'INVALID_ARGUMENT', message: `arguments cannot be encoded: value is nested deeper than ${MAX_DEPTH} levels`, status: 400 });

    const results = new Map<number, unknown>();
    for (const _ of answers) {
      const [resultType, id, , args] = await bystander.next(10_000);
      assert.equal(resultType, RESULT);
      results.set(id as number, (args as unknown[])[0]);
    }
    assert.deepEqual(
      [...results.keys()].sort((a, b) => a - b),
      answers.map((i) => i + 1),
    );
    for (const [id, value] of results) assert.equal(value, id - 1);
    assert.deepEqual(await clientIds(server, 'gateway-wamp'), [cid], 'the same NATS connection throughout');
    assert.deepEqual(natsEvents(gateway.nats), { disconnects: 0, reconnects: 0, stale: 0 });
  });

  it('a raw NATS request too deep for a MessagePack callee is answered INVALID_ARGUMENT, and the callee hears nothing', async () => {
    const procedure = `${uniqueName('com.h3')}.deep`;
    const callee = await session('wamp.2.msgpack');
    callee.send([REGISTER, 1, {}, procedure]);
    assert.deepEqual((await callee.next()).slice(0, 2), [REGISTERED, 1]);
    const msgpackHeaders = natsHeaders();
    msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
    const jsonReply = await nc.request(procedure, Buffer.from(`[[${'['.repeat(150)}1${']'.repeat(150)}],{}]`), { timeout: 5000 });
    assert.equal((jsonCodec.decode(jsonReply.data) as ErrorBody).error.code, 'INVALID_ARGUMENT');
    // [[<150 nested arrays>], {}], written by hand: the library refuses to write it.
    const msgpackBody = Buffer.concat([Buffer.from([0x92, 0x91]), Buffer.alloc(150, 0x91), Buffer.from([0x01, 0x80])]);
    const msgpackReply = await nc.request(procedure, msgpackBody, { timeout: 5000, headers: msgpackHeaders });
    assert.equal((msgpackCodec.decode(msgpackReply.data) as ErrorBody).error.code, 'INVALID_ARGUMENT');
    await assert.rejects(callee.next(300), /no message from the router/);
  });

  it('an event too deep for MessagePack subscribers is refused to its JSON publisher, and reaches no one', async () => {
    const topic = `${uniqueName('com.h3')}.news`;
    const subscriber = await session('wamp.2.msgpack');
    subscriber.send([SUBSCRIBE, 1, {}, topic]);
    assert.deepEqual((await subscriber.next()).slice(0, 2), [SUBSCRIBED, 1]);
    const publisher = await session('wamp.2.json');
    publisher.send([PUBLISH, 2, { acknowledge: true }, topic, [nested(150)], {}]);
    const [type, requestType, requestId, , uri] = await publisher.next();
    assert.deepEqual([type, requestType, requestId, uri], [ERROR, PUBLISH, 2, 'wamp.error.invalid_argument']);
    publisher.send([PUBLISH, 3, { acknowledge: true }, topic, [nested(10)], {}]);
    assert.deepEqual((await publisher.next()).slice(0, 2), [PUBLISHED, 3]);
    const [eventType, , , , args] = await subscriber.next();
    assert.deepEqual([eventType, args], [MessageType.EVENT, [nested(10)]]);
  });
});
