// The lean caller: replies, no responders, deadlines, cancellation and a lost connection, on real servers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createCaller } from '../../mesh/gateway.ts';
import { NATS_URL, OwnNatsServer, uniqueName, writeCountingRelay } from '../helpers.ts';

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
    const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => caller.request(`${subject}.echo`, encoder.encode(String(i)))));
    assert.deepEqual(
      replies.map((m) => m.string()),
      Array.from({ length: 500 }, (_, i) => String(i)),
    );
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

  it('rejects with CANCELED when the signal aborts, and drops the reply that comes later', async () => {
    const caller = createCaller(nc, { timeoutMs: 5000 });
    let answered!: () => void;
    const lateReplySent = new Promise<void>((resolve) => (answered = resolve));
    const late = nc.subscribe(`${subject}.late`, {
      callback: (_e, m) => {
        setTimeout(() => {
          m.respond(encoder.encode('late'));
          answered();
        }, 100);
      },
    });
    await nc.flush();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const controller = new AbortController();
    const pending = caller.request(`${subject}.late`, new Uint8Array(), { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await assert.rejects(pending, { code: 'CANCELED' });
    await lateReplySent;
    // The late reply reaches the caller's inbox and is dropped there: the next request gets its own reply.
    assert.equal((await caller.request(`${subject}.echo`, encoder.encode('next'))).string(), 'next');
    process.off('warning', onWarning);
    assert.deepEqual(warnings, []);
    late.unsubscribe();
    caller.close();
  });

  /**
   * Runs 50 requests, one per timer callback of one turn, from a process of their own through a TCP relay that
   * counts the chunks carrying them: a chunk per socket write, since the relay reads while the caller is busy.
   */
  async function publishWrites(coalesce: boolean): Promise<{ matched: number; writes: number }> {
    const marker = uniqueName('turn');
    const relay = await writeCountingRelay(NATS_URL, marker);
    const echo = nc.subscribe(`${marker}.echo`, { callback: (_e, m) => void m.respond(m.data) });
    await nc.flush();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'turn-caller.ts'), relay.url, `${marker}.echo`, String(coalesce)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    await once(child, 'exit');
    echo.unsubscribe();
    relay.close();
    const writes = relay.writes();
    return { matched: Number(output.trim()), writes };
  }

  it('with coalesce, publishes the requests made in separate callbacks of one turn in one write, each matched to its reply', async (t) => {
    const coalesced = await publishWrites(true);
    assert.equal(coalesced.matched, 50);
    assert.ok(coalesced.writes <= 3, `${coalesced.writes} writes for one turn's 50 requests`);
    // The relay does tell writes apart: without coalescing the same turn takes a write per request (5 ms apart; a
    // relay slowed by a busy machine may read a few at once, never most of them).
    const separate = await publishWrites(false);
    assert.equal(separate.matched, 50);
    assert.ok(separate.writes >= 15 && separate.writes > 5 * coalesced.writes, `${separate.writes} writes without coalescing, ${coalesced.writes} with`);
    t.diagnostic(`writes for 50 requests in one turn: ${coalesced.writes} coalesced, ${separate.writes} not`);
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
