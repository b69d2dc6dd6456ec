// Streaming and cancellation across the mesh: an async generator (or this.progress) streams progressive results to
// a caller that asks for them; a caller's cancel, or the deadline, aborts the handler's signal, and the calls the
// handler made with it; a raw NATS client does both with a header and a message, as the wire protocol says.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, createInbox, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createClient, currentCall, hostService, jsonCodec, MeshError, rpc, Service, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const COUNTER = uniqueName('counter');
const RELAY = uniqueName('relay');

/** Resolves when the signal aborts, with its reason; never before. */
const aborted = (signal: AbortSignal) => new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));

class CounterService extends Service {
  name = COUNTER;
  /** What each `wait` call's signal said when it aborted, by its tag. */
  readonly stopped = new Map<string, unknown>();
  /** How far each `work` loop went before its signal stopped it, by tag. */
  readonly steps = new Map<string, number>();

  @rpc async *count(n: number) {
    for (let i = 1; i <= n; i++) yield i;
    return 'done';
  }

  @rpc async countdown(n: number) {
    for (let i = n; i > 0; i--) this.progress(i);
    return 'liftoff';
  }

  @rpc async wait(tag: string) {
    const reason = await aborted(currentCall()!.signal);
    this.stopped.set(tag, reason);
    throw reason;
  }

  @rpc async work(tag: string) {
    const { signal } = currentCall()!;
    this.steps.set(tag, 0);
    while (!signal.aborted) {
      this.steps.set(tag, this.steps.get(tag)! + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw signal.reason;
  }

  @rpc async *endless(tag: string) {
    try {
      for (let i = 0; ; i++) {
        yield i;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      this.stopped.set(tag, currentCall()!.signal.aborted);
    }
  }
}

class RelayService extends Service {
  name = RELAY;

  @rpc async relay(tag: string) {
    return this.call(`${COUNTER}.wait`, [tag]);
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'the condition came true');
}

describe('streams and cancellation', () => {
  let nc: NatsConnection;
  let client: MeshClient;
  const counter = new CounterService();
  const hosted: HostedService[] = [];

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted.push(await hostService(counter, { nc, logger: silentLogger }), await hostService(new RelayService(), { nc, logger: silentLogger }));
    client = createClient(nc, { timeoutMs: 10_000 });
  });

  after(async () => {
    client.close();
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
  });

  it('streams what an async generator yields, then its return value, to a caller that iterates', async () => {
    const stream = client.stream(`${COUNTER}.count`, [3]);
    const seen = [];
    for await (const envelope of stream) seen.push(envelope);
    assert.deepEqual(seen, [
      [[1], {}],
      [[2], {}],
      [[3], {}],
    ]);
    assert.deepEqual(await stream.result, [['done'], {}]);
  });

  it('gives a plain call the final result only', async () => {
    assert.deepEqual(await client.call(`${COUNTER}.count`, [3]), [['done'], {}]);
    assert.deepEqual(await client.call(`${COUNTER}.countdown`, [3]), [['liftoff'], {}]);
  });

  it('streams what this.progress sends before the final result', async () => {
    const stream = client.stream(`${COUNTER}.countdown`, [3]);
    const seen = [];
    for await (const [[value]] of stream) seen.push(value);
    assert.deepEqual(
      [seen, await stream.result],
      [
        [3, 2, 1],
        [['liftoff'], {}],
      ],
    );
  });

  it("a caller's cancel aborts the handler's signal with CANCELED, and its work stops", async () => {
    const controller = new AbortController();
    const call = client.call(`${COUNTER}.work`, ['w1'], {}, { signal: controller.signal });
    await until(() => (counter.steps.get('w1') ?? 0) >= 3);
    controller.abort();
    await assert.rejects(call, { code: 'CANCELED' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const steps = counter.steps.get('w1')!;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(counter.steps.get('w1'), steps, 'the loop stopped');
  });

  it('a cancel reaches the calls the handler made: the relayed wait is aborted too', async () => {
    const controller = new AbortController();
    const call = client.call(`${RELAY}.relay`, ['r1'], {}, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await assert.rejects(call, { code: 'CANCELED' });
    await until(() => counter.stopped.has('r1'));
    assert.equal((counter.stopped.get('r1') as MeshError).code, 'CANCELED');
  });

  it("the deadline aborts the handler's signal with DEADLINE_EXCEEDED", async () => {
    await assert.rejects(client.call(`${COUNTER}.wait`, ['d1'], {}, { timeoutMs: 200 }), { code: 'DEADLINE_EXCEEDED' });
    await until(() => counter.stopped.has('d1'));
    assert.equal((counter.stopped.get('d1') as MeshError).code, 'DEADLINE_EXCEEDED');
  });

  it('a reader that stops early cancels the stream: the generator is aborted and ends', async () => {
    const stream = client.stream(`${COUNTER}.endless`, ['e1']);
    for await (const [[i]] of stream) if (i === 5) break;
    await assert.rejects(stream.result, { code: 'CANCELED' });
    await until(() => counter.stopped.has('e1'));
    assert.equal(counter.stopped.get('e1'), true);
  });

  it('speaks the wire protocol to a raw NATS client: Mesh-Stream asks for progress, a message to mesh.cancel cancels', async () => {
    const inbox = createInbox();
    const received: Msg[] = [];
    const sub = nc.subscribe(inbox, { callback: (_err, msg) => void received.push(msg) });
    const headers = natsHeaders();
    headers.set('Mesh-Stream', '1');
    nc.publish(`${COUNTER}.count`, jsonCodec.encode([[2], {}]), { reply: inbox, headers });
    await until(() => received.length === 3);
    assert.deepEqual(
      received.map((m) => [m.headers?.get('Mesh-Progress') ?? '', m.json()]),
      [
        ['1', [[1], {}]],
        ['1', [[2], {}]],
        ['', [['done'], {}]],
      ],
    );

    const waitInbox = createInbox();
    const answers: Msg[] = [];
    const waitSub = nc.subscribe(waitInbox, { callback: (_err, msg) => void answers.push(msg) });
    nc.publish(`${COUNTER}.wait`, jsonCodec.encode([['raw'], {}]), { reply: waitInbox });
    await new Promise((resolve) => setTimeout(resolve, 100));
    nc.publish(`mesh.cancel.${COUNTER}.wait`, waitInbox);
    await until(() => answers.length === 1);
    assert.equal((answers[0]!.json() as { error: { code: string } }).error.code, 'CANCELED');
    sub.unsubscribe();
    waitSub.unsubscribe();
  });
});
