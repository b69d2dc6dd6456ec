// gateway-http calls procedures and nothing else: names are checked first, unknown subjects publish nothing
// (no event, no stream message), and only JSON or MessagePack bodies cross, so a cross-site form cannot call.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { serveHttpApp } from './serve-app.ts';

const GREETING = uniqueName('greeting');

async function post(url: string, body?: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, text, code: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as { error?: { code: string } }).error?.code : undefined };
}

describe('gateway-http reaches procedures only', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    const greeting = new GreetingService();
    greeting.name = GREETING;
    services = [await hostService(greeting, { nc, logger: silentLogger })];
    gateway = await start({ config: testConfig({ 'http.bodyLimit': '8mb' }), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  it('answers 404 for an event subject and publishes nothing to its subscribers', async () => {
    const subject = `${uniqueName('events')}.created`;
    let received = 0;
    const sub = nc.subscribe(subject, { callback: () => void received++ });
    await nc.flush();
    const res = await post(`${gateway.url}/${subject}`, '[["spoofed"]]');
    assert.equal(res.status, 404);
    assert.equal(res.code, 'UNKNOWN_PROCEDURE');
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    assert.equal(received, 0);
  });

  it('answers 404 for a subject a JetStream stream stores, and the stream stays empty', async (t) => {
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('STREAM');
    const subject = `${uniqueName('orders')}.placed`;
    await jsm.streams.add({ name: stream, subjects: [subject] });
    t.after(() => jsm.streams.delete(stream));
    const res = await post(`${gateway.url}/${subject}`, '[[{"total": 1}]]');
    assert.equal(res.status, 404);
    assert.equal(res.code, 'UNKNOWN_PROCEDURE');
    assert.equal((await jsm.streams.info(stream)).state.messages, 0);
  });

  it('calls a service hosted after the gateway started: a miss refreshes the registry', async (t) => {
    const late = new GreetingService();
    late.name = uniqueName('late');
    const hosted = await hostService(late, { nc, logger: silentLogger });
    t.after(() => hosted.stop());
    const res = await post(`${gateway.url}/${late.name}.hello`, '[["Late"]]');
    assert.deepEqual([res.status, res.text], [200, '[["Hello, Late"],{}]']);
  });

  it('reads text/plain, form-encoded and untyped bodies as JSON, refuses other types with 415, and takes an empty body', async () => {
    const url = `${gateway.url}/${GREETING}.hello`;
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      const res = await post(url, '[["Eve"]]', { 'content-type': type });
      assert.deepEqual([res.status, res.text], [200, '[["Hello, Eve"],{}]'], type);
    }
    for (const type of ['multipart/form-data; boundary=x', 'application/xml']) {
      const res = await post(url, '[["Eve"]]', { 'content-type': type });
      assert.deepEqual([res.status, res.code], [415, 'UNSUPPORTED_MEDIA_TYPE'], type);
    }
    const untyped = await post(url, new TextEncoder().encode('[["Eve"]]'), {});
    assert.deepEqual([untyped.status, untyped.text], [200, '[["Hello, Eve"],{}]']);
    const empty = await post(url, undefined, {});
    assert.equal(empty.status, 400);
    assert.match(empty.text, /first_name is required/);
    const json = await post(url, '[["Ann"]]', { 'content-type': 'application/json; charset=utf-8' });
    assert.deepEqual([json.status, json.text], [200, '[["Hello, Ann"],{}]']);
  });

  it("answers 413 for a body over the NATS server's max_payload, whatever http.bodyLimit says", async () => {
    const maxPayload = nc.info!.max_payload;
    const res = await post(`${gateway.url}/${GREETING}.hello`, `[["${'x'.repeat(maxPayload)}"]]`);
    assert.deepEqual([res.status, res.code], [413, 'PAYLOAD_TOO_LARGE']);
    assert.match(res.text, /max_payload/);
    const ok = await post(`${gateway.url}/${GREETING}.hello`, `[["${'y'.repeat(1000)}"]]`);
    assert.equal(ok.status, 200);
  });
});

describe('gateway-http and long names', () => {
  it('answers long names with a coded 4xx and its NATS connection never drops', async (t) => {
    const nc = await connect({ servers: NATS_URL, name: 'gateway-http' });
    let disconnects = 0;
    void (async () => {
      for await (const status of nc.status()) if (status.type === 'disconnect') disconnects++;
    })();
    const { url, stop } = await serveHttpApp(nc);
    const greeting = new GreetingService();
    greeting.name = uniqueName('names');
    const hosted = await hostService(greeting, { nc, logger: silentLogger });
    t.after(async () => {
      await stop();
      await hosted.stop();
      await nc.drain();
    });

    const fiveKb = await post(`${url}/${greeting.name}.${'h'.repeat(5000)}`, '[]');
    assert.deepEqual([fiveKb.status, fiveKb.code], [404, 'UNKNOWN_PROCEDURE']);
    assert.match(fiveKb.text, /longer than 256 bytes/);
    const hundredKb = await post(`${url}/${greeting.name}.${'h'.repeat(100_000)}`, '[]');
    assert.deepEqual([hundredKb.status, hundredKb.code], [431, 'HEADERS_TOO_LARGE']);
    for (const path of ['$SRV.INFO', '$SYS.REQ.SERVER.PING', '_INBOX.x', 'a.*', 'a.>', 'a..b', '%20a.b', 'a%0D%0Ab.c']) {
      const res = await post(`${url}/${path}`, '[]');
      assert.deepEqual([res.status, res.code], [404, 'UNKNOWN_PROCEDURE'], path);
    }
    await nc.flush();
    assert.equal((await post(`${url}/${greeting.name}.hello`, '[["Still"]]')).text, '[["Hello, Still"],{}]');
    assert.equal(disconnects, 0);
  });
});
