// gateway-http over real NATS: POST /<service>.<method> forwards bytes, and every failure has its status
// and the error body {"error": {code, message, status}}.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { hostService, MeshError, rpc, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { errorTextWithoutId, OwnNatsServer, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const GREETING = uniqueName('greeting');
const FAULTY = uniqueName('faulty');

class FaultyService {
  name = FAULTY;
  @rpc async missing(id: string) {
    throw new MeshError('NOT_FOUND', `no thing ${id}`);
  }
  @rpc async broken() {
    throw new Error('boom with secrets');
  }
}

/** A POST as a client sends it: JSON unless told otherwise; contentType null sends no Content-Type at all. */
async function post(url: string, body?: string | Uint8Array, contentType: string | null = 'application/json') {
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' && contentType === null ? new TextEncoder().encode(body) : body,
    headers: contentType ? { 'content-type': contentType } : {},
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

function errorBody(code: string, status: number): (text: string) => void {
  return (text) => {
    const body = JSON.parse(text) as { error: { code: string; status: number; message: string } };
    assert.equal(body.error.code, code);
    assert.equal(body.error.status, status);
    assert.ok(body.error.message.length > 0);
  };
}

describe('gateway-http', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;

  before(async () => {
    const config = testConfig({ 'rpc.timeoutMs': 500, 'http.bodyLimit': '1kb' });
    nc = await connect({ servers: config.nats.url });
    const greeting = new GreetingService();
    greeting.name = GREETING;
    services = [await hostService(greeting, { nc, logger: silentLogger }), await hostService(new FaultyService(), { nc, logger: silentLogger })];
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  it('forwards [args, kwargs] and answers the reply as JSON', async () => {
    const res = await post(`${gateway.url}/${GREETING}.hello`, '[["Bob"], {"last_name": "Ross"}]', 'application/json');
    assert.deepEqual(res, { status: 200, type: 'application/json; charset=utf-8', text: '[["Hello, Bob Ross"],{}]' });
    assert.equal((await post(`${gateway.url}/${GREETING}.hello`, '[[], {"first_name": "Bob"}]')).text, '[["Hello, Bob"],{}]');
    assert.equal((await post(`${gateway.url}/${GREETING}.hello`, '[["Ann"]]', 'application/problem+json')).text, '[["Hello, Ann"],{}]');
  });

  it('speaks MessagePack when the request does', async () => {
    const res = await fetch(`${gateway.url}/${GREETING}.hello`, {
      method: 'POST',
      body: encode([['Bob'], { last_name: 'Ross' }]),
      headers: { 'content-type': 'application/msgpack' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/msgpack');
    assert.deepEqual(decode(new Uint8Array(await res.arrayBuffer())), [['Hello, Bob Ross'], {}]);
    const bad = await fetch(`${gateway.url}/${GREETING}.hello`, { method: 'POST', body: encode([[], {}]), headers: { 'content-type': 'application/msgpack' } });
    assert.equal(bad.status, 400);
    assert.equal((decode(new Uint8Array(await bad.arrayBuffer())) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
  });

  it('answers 400 for a malformed body or arguments, naming the problem', async () => {
    for (const body of ['{bad json', '{"a": 1}', '[1, 2]', '[[], {"middle": "x"}]', '[[], {}]']) {
      const res = await post(`${gateway.url}/${GREETING}.hello`, body);
      assert.equal(res.status, 400, body);
      errorBody('INVALID_ARGUMENT', 400)(res.text);
    }
    assert.match((await post(`${gateway.url}/${GREETING}.hello`, '[[], {}]')).text, /first_name is required/);
  });

  it('answers 404 for a procedure nobody serves and for subjects that are not procedures', async () => {
    const res = await post(`${gateway.url}/${uniqueName('nobody')}.hello`, '[]');
    assert.equal(res.status, 404);
    errorBody('UNKNOWN_PROCEDURE', 404)(res.text);
    for (const path of ['$SRV.INFO', '$SYS.REQ', '_INBOX.abc', 'a.*', 'a.>', 'a.b.c', 'nodot', '%20a.b']) {
      const r = await post(`${gateway.url}/${path}`, '[]');
      assert.equal(r.status, 404, path);
      errorBody('UNKNOWN_PROCEDURE', 404)(r.text);
    }
    const route = await post(`${gateway.url}/a/b`, '[]');
    assert.equal(route.status, 404);
    errorBody('NOT_FOUND', 404)(route.text);
  });

  it("answers a service error with the service's own status", async () => {
    const res = await post(`${gateway.url}/${FAULTY}.missing`, '[["42"]]');
    assert.deepEqual(
      { ...res, text: errorTextWithoutId(res.text) },
      {
        status: 404,
        type: 'application/json; charset=utf-8',
        text: '{"error":{"code":"NOT_FOUND","message":"no thing 42","status":404}}',
      },
    );
    const broken = await post(`${gateway.url}/${FAULTY}.broken`, '[]');
    assert.equal(broken.status, 500);
    assert.equal(errorTextWithoutId(broken.text), '{"error":{"code":"INTERNAL","message":"internal error","status":500}}');
  });

  it('answers 413 for a body over the limit and 415 for an unsupported type', async () => {
    const big = await post(`${gateway.url}/${GREETING}.hello`, `[["${'x'.repeat(2000)}"]]`);
    assert.equal(big.status, 413);
    errorBody('PAYLOAD_TOO_LARGE', 413)(big.text);
    const xml = await post(`${gateway.url}/${GREETING}.hello`, '<hello/>', 'application/xml');
    assert.equal(xml.status, 415);
    errorBody('UNSUPPORTED_MEDIA_TYPE', 415)(xml.text);
  });

  it('answers 504 when the reply does not come before the timeout, which Prefer: wait cannot extend', async () => {
    const res = await post(`${gateway.url}/${GREETING}.hello_sleep`, '[["late"], {"seconds": 2}]');
    assert.equal(res.status, 504);
    errorBody('DEADLINE_EXCEEDED', 504)(res.text);
    const longer = await fetch(`${gateway.url}/${GREETING}.hello_sleep`, { method: 'POST', body: '[["late"], {"seconds": 2}]', headers: { 'content-type': 'application/json', prefer: 'wait=10' } });
    assert.equal(longer.status, 504);
  });

  it('answers 405 with Allow for other methods (GET describes the procedure), and reports health', async () => {
    const res = await fetch(`${gateway.url}/${GREETING}.hello`, { method: 'PUT' });
    assert.equal(res.status, 405);
    errorBody('METHOD_NOT_ALLOWED', 405)(await res.text());
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok', nats: 'connected' });
  });
});

describe('gateway-http without NATS', () => {
  it('answers 503 while NATS is unreachable and serves again when it is back', async (t) => {
    const server = await OwnNatsServer.start();
    const config = testConfig({ 'nats.url': server.url });
    const gateway = await start({ config, logger: silentLogger });
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    t.after(async () => {
      await gateway.stop();
      await nc.close();
      await server.stop();
    });
    const greeting = new GreetingService();
    greeting.name = uniqueName('greeting');
    await hostService(greeting, { nc, logger: silentLogger });
    assert.equal((await post(`${gateway.url}/${greeting.name}.hello`, '[["Up"]]')).status, 200);

    await server.stop();
    await new Promise((r) => setTimeout(r, 200));
    const down = await post(`${gateway.url}/${greeting.name}.hello`, '[["Down"]]');
    assert.equal(down.status, 503);
    errorBody('UNAVAILABLE', 503)(down.text);
    assert.equal((await fetch(`${gateway.url}/health`)).status, 503);

    await server.restart();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await post(`${gateway.url}/${greeting.name}.hello`, '[["Back"]]')).status;
    }
    assert.equal(status, 200);
  });
});
