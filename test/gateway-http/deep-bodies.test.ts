// Bodies nested deeper than the mesh's codecs accept (MAX_DEPTH) are the client's error: 400 INVALID_ARGUMENT with an
// id, from the gateway for a body of keyword arguments it reads, from the service host for one it forwards unread.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { hostService, MAX_DEPTH, rpc, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName, withoutErrorId } from '../helpers.ts';

const ECHO = uniqueName('echo');

class EchoService {
  name = ECHO;
  @rpc async echo(value: unknown) {
    return value;
  }
}

/** JSON text of `levels` arrays, or objects under key "a", one inside another, around 1. */
function nestedJson(levels: number, open: '[' | '{"a":'): string {
  return `${open.repeat(levels)}1${(open === '[' ? ']' : '}').repeat(levels)}`;
}

/** MessagePack of `levels` one-element arrays around 1, written by hand: the library refuses to write more than 100. */
function nestedMsgpack(levels: number, around: Uint8Array = Uint8Array.of(0x01)): Buffer {
  return Buffer.concat([Buffer.alloc(levels, 0x91), around]);
}

describe('gateway-http: deep bodies', () => {
  let nc: NatsConnection;
  let service: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    service = await hostService(new EchoService(), { nc, logger: silentLogger });
    gateway = await start({ config: testConfig({ 'http.bodyLimit': '1mb' }), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await service.stop();
    await nc.drain();
  });

  async function post(body: string | Uint8Array, contentType: string) {
    const res = await fetch(`${gateway.url}/${ECHO}.echo`, { method: 'POST', body, headers: { 'content-type': contentType } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const reply: unknown = res.headers.get('content-type')?.startsWith('application/msgpack') ? decode(bytes) : JSON.parse(Buffer.from(bytes).toString());
    return { status: res.status, body: withoutErrorId(reply) };
  }

  const refused = (what: 'payload' | 'value') => ({
    status: 400,
    body: { error: { code: 'INVALID_ARGUMENT', message: `${what} is nested deeper than ${MAX_DEPTH} levels`, status: 400 } },
  });

  for (const levels of [MAX_DEPTH + 1, 4500]) {
    it(`a JSON body of keyword arguments ${levels} levels deep is 400, read at the gateway`, async () => {
      assert.deepEqual(await post(`{"value":${nestedJson(levels - 1, '{"a":')}}`, 'application/json'), refused('payload'));
    });

    it(`a JSON body of arguments ${levels} levels deep is 400, read by the service host`, async () => {
      assert.deepEqual(await post(`[[${nestedJson(levels - 2, '[')}],{}]`, 'application/json'), refused('payload'));
    });
  }

  it(`a MessagePack body of keyword arguments ${MAX_DEPTH} levels deep, one more once wrapped as [[], kwargs], is 400`, async () => {
    const kwargs = Buffer.concat([Uint8Array.of(0x81, 0xa5), Buffer.from('value'), nestedMsgpack(MAX_DEPTH - 1)]);
    assert.deepEqual(await post(kwargs, 'application/msgpack'), refused('value'));
  });

  it('a MessagePack body of arguments 150 levels deep is 400', async () => {
    const body = Buffer.concat([Uint8Array.of(0x92, 0x91), nestedMsgpack(148), Uint8Array.of(0x80)]);
    assert.deepEqual(await post(body, 'application/msgpack'), refused('payload'));
  });

  it(`a body exactly ${MAX_DEPTH} levels deep is served`, async () => {
    const res = await fetch(`${gateway.url}/${ECHO}.echo`, { method: 'POST', body: `[[${nestedJson(MAX_DEPTH - 2, '[')}],{}]`, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `[[${nestedJson(MAX_DEPTH - 2, '[')}],{}]`);
    const body = Buffer.concat([Uint8Array.of(0x92, 0x91), nestedMsgpack(MAX_DEPTH - 2), Uint8Array.of(0x80)]);
    const msgpack = await fetch(`${gateway.url}/${ECHO}.echo`, { method: 'POST', body, headers: { 'content-type': 'application/msgpack' } });
    assert.equal(msgpack.status, 200);
    assert.deepEqual(Buffer.from(await msgpack.arrayBuffer()), body);
  });
});
