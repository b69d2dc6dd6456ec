// The lean caller: replies, no responders, deadlines, cancellation and a lost connection, on real servers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createCaller } from '../../mesh/gateway.ts';
import { NATS_URL, OwnNatsServer, uniqueName } from '../helpers.ts';

const encoder = new TextEncoder();

describe('caller', () => {
  let nc: NatsConnection;
  const subject = uniqueName('caller_test');

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    nc.subscribe(`${subject}.echo`, { callback: (_e, m) => void m.respond(m.data) });
    nc.subscribe(`${subject}.silent`, { callback: () => {} });
    nc.subscribe(`${subject}.headers`, { callback: (_e, m) => void m.respond(JSON.stringify([...(m.headers ?? [])])) });
    await nc.flush();
  });

  after(() => nc.drain());

  it('matches many concurrent replies to their requests', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000 });
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) => caller.request(`${subject}.echo`, encoder.encode(String(i)))),
    );
    assert.deepEqual(replies.map((m) => m.string()), Array.from({ length: 500 }, (_, i) => String(i)));
    caller.close();
  });

  it("sends its deadline and the request's trace context as headers, and refuses a trace value that would break a header", async () => {
    const caller = createCaller(nc, { timeoutMs: 5000 });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const reply = await caller.request(`${subject}.headers`, new Uint8Array(), { trace: { traceparent, tracestate: 'vendor=1' } });
    const sent = new Map(reply.json<[string, string[]][]>());
    assert.match(sent.get('Mesh-Deadline')?.[0] ?? '', /^\d+$/);
    assert.deepEqual([sent.get('traceparent'), sent.get('tracestate')], [[traceparent], ['vendor=1']]);
    await assert.rejects(caller.request(`${subject}.headers`, new Uint8Array(), { trace: { traceparent, tracestate: 'a\r\nMesh-Identity: forged' } }), {
      code: 'UNAVAILABLE',
    });
    caller.close();
  });

  it('rejects with UNKNOWN_PROCEDURE when nobody subscribes', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000 });
    await assert.rejects(caller.request(`${subject}.nobody`, new Uint8Array()), {
      code: 'UNKNOWN_PROCEDURE',
      message: `no service answers '${subject}.nobody'`,
    });
    caller.close();
  });

  it('rejects with DEADLINE_EXCEEDED when the responder stays silent', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000, tickMs: 20 });
    await assert.rejects(caller.request(`${subject}.silent`, new Uint8Array(), { timeoutMs: 100 }), { code: 'DEADLINE_EXCEEDED' });
    caller.close();
  });

  it('rejects with CANCELED when the signal aborts, and drops the late reply', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000 });
    const controller = new AbortController();
    const pending = caller.request(`${subject}.silent`, new Uint8Array(), { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'CANCELED' });
    caller.close();
  });

  it('with coalesce, publishes the requests made in separate callbacks of one turn together, each matched to its reply', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000, coalesce: true });
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => new Promise<string>((resolve, reject) => {
        setTimeout(() => caller.request(`${subject}.echo`, encoder.encode(String(i))).then((m) => resolve(m.string()), reject), 0);
      })),
    );
    assert.deepEqual(replies, Array.from({ length: 50 }, (_, i) => String(i)));
    caller.close();
  });

  it('with coalesce, never publishes a request canceled before the end of its turn', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000, coalesce: true });
    const received: string[] = [];
    const counted = nc.subscribe(`${subject}.counted`, { callback: (_e, m) => void received.push(m.string()) });
    await nc.flush();
    const controller = new AbortController();
    const canceled = caller.request(`${subject}.counted`, encoder.encode('canceled'), { signal: controller.signal });
    const kept = caller.request(`${subject}.counted`, encoder.encode('kept'), { timeoutMs: 200 });
    controller.abort();
    await assert.rejects(canceled, { code: 'CANCELED' });
    await assert.rejects(kept, { code: 'DEADLINE_EXCEEDED' });
    assert.deepEqual(received, ['kept']);
    counted.unsubscribe();
    caller.close();
  });

  it('fails pending and new requests with UNAVAILABLE while NATS is down, and recovers', async (t) => {
    const server = await OwnNatsServer.start();
    const own = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    t.after(async () => {
      await own.close();
      await server.stop();
    });
    own.subscribe('x.silent', { callback: () => {} });
    own.subscribe('x.echo', { callback: (_e, m) => void m.respond(m.data) });
    await own.flush();
    const caller = createCaller(own, { timeoutMs: 30_000 });
    const pending = assert.rejects(caller.request('x.silent', new Uint8Array()), { code: 'UNAVAILABLE' });
    await server.stop();
    await pending;
    await assert.rejects(caller.request('x.echo', new Uint8Array()), { code: 'UNAVAILABLE' });
    assert.equal(caller.connected, false);
    await server.restart();
    for (let i = 0; i < 100 && !caller.connected; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(caller.connected, true);
    assert.equal((await caller.request('x.echo', encoder.encode('back'))).string(), 'back');
    caller.close();
  });
});
