// Durable tasks on a nats-server of their own with JetStream: enqueue from a service and from a task client, the
// result and status, idempotent keys, bad arguments, retries with backoff into the dead-letter stream, timeouts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createClient, MeshError, NOT_A_CALL, rpc, Service, task, z, type TaskHandle, type TaskStatus } from '../../mesh/gateway.ts';
import { ERROR_ID } from '../helpers.ts';
import { suiteTaskMesh } from './task-mesh.ts';

class Arithmetic extends Service {
  name = 'arithmetic';
  readonly seen: string[] = [];
  readonly running = new Set<number>();
  maxRunning = 0;

  @task({ params: z.object({ a: z.number(), b: z.number() }), result: z.number() })
  async add(a: number, b: number) {
    this.seen.push(`add ${a} ${b}`);
    return a + b;
  }

  @task({ concurrency: 3 })
  async slow(n: number) {
    this.running.add(n);
    this.maxRunning = Math.max(this.maxRunning, this.running.size);
    this.progress({ step: 'half', n });
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.running.delete(n);
    return n;
  }

  @task({ retries: { max: 2, backoff: 100 } })
  async poison(what: string) {
    if (what === 'string') throw 'not an Error';
    throw new Error(`poisoned by ${what}`);
  }

  @task({ retries: { max: 1, backoff: 10 }, timeout: 100 })
  async hang() {
    return new Promise(() => undefined);
  }

  @task({ claim: 300 })
  async long() {
    this.seen.push('long');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return 'done';
  }

  /** Doubles n, keeping no record of its success; a negative n reports progress first. */
  @task({ ignoreResult: true })
  async double(n: number) {
    if (n < 0) this.progress('halfway');
    return n * 2;
  }

  /** Arrays `levels` deep around a 0. */
  @task()
  async nested(levels: number) {
    let value: unknown = 0;
    for (let i = 0; i < levels; i++) value = [value];
    return value;
  }

  @rpc async welcome(name: string) {
    const handle = await this.enqueue('arithmetic.add', [name.length, 1]);
    return handle.id;
  }
}

/** Reads a task's status (or the code it fails with) until `until` holds, for at most 10 s; resolves with the last message. */
async function statusWhen(handle: TaskHandle, until: (status: TaskStatus | string) => boolean): Promise<string> {
  for (let tries = 0; tries < 400; tries++) {
    const status = await handle.status().catch((err: MeshError) => err);
    if (until(status instanceof MeshError ? status.code : status)) return status instanceof MeshError ? status.message : status.state;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the status of ${handle.id} never came to what was awaited`);
}

describe('tasks', () => {
  const service = new Arithmetic();
  const mesh = suiteTaskMesh(service);

  it('runs a task enqueued from a task client and hands back its result like an @rpc reply', async () => {
    const handle = await mesh.tasks.enqueue('arithmetic.add', [2, 3]);
    assert.match(handle.id, /^arithmetic\.add\.\d+$/);
    assert.deepEqual(await handle.result({ timeout: 5_000 }), [[5], {}]);
    const status = await handle.status();
    assert.equal(status.state, 'succeeded');
    assert.equal(status.attempts, 1);
    assert.deepEqual(status.result, [[5], {}]);
    assert.ok(status.enqueued_at && status.started_at && status.finished_at);
  });

  it('keeps a result too deep for its event in the status, and sends the event without it', async () => {
    const events = mesh.nc.subscribe('mesh.tasks.arithmetic.nested.>');
    // [[value], {}] is 99 levels deep: the status holds it one level in; the event, `[[], {result}]`, would go past 100.
    const handle = await mesh.tasks.enqueue('arithmetic.nested', [97]);
    const [[value]] = await handle.result({ timeout: 5_000 });
    assert.equal(JSON.stringify(value), `${'['.repeat(97)}0${']'.repeat(97)}`);
    for await (const msg of events) {
      const [, event] = msg.json<[[], { event: string; id: string; result?: unknown; truncated?: boolean }]>();
      if (event.event !== 'succeeded') continue;
      assert.deepEqual([event.id, event.result, event.truncated], [handle.id, undefined, true]);
      break;
    }
  });

  it('keeps no record of a success when the task ignores its result: its event carries the result', async () => {
    const events = mesh.nc.subscribe('mesh.tasks.arithmetic.double.>');
    const handle = await mesh.tasks.enqueue('arithmetic.double', [21]);
    for await (const msg of events) {
      const [, event] = msg.json<[[], { event: string; id: string; result?: unknown }]>();
      if (event.event !== 'succeeded') continue;
      assert.deepEqual([event.id, event.result], [handle.id, [[42], {}]]);
      break;
    }
    // Once its ack is through, the work stream no longer holds it, and nothing else does.
    const gone = await statusWhen(handle, (status) => status === 'NOT_FOUND');
    assert.match(gone, /result ignored/);
    // A call of its endpoint has no result to wait for: it answers with the id at once.
    const client = createClient(mesh.nc);
    const [[reply]] = await client.call('arithmetic.double', [1]);
    assert.match((reply as { id: string }).id, /^arithmetic\.double\.\d+$/);
    client.close();
  });

  it('records the end of a task that ignores its result once it reported progress, with no result', async () => {
    const handle = await mesh.tasks.enqueue('arithmetic.double', [-1]);
    await statusWhen(handle, (status) => typeof status !== 'string' && status.state === 'succeeded');
    const status = await handle.status();
    assert.deepEqual([status.state, status.result, status.progress], ['succeeded', null, 'halfway']);
  });

  it('enqueues from a service with this.enqueue and goes on without waiting', async () => {
    const client = createClient(mesh.nc);
    const [[id]] = await client.call('arithmetic.welcome', ['Ada']);
    assert.deepEqual(await mesh.tasks.handle(id as string).result({ timeout: 5_000 }), [[4], {}]);
    client.close();
  });

  it('stores an enqueue with the same key once: same id, one run', async () => {
    const before = service.seen.filter((s) => s === 'add 40 2').length;
    const first = await mesh.tasks.enqueue('arithmetic.add', [40, 2], {}, { key: 'order-42' });
    const second = await mesh.tasks.enqueue('arithmetic.add', [40, 2], {}, { key: 'order-42' });
    assert.equal(second.id, first.id);
    await first.result({ timeout: 5_000 });
    assert.equal(service.seen.filter((s) => s === 'add 40 2').length, before + 1);
  });

  it('refuses a task no worker declared as UNKNOWN_PROCEDURE', async () => {
    await assert.rejects(mesh.tasks.enqueue('arithmetic.nothing', []), (err: MeshError) => err.code === 'UNKNOWN_PROCEDURE');
  });

  it('runs at most `concurrency` attempts at once per instance, and reports progress', async () => {
    const handles = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => mesh.tasks.enqueue('arithmetic.slow', [n])));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const midway = await handles[0]!.status();
    assert.equal(midway.state, 'running');
    assert.deepEqual(midway.progress, { step: 'half', n: 1 });
    for (const handle of handles) await handle.result({ timeout: 10_000 });
    assert.equal(service.maxRunning, 3);
  });

  it("retries a failing task with growing backoff, then buries it with every attempt's error", async () => {
    const events = mesh.nc.subscribe('mesh.tasks.arithmetic.poison.>');
    const handle = await mesh.tasks.enqueue('arithmetic.poison', ['arsenic']);
    await assert.rejects(handle.result({ timeout: 10_000 }), (err: MeshError) => err.code === 'INTERNAL' && ERROR_ID.test(err.id!));
    const told: { event: string; id: string; attempt: number; error: { id: string }; retry_in_ms?: number }[] = [];
    for await (const msg of events) {
      told.push(msg.json<[[], (typeof told)[number]]>()[1]);
      if (told.at(-1)!.event === 'dead') break;
    }
    assert.deepEqual(
      told.map((e) => [e.event, e.attempt, e.id]),
      [
        ['failed', 1, handle.id],
        ['failed', 2, handle.id],
        ['dead', 3, handle.id],
      ],
    );
    assert.ok(told[0]!.retry_in_ms! >= 50 && ERROR_ID.test(told[2]!.error.id));
    const status = await handle.status();
    assert.equal(status.state, 'dead');
    assert.equal(status.attempts, 3);
    assert.deepEqual(
      status.errors.map((e) => e.attempt),
      [1, 2, 3],
    );
    assert.ok(status.errors.every((e) => e.error.code === 'INTERNAL' && ERROR_ID.test(e.error.id!)));
    assert.equal(new Set(status.errors.map((e) => e.error.id)).size, 3);
    const stats = (await mesh.nc.request('$SRV.STATS.arithmetic', '', { timeout: 2_000 })).json<{ endpoints: { name: string; data: Record<string, number> }[] }>();
    const poison = stats.endpoints.find((e) => e.name === 'poison')!.data;
    assert.deepEqual([poison.failed, poison.retried, poison.dead], [3, 2, 1]);
    // JetStream held each retry back (a nak with delay): at least half of 100 ms, then of 200 ms.
    const at = status.errors.map((e) => Date.parse(e.at));
    assert.ok(at[1]! - at[0]! >= 50 && at[2]! - at[1]! >= 100, `gaps ${at[1]! - at[0]!} and ${at[2]! - at[1]!} ms`);
  });

  it('keeps its claim while a task runs longer than the claim lasts: it runs once', async () => {
    const handle = await mesh.tasks.enqueue('arithmetic.long');
    assert.deepEqual(await handle.result({ timeout: 10_000 }), [['done'], {}]);
    assert.equal((await handle.status()).attempts, 1);
    assert.equal(service.seen.filter((s) => s === 'long').length, 1);
  });

  it('fails an attempt that throws a non-Error, and one that never settles, with an error id', async () => {
    const thrown = await mesh.tasks.enqueue('arithmetic.poison', ['string']);
    const hung = await mesh.tasks.enqueue('arithmetic.hang', []);
    await assert.rejects(thrown.result({ timeout: 10_000 }), (err: MeshError) => err.code === 'INTERNAL' && ERROR_ID.test(err.id!));
    await assert.rejects(hung.result({ timeout: 10_000 }), (err: MeshError) => err.code === 'DEADLINE_EXCEEDED' && ERROR_ID.test(err.id!));
    // Each attempt failed with an error id of its own; none left the consumer stuck: the next task runs.
    const [thrownStatus, hungStatus] = await Promise.all([thrown.status(), hung.status()]);
    assert.deepEqual(
      [thrownStatus, hungStatus].map((s) => [s.attempts, s.errors.map((e) => e.error.code), s.errors.every((e) => ERROR_ID.test(e.error.id!))]),
      [
        [3, ['INTERNAL', 'INTERNAL', 'INTERNAL'], true],
        [2, ['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED'], true],
      ],
    );
    const after = await mesh.tasks.enqueue('arithmetic.hang', []);
    await assert.rejects(after.result({ timeout: 10_000 }), (err: MeshError) => err.code === 'DEADLINE_EXCEEDED');
    assert.equal((await after.status()).attempts, 2, 'the consumer still hands out tasks after a never-settling one');
  });

  it('buries at once a task whose arguments no longer fit the schema', async () => {
    const handle = await mesh.tasks.enqueue('arithmetic.add', ['two', 3]);
    await assert.rejects(handle.result({ timeout: 5_000 }), (err: MeshError) => err.code === 'INVALID_ARGUMENT' && /a must be a number/.test(err.message));
    const status = await handle.status();
    assert.equal(status.state, 'dead');
    assert.equal(status.attempts, 1);
    // The dead-letter record says why, as the task's endpoint lists it (Mesh-Task-Queue).
    const asking = headers();
    asking.set('Mesh-Task-Queue', '1');
    const queue = (await mesh.nc.request('arithmetic.add', JSON.stringify([[], {}]), { headers: asking, timeout: 5_000 })).json<[[{ dead: { id: string; reason: string }[] }]]>();
    assert.match(queue[0][0].dead.find((d) => d.id === handle.id)?.reason ?? 'not listed', /^cannot run: .*a must be a number, got string/);
  });

  it("refuses a task over the NATS server's max_payload as PAYLOAD_TOO_LARGE, and stores nothing", async () => {
    const jsm = await jetstreamManager(mesh.nc);
    const before = (await jsm.streams.info('TASKS_arithmetic-add')).state.last_seq;
    await assert.rejects(mesh.tasks.enqueue('arithmetic.add', ['x'.repeat(2 * 1024 * 1024), 1]), (err: MeshError) => err.code === 'PAYLOAD_TOO_LARGE' && err.status === 413);
    assert.equal((await jsm.streams.info('TASKS_arithmetic-add')).state.last_seq, before);
  });

  it('refuses the body of a queue or retry request without its header, so an endpoint that does not know one enqueues nothing', async () => {
    const jsm = await jetstreamManager(mesh.nc);
    const before = (await jsm.streams.info('TASKS_arithmetic-long')).state.last_seq;
    const reply = await mesh.nc.request('arithmetic.long', NOT_A_CALL, { timeout: 5_000 });
    assert.equal(reply.json<{ error: { code: string } }>().error.code, 'INVALID_ARGUMENT');
    assert.equal((await jsm.streams.info('TASKS_arithmetic-long')).state.last_seq, before);
  });

  it('checks arguments at the enqueue endpoint: refused ones are never stored', async () => {
    const jsm = await jetstreamManager(mesh.nc);
    const before = (await jsm.streams.info('TASKS_arithmetic-add')).state.last_seq;
    const h = headers();
    h.set('Mesh-Respond-Async', '1');
    const reply = await mesh.nc.request('arithmetic.add', JSON.stringify([['x'], {}]), { headers: h, timeout: 5_000 });
    const body = reply.json<{ error: { code: string; details: unknown } }>();
    assert.equal(body.error.code, 'INVALID_ARGUMENT');
    assert.deepEqual(body.error.details, [
      { field: 'a', message: 'must be a number, got string' },
      { field: 'b', message: 'is required' },
    ]);
    assert.equal((await jsm.streams.info('TASKS_arithmetic-add')).state.last_seq, before);
    const accepted = await mesh.nc.request('arithmetic.add', JSON.stringify([[1, 2], {}]), { headers: h, timeout: 5_000 });
    const [[{ id }]] = accepted.json<[[{ id: string }], object]>();
    assert.equal(accepted.headers?.get('Mesh-Task-Id'), id);
    assert.deepEqual(await mesh.tasks.handle(id).result({ timeout: 5_000 }), [[3], {}]);
  });
});
