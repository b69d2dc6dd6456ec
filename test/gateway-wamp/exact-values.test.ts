// Integers past 2^53 and binary cross every path exactly: WAMP MessagePack and JSON sessions in all four pairings, a
// mesh service called over NATS in either codec, a raw NATS MessagePack service, and a raw NATS JSON caller.
// MessagePack frames are read here with int64 as bigint; JSON frames are read as the text the router wrote.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createClient, hostService, reply, rpc, type HostedService } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { RawClient, type Frame } from './raw-client.ts';

const { CALL, REGISTER, REGISTERED, INVOCATION, YIELD, RESULT, ERROR } = MessageType;

/** The table: the edges of int64 and uint64 past 2^53, two bytes and no bytes, and an ordinary integer. */
const VALUES = [2n ** 53n, -(2n ** 53n), 2n ** 60n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, Uint8Array.of(0xff, 0xfe), new Uint8Array(0), 5];
/** The same as WAMP's JSON serializer writes it. */
const VALUES_JSON = '[9007199254740992,-9007199254740992,1152921504606846976,9223372036854775807,-9223372036854775808,18446744073709551615,"\\u0000//4=","\\u0000",5]';
/**
 * A table of each kind alone, written both ways, each naming where its values come from: a value with only bytes, or
 * only bigints, takes paths of its own. The spec's byte arrays are its examples (wamp-proto/wamp-proto spec/basic.md).
 */
type Table = { source: string; values: unknown[]; json: string };
const TABLES: Table[] = [
  { source: 'issue 21 item 3: the int64/uint64 edges past 2^53, two bytes, no bytes', values: VALUES, json: VALUES_JSON },
  { source: 'issue 21 item 3: binary alone', values: [Uint8Array.of(0xff, 0xfe), new Uint8Array(0)], json: '["\\u0000//4=","\\u0000"]' },
  { source: 'msgpack spec.md (Limitation): an Integer is from -(2^63) upto (2^64)-1', values: [2n ** 64n - 1n, -(2n ** 63n)], json: '[18446744073709551615,-9223372036854775808]' },
  {
    source: 'spec/basic.md (Binary conversion of JSON Strings): the example and the JavaScript example',
    values: [Buffer.from('10e3ff9053075c526f5fc06d4fe37cdb', 'hex'), Uint8Array.from({ length: 16 }, (_, i) => i)].map((bytes) => Uint8Array.from(bytes)),
    json: '["\\u0000EOP/kFMHXFJvX8BtT+N82w==","\\u0000AAECAwQFBgcICQoLDA0ODw=="]',
  },
];
/** What a handler sees for each. */
const KINDS = ['bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'bytes', 'bytes', 'number'];

const kindOf = (value: unknown) => (value instanceof Uint8Array ? 'bytes' : typeof value);

/** MessagePack as any exact client reads it (int64 as bigint, bin as a Uint8Array); JSON with its text as one more field. */
function readExact(data: Buffer, isBinary: boolean): Frame {
  if (isBinary) return decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), { useBigInt64: true }) as Frame;
  const text = data.toString('utf8');
  return [...(JSON.parse(text) as Frame), text];
}

/** The text of a JSON frame as the router wrote it. */
const textOf = (frame: Frame) => frame.at(-1) as string;

class ExactService {
  name = uniqueName('exact');

  @rpc({ variadic: true })
  async echo(args: unknown[]) {
    return reply(args, { kinds: args.map(kindOf) });
  }

  @rpc async largest() {
    return 2n ** 64n - 1n;
  }

  @rpc async beyond() {
    return 2n ** 64n;
  }
}

describe('exact values across serializers', () => {
  let nc: NatsConnection;
  let gateway: RunningWampGateway;
  let hosted: HostedService;
  const service = new ExactService();
  const clients: RawClient[] = [];

  before(async () => {
    const config = testConfig();
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(service, { nc, logger: silentLogger });
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    for (const client of clients) await client.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  async function session(protocol: 'wamp.2.json' | 'wamp.2.msgpack'): Promise<RawClient> {
    const client = await RawClient.open(gateway.wsUrl, protocol, {}, readExact);
    clients.push(client);
    await client.hello();
    return client;
  }

  /** A session in `protocol` that has registered `procedure`. */
  async function registered(protocol: 'wamp.2.json' | 'wamp.2.msgpack', procedure: string): Promise<RawClient> {
    const callee = await session(protocol);
    callee.send([REGISTER, 1, {}, procedure]);
    assert.deepEqual((await callee.next()).slice(0, 2), [REGISTERED, 1]);
    return callee;
  }

  /** Sends a frame; in a MessagePack session bigints are int64/uint64, in a JSON session the frame is text as given. */
  function send(client: RawClient, frame: Frame | string): void {
    if (typeof frame === 'string') client.sendRaw(frame, false);
    else client.sendRaw(encode(frame, { useBigInt64: true }), true);
  }

  /** CALL with a table as arguments, in the caller's serializer. */
  function callWithValues(caller: RawClient, requestId: number, procedure: string, table = TABLES[0]!): void {
    if (caller.binary) send(caller, [CALL, requestId, {}, procedure, table.values, {}]);
    else send(caller, `[${CALL},${requestId},{},"${procedure}",${table.json},{}]`);
  }

  /** Asserts a RESULT holds a table as its arguments, as the caller's serializer writes it. */
  function assertValues(caller: RawClient, frame: Frame, requestId: number, table = TABLES[0]!): void {
    if (caller.binary) {
      assert.deepEqual(frame.slice(0, 2), [RESULT, requestId]);
      assert.deepEqual(frame[3], table.values, table.source);
    } else {
      assert.match(textOf(frame), new RegExp(`^\\[${RESULT},${requestId},\\{\\},${escape(table.json)}`), table.source);
    }
  }

  /** A callee in `protocol` that answers one INVOCATION with its arguments, after checking they are the table. */
  async function echoCallee(protocol: 'wamp.2.json' | 'wamp.2.msgpack', procedure: string, table = TABLES[0]!): Promise<{ answered: Promise<void> }> {
    const callee = await registered(protocol, procedure);
    const answered = (async () => {
      const invocation = await callee.next();
      if (callee.binary) {
        assert.equal(invocation[0], INVOCATION);
        assert.deepEqual(invocation[4], table.values);
        send(callee, [YIELD, invocation[1], {}, invocation[4]]);
      } else {
        const id = invocation[1];
        assert.match(textOf(invocation), new RegExp(`^\\[${INVOCATION},${id},\\d+,\\{\\},${escape(table.json)}`));
        send(callee, `[${YIELD},${id},{},${table.json}]`);
      }
    })();
    return { answered };
  }

  for (const callerProtocol of ['wamp.2.msgpack', 'wamp.2.json'] as const) {
    for (const calleeProtocol of ['wamp.2.msgpack', 'wamp.2.json'] as const) {
      it(`a ${callerProtocol} caller and a ${calleeProtocol} callee exchange each table exactly`, async () => {
        for (const table of TABLES) {
          const procedure = `${uniqueName('com.exact')}.echo`;
          const { answered } = await echoCallee(calleeProtocol, procedure, table);
          const caller = await session(callerProtocol);
          callWithValues(caller, 3, procedure, table);
          await answered;
          assertValues(caller, await caller.next(), 3, table);
        }
      });
    }

    it(`a ${callerProtocol} caller and a mesh service: the handler sees bigints and bytes, and answers them exactly`, async () => {
      const caller = await session(callerProtocol);
      callWithValues(caller, 4, `${service.name}.echo`);
      const result = await caller.next();
      assertValues(caller, result, 4);
      if (caller.binary) assert.deepEqual(result[4], { kinds: KINDS });
      else assert.match(textOf(result), new RegExp(`\\{"kinds":${escape(JSON.stringify(KINDS))}\\}\\]$`));
    });

    it(`a ${callerProtocol} caller gets a handler's bigint 2^64-1 as a uint64 or its exact digits`, async () => {
      const caller = await session(callerProtocol);
      send(caller, caller.binary ? [CALL, 5, {}, `${service.name}.largest`, [], {}] : `[${CALL},5,{},"${service.name}.largest",[],{}]`);
      const result = await caller.next();
      if (caller.binary) assert.deepEqual(result.slice(0, 4), [RESULT, 5, {}, [2n ** 64n - 1n]]);
      else assert.equal(textOf(result), `[${RESULT},5,{},[18446744073709551615],{}]`);
    });
  }

  for (const encoding of ['msgpack', 'json'] as const) {
    it(`a mesh client calling with ${encoding} gets the table back exactly, and the handler saw bigints and bytes`, async () => {
      const client = createClient(nc);
      const [args, kwargs] = await client.call(`${service.name}.echo`, VALUES, {}, { encoding });
      assert.deepEqual(
        args.map((value) => (value instanceof Uint8Array ? Uint8Array.from(value) : value)),
        VALUES,
      );
      assert.deepEqual(kwargs, { kinds: KINDS });
    });
  }

  it('a raw NATS MessagePack service gets int64, uint64 and bin from a MessagePack WAMP caller, and its answer arrives exactly', async () => {
    const procedure = `${uniqueName('raw')}.echo`;
    const sub = nc.subscribe(procedure, { max: 1 });
    const expected = Buffer.from(encode([VALUES, {}], { useBigInt64: true }));
    const seen = (async () => {
      for await (const msg of sub) {
        assert.equal(msg.headers?.get('Content-Type'), 'application/msgpack');
        assert.equal(Buffer.from(msg.data).toString('hex'), expected.toString('hex'));
        const answer = natsHeaders();
        answer.set('Content-Type', 'application/msgpack');
        msg.respond(expected, { headers: answer });
      }
    })();
    await nc.flush();
    const caller = await session('wamp.2.msgpack');
    callWithValues(caller, 6, procedure);
    await seen;
    assertValues(caller, await caller.next(), 6);
  });

  it('a raw NATS JSON caller and a MessagePack WAMP callee: NUL+base64 becomes bin, exact digits become int64, and back', async () => {
    const procedure = `${uniqueName('com.exact')}.echo`;
    const { answered } = await echoCallee('wamp.2.msgpack', procedure);
    const answer = await nc.request(procedure, Buffer.from(`[${VALUES_JSON},{}]`), { timeout: 5000 });
    await answered;
    assert.equal(Buffer.from(answer.data).toString(), `[${VALUES_JSON},{}]`);
  });

  it('binary that is not base64 after the NUL, and bigints as map keys, are protocol violations', async () => {
    const json = await session('wamp.2.json');
    send(json, `[${CALL},7,{},"${service.name}.echo",["\\u0000not base64!"],{}]`);
    assert.equal((await json.closed).code, 1002);
    const msgpack = await session('wamp.2.msgpack');
    // CALL with kwargs {uint64 5: "x"}, written by hand: no library writes an integer key.
    msgpack.sendRaw(Buffer.concat([Buffer.from([0x96, CALL, 8, 0x80, 0xa1, 0x78, 0x90, 0x81, 0xcf]), Buffer.alloc(7), Buffer.from([5, 0xa1, 0x78])]), true);
    assert.equal((await msgpack.closed).code, 1002);
  });

  it('a MessagePack string starting with NUL has no JSON form: the JSON callee hears nothing, the caller gets INVALID_ARGUMENT', async () => {
    const procedure = `${uniqueName('com.exact')}.echo`;
    const callee = await registered('wamp.2.json', procedure);
    const caller = await session('wamp.2.msgpack');
    send(caller, [CALL, 14, {}, procedure, ['\0//4='], {}]);
    const [type, , requestId, , uri] = await caller.next();
    assert.deepEqual([type, requestId, uri], [ERROR, 14, 'wamp.error.invalid_argument']);
    await assert.rejects(callee.next(300), /no message from the router/);
  });

  it('the uint64 edge goes from a JSON caller to a MessagePack callee and back; 2^64 stays the float JSON parsers read', async () => {
    const procedure = `${uniqueName('com.exact')}.echo`;
    const callee = await registered('wamp.2.msgpack', procedure);
    const caller = await session('wamp.2.json');
    send(caller, `[${CALL},9,{},"${procedure}",[18446744073709551615],{}]`);
    const [, invocationId, , , args] = await callee.next();
    assert.deepEqual(args, [2n ** 64n - 1n]);
    send(callee, [YIELD, invocationId, {}, args]);
    assert.equal(textOf(await caller.next()), `[${RESULT},9,{},[18446744073709551615],{}]`);
    send(caller, `[${CALL},10,{},"${procedure}",[18446744073709551616],{}]`);
    assert.deepEqual((await callee.next())[4], [2 ** 64]);
  });

  it('a handler returning a bigint past 64 bits: its digits for a JSON caller, INTERNAL for a MessagePack one, and the service goes on', async () => {
    const answer = await nc.request(`${service.name}.beyond`, Buffer.from('[[],{}]'), { timeout: 5000 });
    assert.equal(Buffer.from(answer.data).toString(), '[[18446744073709551616],{}]');
    const msgpack = await session('wamp.2.msgpack');
    send(msgpack, [CALL, 12, {}, `${service.name}.beyond`, [], {}]);
    const [type, , requestId, , uri, , kwargs] = await msgpack.next();
    assert.deepEqual([type, requestId, uri, (kwargs as { code: string }).code], [ERROR, 12, 'mesh.error.internal', 'INTERNAL']);
    send(msgpack, [CALL, 13, {}, `${service.name}.largest`, [], {}]);
    assert.deepEqual((await msgpack.next()).slice(0, 4), [RESULT, 13, {}, [2n ** 64n - 1n]]);
  });
});

/** A string as a regular expression that matches it literally. */
function escape(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
