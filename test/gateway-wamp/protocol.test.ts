// The WAMP session protocol of gateway-wamp, frame by frame: HELLO/WELCOME, realms, GOODBYE, the handshake,
// and every protocol violation sent raw, each answered with ABORT wamp.error.protocol_violation and close 1002.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { jsonCodec } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession, RawClient } from './raw-client.ts';

const HELLO = '[1, "realm1", {"roles": {"subscriber": {}}}]';
const { CALL, ERROR, INVOCATION, RESULT, YIELD } = MessageType;

/** A violation: frames sent after the socket opens; `established` sends a valid HELLO first. */
interface Violation {
  name: string;
  established: boolean;
  frame: string | Uint8Array;
  binary?: boolean;
  protocol?: 'wamp.2.json' | 'wamp.2.msgpack';
}

const VIOLATIONS: Violation[] = [
  { name: 'a JSON object instead of an array', established: false, frame: '{"type": 1}' },
  { name: 'text that is not JSON', established: false, frame: '[1, "realm1"' },
  { name: 'an empty array', established: false, frame: '[]' },
  { name: 'an unknown message type', established: false, frame: '[999, 1, {}]' },
  { name: 'a type code that is not a number', established: false, frame: '["HELLO", "realm1", {}]' },
  { name: 'a router-only message (WELCOME) from a client', established: false, frame: '[2, 1, {}]' },
  { name: 'HELLO with a realm that is not a string', established: false, frame: '[1, 42, {"roles": {}}]' },
  { name: 'HELLO without roles', established: false, frame: '[1, "realm1", {}]' },
  { name: 'HELLO with too many fields', established: false, frame: '[1, "realm1", {"roles": {}}, 4]' },
  { name: 'SUBSCRIBE before HELLO', established: false, frame: '[32, 1, {}, "a.b"]' },
  { name: 'CALL before HELLO', established: false, frame: '[48, 1, {}, "a.b", []]' },
  { name: 'GOODBYE before HELLO', established: false, frame: '[6, {}, "wamp.close.close_realm"]' },
  { name: 'a second HELLO', established: true, frame: HELLO },
  { name: 'AUTHENTICATE in an open session (no CHALLENGE was sent)', established: true, frame: '[5, "ticket", {}]' },
  { name: 'a request id that is a string', established: true, frame: '[32, "1", {}, "a.b"]' },
  { name: 'a request id of 0', established: true, frame: '[32, 0, {}, "a.b"]' },
  { name: 'a request id over 2^53', established: true, frame: '[48, 18014398509481984, {}, "a.b"]' },
  { name: 'a fractional request id', established: true, frame: '[48, 1.5, {}, "a.b"]' },
  { name: 'options that are a list', established: true, frame: '[48, 1, [], "a.b"]' },
  { name: 'a topic that is not a string', established: true, frame: '[16, 1, {}, 7]' },
  { name: 'arguments that are not a list', established: true, frame: '[16, 1, {}, "a.b", {"x": 1}]' },
  { name: 'keyword arguments that are not a dict', established: true, frame: '[48, 1, {}, "a.b", [], []]' },
  { name: 'UNSUBSCRIBE with a missing field', established: true, frame: '[34, 1]' },
  { name: 'YIELD with too many fields', established: true, frame: '[70, 1, {}, [], {}, 5]' },
  { name: 'ERROR for a CALL (clients send ERROR only for INVOCATION)', established: true, frame: '[8, 48, 1, {}, "a.b"]' },
  { name: 'a router-only message (EVENT) in a session', established: true, frame: '[36, 1, 1, {}, []]' },
  { name: 'SUBSCRIBE with a match policy that is not exact, prefix or wildcard', established: true, frame: '[32, 1, {"match": "fuzzy"}, "a.b"]' },
  { name: 'PUBLISH with acknowledge that is not a boolean', established: true, frame: '[16, 1, {"acknowledge": 1}, "a.b"]' },
  { name: 'CALL with a timeout that is a string', established: true, frame: '[48, 1, {"timeout": "100"}, "a.b"]' },
  { name: 'CALL with receive_progress that is not a boolean', established: true, frame: '[48, 1, {"receive_progress": "yes"}, "a.b"]' },
  { name: 'REGISTER with a match that is not a string', established: true, frame: '[64, 1, {"match": 1}, "a.b"]' },
  { name: 'REGISTER with invoke that is not a string', established: true, frame: '[64, 1, {"invoke": ["single"]}, "a.b"]' },
  { name: 'PUBLISH excluding an authid that is no Unicode text (a lone surrogate)', established: true, frame: '[16, 1, {"acknowledge": true, "exclude_authid": ["\\ud800"]}, "a.b"]' },
  { name: 'PUBLISH eligible to an authrole that is no Unicode text (a lone surrogate)', established: true, frame: '[16, 1, {"eligible_authrole": ["admin", "\\udfff"]}, "a.b"]' },
  { name: 'PUBLISH excluding more sessions than a header may list', established: true, frame: `[16, 1, {"exclude": [${Array.from({ length: 100_000 }, (_, i) => i + 1).join(',')}]}, "a.b"]` },
  { name: 'a request id past 2^53 that JSON rounds to 2^53', established: true, frame: '[32, 9007199254740993, {}, "a.b"]' },
  { name: 'a request id written as a float', established: true, frame: '[32, 1.0, {}, "a.b"]' },
  { name: 'a request id in exponent notation', established: true, frame: '[32, 1e3, {}, "a.b"]' },
  {
    name: 'a msgpack uint64 request id past 2^53',
    established: true,
    frame: new Uint8Array([0x94, 0x20, 0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x80, 0xa3, 0x61, 0x2e, 0x62]),
    binary: true,
    protocol: 'wamp.2.msgpack',
  },
  { name: 'a JSON message in a binary frame', established: false, frame: new TextEncoder().encode(HELLO), binary: true },
  { name: 'a msgpack message in a text frame', established: false, frame: HELLO, protocol: 'wamp.2.msgpack' },
  { name: 'bytes that are not msgpack', established: false, frame: new Uint8Array([0xc1]), binary: true, protocol: 'wamp.2.msgpack' },
  { name: 'msgpack with trailing bytes', established: false, frame: new Uint8Array([...encode([1, 'realm1', { roles: {} }]), 0x01]), binary: true, protocol: 'wamp.2.msgpack' },
  { name: 'a msgpack map instead of an array', established: false, frame: encode({ type: 1 }), binary: true, protocol: 'wamp.2.msgpack' },
  { name: 'msgpack SUBSCRIBE before HELLO', established: false, frame: encode([32, 1, {}, 'a.b']), binary: true, protocol: 'wamp.2.msgpack' },
  { name: 'CALL with disclose_me that is not a boolean', established: true, frame: '[48, 1, {"disclose_me": "yes"}, "wamp.session.count"]' },
  { name: 'PUBLISH with disclose_me that is not a boolean', established: true, frame: '[16, 1, {"disclose_me": 1}, "a.b"]' },
];

describe('gateway-wamp sessions', () => {
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

  it('answers HELLO with WELCOME: a random session id in [1, 2^53] and the router roles', async () => {
    const client = await RawClient.open(gateway.wsUrl);
    client.sendRaw(HELLO, false);
    const [type, id, details] = (await client.next()) as [number, number, { realm: string; roles: unknown }];
    assert.equal(type, 2);
    assert.ok(Number.isInteger(id) && id >= 1 && id <= 2 ** 53, `session id ${id}`);
    assert.equal(details.realm, 'realm1');
    assert.deepEqual(details.roles, {
      broker: {
        features: {
          pattern_based_subscription: true,
          publisher_exclusion: true,
          publisher_identification: true,
          session_meta_api: true,
          subscriber_blackwhite_listing: true,
          subscription_meta_api: true,
        },
      },
      dealer: {
        features: {
          call_canceling: true,
          call_timeout: true,
          caller_identification: true,
          pattern_based_registration: true,
          progressive_call_results: true,
          registration_meta_api: true,
          registration_revocation: true,
          session_meta_api: true,
          shared_registration: true,
          testament_meta_api: true,
        },
      },
    });
    await client.close();
  });

  it('gives each session its own id, over both serializers', async () => {
    const json = await RawClient.open(gateway.wsUrl, 'wamp.2.json');
    const msgpack = await RawClient.open(gateway.wsUrl, 'wamp.2.msgpack');
    assert.equal(json.ws.protocol, 'wamp.2.json');
    assert.equal(msgpack.ws.protocol, 'wamp.2.msgpack');
    const [a, b] = await Promise.all([json.hello(), msgpack.hello()]);
    assert.notEqual(a, b);
    await Promise.all([json.close(), msgpack.close()]);
  });

  it('aborts HELLO for an unknown realm with wamp.error.no_such_realm', async () => {
    const client = await RawClient.open(gateway.wsUrl);
    client.sendRaw('[1, "nowhere", {"roles": {"caller": {}}}]', false);
    const [type, details, reason] = (await client.next()) as [number, { message: string }, string];
    assert.equal(type, 3);
    assert.equal(reason, 'wamp.error.no_such_realm');
    assert.match(details.message, /nowhere/);
    assert.equal((await client.closed).code, 1000);
  });

  it('ignores answers to invocations it never sent (a late INTERRUPT answer, a YIELD, a progressive YIELD) and goes on', async () => {
    const client = await RawClient.open(gateway.wsUrl);
    await client.hello();
    client.send([ERROR, INVOCATION, 77, {}, 'wamp.error.canceled', []]);
    client.send([YIELD, 78, {}, ['late']]);
    client.send([YIELD, 79, { progress: true }, ['later']]);
    client.send([CALL, 80, {}, 'wamp.session.count']);
    const [type, request, , [count]] = (await client.next()) as [number, number, unknown, [number]];
    assert.deepEqual([type, request, Number.isInteger(count) && count >= 1], [RESULT, 80, true]);
    await client.close();
  });

  it('answers a meta procedure with a wrong argument wamp.error.invalid_argument, never an internal error', async () => {
    const client = await RawClient.open(gateway.wsUrl);
    await client.hello();
    const cases: [string, unknown[], Record<string, unknown>][] = [
      ['wamp.session.get', [], {}],
      ['wamp.session.get', [2 ** 60], {}],
      ['wamp.session.count', ['admin'], {}],
      ['wamp.registration.lookup', ['a.b', { match: 'fuzzy' }], {}],
      ['wamp.subscription.match', [42], {}],
      ['wamp.subscription.list_subscribers', [null], {}],
      ['wamp.session.add_testament', ['a.b', {}], {}],
      ['wamp.session.add_testament', ['a.b', [], []], {}],
      ['wamp.session.add_testament', ['a.b', []], { publish_options: [] }],
      ['wamp.session.flush_testaments', [], { scope: 'everything' }],
    ];
    for (const [index, [procedure, args, kwargs]] of cases.entries()) {
      client.send([CALL, index + 1, {}, procedure, args, kwargs]);
      const [type, requestType, request, , uri] = await client.next();
      assert.deepEqual([type, requestType, request, uri], [ERROR, CALL, index + 1, 'wamp.error.invalid_argument'], `${procedure} ${JSON.stringify([args, kwargs])}`);
    }
    await client.close();
  });

  it('answers GOODBYE with GOODBYE wamp.close.goodbye_and_out, and then takes a new HELLO', async () => {
    const client = await openSession(gateway.wsUrl);
    client.sendRaw('[6, {}, "wamp.close.close_realm"]', false);
    assert.deepEqual(await client.next(), [6, {}, 'wamp.close.goodbye_and_out']);
    assert.ok((await client.hello()) >= 1);
    await client.close();
  });

  it('refuses a websocket without a WAMP subprotocol (400) and other paths (404)', async () => {
    const status = (url: string, protocols: string[]) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url, protocols);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('the websocket opened')));
        ws.once('error', () => undefined);
      });
    assert.equal(await status(gateway.wsUrl, []), 400);
    assert.equal(await status(gateway.wsUrl, ['wamp.2.cbor']), 400);
    assert.equal(await status(gateway.wsUrl.replace(/\/ws$/, '/other'), ['wamp.2.json']), 404);
  });

  describe('protocol violations', () => {
    let bystander: RawClient;
    const topic = uniqueName('bystander');

    before(async () => {
      bystander = await openSession(gateway.wsUrl);
      bystander.send([32, 1, {}, topic]);
      assert.equal((await bystander.next())[0], 33);
    });

    for (const violation of VIOLATIONS) {
      it(`aborts ${violation.name}`, async () => {
        const client = await RawClient.open(gateway.wsUrl, violation.protocol);
        if (violation.established) await client.hello();
        client.sendRaw(violation.frame, violation.binary ?? false);
        const [type, details, reason] = (await client.next()) as [number, { message: string }, string];
        assert.equal(type, 3, 'ABORT');
        assert.equal(reason, 'wamp.error.protocol_violation');
        assert.equal(typeof details.message, 'string');
        assert.deepEqual(await client.closed, { code: 1002, reason: 'protocol violation' });
      });
    }

    it('leaves the gateway and the other sessions going', async () => {
      nc.publish(topic, jsonCodec.encode([['still here'], {}]));
      const [type, , , , args] = await bystander.next();
      assert.equal(type, 36);
      assert.deepEqual(args, ['still here']);
      const fresh = await openSession(gateway.wsUrl);
      await fresh.close();
      await bystander.close();
    });
  });
});
