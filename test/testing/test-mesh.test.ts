// createTestMesh's contract: the same scenarios, the same answers, on the in-process bus and on a real nats-server,
// so a project's tests without a server see what its services do on one. Each scenario runs the real hosts and client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { currentCall, event, MeshError, provide, rpc, Service, task, z } from '../../mesh/index.ts';
import { createTestMesh, memoryNats, type TestMesh } from '../../mesh/testing.ts';
import { OwnNatsServer } from '../helpers.ts';

interface Greeted {
  name: string;
  traceId: string | undefined;
}

class GreetingService extends Service {
  name = 'greeting_service';
  /** What the event handler saw, across instances and transports. */
  static readonly greeted: Greeted[] = [];

  @rpc({ params: z.object({ first_name: z.string(), last_name: z.string().default('') }), result: z.string() })
  async hello(first_name: string, last_name: string) {
    return `Hello, ${first_name} ${last_name}`.trim();
  }

  @rpc async slow(ms: number) {
    const { signal } = currentCall()!;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return signal.aborted ? `aborted: ${(signal.reason as MeshError).code}` : 'done';
  }

  @rpc async fail() {
    throw new MeshError('CONFLICT', 'already greeted');
  }

  @event('welcome.sent')
  async onWelcome(name: string) {
    GreetingService.greeted.push({ name, traceId: currentCall()?.traceId });
  }
}

class WelcomeService extends Service {
  name = 'welcome_service';
  visits = provide({ name: 'visits', open: async () => new Map<string, number>() });

  @rpc async welcome(name: string) {
    const [[greeting]] = await this.call('greeting_service.hello', [name]);
    const count = (this.visits.get(name) ?? 0) + 1;
    this.visits.set(name, count);
    this.publish('welcome.sent', [name]);
    return { greeting, count, traceId: currentCall()!.traceId, deadline: currentCall()!.deadline };
  }
}

class ReportService extends Service {
  name = 'report_service';
  /** Each attempt the task made, in every mesh of this file. */
  static readonly attempts: { pages: number; traceId: string | undefined }[] = [];

  @task({
    params: z.object({ pages: z.number().int().positive() }),
    result: z.object({ pages: z.number(), traceId: z.string().optional() }),
    retries: { max: 2, backoff: 100 },
    claim: 600,
  })
  async render(pages: number) {
    ReportService.attempts.push({ pages, traceId: currentCall()?.traceId });
    this.progress({ done: 0, of: pages });
    if (pages === 13) throw new MeshError('UNAVAILABLE', 'the printer is out of paper');
    // A long report outlasts its claim (600 ms): the worker keeps the claim alive, so it still runs once.
    if (pages > 100) await new Promise((resolve) => setTimeout(resolve, 1_500));
    return { pages, traceId: currentCall()?.traceId };
  }

  @rpc async order(pages: number) {
    const { id } = await this.enqueue('report_service.render', [pages]);
    return { id, traceId: currentCall()!.traceId };
  }
}

type Services = { greeting_service: GreetingService; welcome_service: WelcomeService; report_service: ReportService };

/** What a rejected call carries, without the error id (new on every call). */
async function refusal(call: Promise<unknown>): Promise<Record<string, unknown>> {
  const err = (await call.then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e,
  )) as MeshError;
  assert.ok(err instanceof MeshError, `a MeshError, got ${String(err)}`);
  return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

function scenarios(transport: string, open: () => Promise<TestMesh<Services>>) {
  describe(`createTestMesh on ${transport}`, () => {
    let mesh: TestMesh<Services>;
    before(async () => (mesh = await open()));
    after(() => mesh.stop());

    it('answers a call, with the schema applied', async () => {
      assert.equal(await mesh.client.greeting_service.hello('Bob', { last_name: 'Ross' }), 'Hello, Bob Ross');
      assert.deepEqual(await mesh.client.call('greeting_service.hello', [], { first_name: 'Ann' }), [['Hello, Ann'], {}]);
    });

    it('refuses arguments the schema refuses, naming the field', async () => {
      assert.deepEqual(await refusal(mesh.client.call('greeting_service.hello', [], { first_name: 7 })), {
        code: 'INVALID_ARGUMENT',
        message: 'first_name must be a string, got number',
        details: [{ field: 'first_name', message: 'must be a string, got number' }],
      });
    });

    it("says UNKNOWN_PROCEDURE for a procedure nobody serves, and passes a handler's MeshError on", async () => {
      assert.equal((await refusal(mesh.client.call('nobody_service.hello', []))).code, 'UNKNOWN_PROCEDURE');
      assert.deepEqual(await refusal(mesh.client.call('greeting_service.fail', [])), { code: 'CONFLICT', message: 'already greeted' });
    });

    it("fails a call past its deadline, and aborts the handler's signal", async () => {
      const failed = await refusal(mesh.client.call('greeting_service.slow', [300], {}, { timeoutMs: 100 }));
      assert.equal(failed.code, 'DEADLINE_EXCEEDED');
      assert.equal(await mesh.client.greeting_service.slow(1), 'done');
    });

    it('carries the call context into nested calls and events, and keeps a dependency between calls', async () => {
      const name = `Eve on ${transport}`;
      const first = (await mesh.client.welcome_service.welcome(name)) as { greeting: string; count: number; traceId: string; deadline: number };
      assert.equal(first.greeting, `Hello, ${name}`);
      assert.match(first.traceId, /^[0-9a-f]{32}$/);
      assert.ok(first.deadline > Date.now() - 60_000, "the handler sees the caller's deadline");
      assert.equal(((await mesh.client.welcome_service.welcome(name)) as { count: number }).count, 2);
      const greeting = mesh.services.find((s) => s.name === 'greeting_service')!;
      await until(() => (greeting.eventStats()[0]?.handled ?? 0) >= 2);
      assert.equal(greeting.eventStats()[0]?.handled, 2);
      assert.equal(GreetingService.greeted.find((g) => g.name === name)?.traceId, first.traceId, 'the event handler sees the trace of the call that published it');
    });

    it("runs a task a service enqueued, once, in the enqueuing call's trace", async () => {
      const ordered = (await mesh.client.report_service.order(2)) as { id: string; traceId: string };
      const [[report]] = await mesh.tasks.handle(ordered.id).result({ timeout: 10_000 });
      assert.deepEqual(report, { pages: 2, traceId: ordered.traceId });
      const status = await mesh.tasks.handle(ordered.id).status();
      assert.deepEqual([status.state, status.attempts, status.result], ['succeeded', 1, [[report], {}]]);
    });

    it("enqueues by calling the task's endpoint, and refuses arguments its schema refuses before storing them", async () => {
      const [[report]] = await mesh.client.call('report_service.render', [3]);
      assert.equal((report as { pages: number }).pages, 3);
      assert.deepEqual(await refusal(mesh.client.call('report_service.render', [0])), {
        code: 'INVALID_ARGUMENT',
        message: 'pages must be more than 0',
        details: [{ field: 'pages', message: 'must be more than 0' }],
      });
    });

    it('retries a failing task, then declares it dead with every attempt’s error', async () => {
      const handle = await mesh.tasks.enqueue('report_service.render', [13]);
      assert.deepEqual(await refusal(handle.result({ timeout: 10_000 })), { code: 'UNAVAILABLE', message: 'the printer is out of paper' });
      const status = await handle.status();
      assert.deepEqual([status.state, status.attempts, status.errors.map((e) => e.error.code)], ['dead', 3, ['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']]);
      assert.deepEqual(status.progress, { done: 0, of: 13 });
      // Backoff 100 ms with equal jitter: at least 50 ms before the second attempt, 100 ms before the third.
      const failedAt = status.errors.map((e) => Date.parse(e.at));
      assert.ok(failedAt[1]! - failedAt[0]! >= 50 && failedAt[2]! - failedAt[1]! >= 100, `attempts failed at ${status.errors.map((e) => e.at).join(', ')}`);
    });

    it('enqueues once per key, holds a delayed task back, and keeps a long task claimed', async () => {
      const key = `report-4-${transport.replaceAll(' ', '-')}`;
      const first = await mesh.tasks.enqueue('report_service.render', [4], {}, { key });
      const again = await mesh.tasks.enqueue('report_service.render', [4], {}, { key });
      assert.equal(again.id, first.id);
      const delayed = await mesh.tasks.enqueue('report_service.render', [5], {}, { delay: 300 });
      const longRuns = () => ReportService.attempts.filter((a) => a.pages === 200).length;
      const runsBefore = longRuns();
      const long = await mesh.tasks.enqueue('report_service.render', [200]);
      assert.equal((await delayed.status()).state, 'queued');
      const done = await delayed.result({ timeout: 10_000 });
      assert.equal((done[0][0] as { pages: number }).pages, 5);
      const { enqueued_at, started_at } = await delayed.status();
      assert.ok(Date.parse(started_at!) - Date.parse(enqueued_at!) >= 300, `started ${started_at}, enqueued ${enqueued_at}`);
      await long.result({ timeout: 10_000 });
      assert.equal(longRuns() - runsBefore, 1, 'the long task ran once');
      await first.result({ timeout: 10_000 });
    });

    it('delivers an event published by the client to its handler', async () => {
      mesh.client.publish('welcome.sent', ['Zed']);
      const greeting = mesh.services.find((s) => s.name === 'greeting_service')!;
      await until(() => (greeting.eventStats()[0]?.handled ?? 0) >= 3);
      assert.equal(greeting.eventStats()[0]?.handled, 3);
    });
  });
}

let server: OwnNatsServer;
let nc: NatsConnection;
scenarios('the in-process bus', () => createTestMesh<Services>([GreetingService, WelcomeService, ReportService]));
scenarios('a real nats-server', async () => {
  server = await OwnNatsServer.start();
  nc = await connect({ servers: server.url });
  return createTestMesh<Services>([GreetingService, WelcomeService, ReportService], { nc });
});
after(async () => {
  await nc?.close();
  await server?.stop();
});

describe('the in-process bus', () => {
  it('answers a request nobody listens to with "no responders", as a server does', async () => {
    const bus = memoryNats();
    await assert.rejects(bus.request('nobody.there', 'hi'), { name: 'NoResponders' });
    await bus.close();
  });

  it("has nats.js's JetStream clients work on it, refusing what a server refuses", async () => {
    const bus = memoryNats();
    const jsm = await jetstreamManager(bus, { checkAPI: false });
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], max_msgs_per_subject: 1 });
    await assert.rejects(jsm.streams.add({ name: 'PAID', subjects: ['orders.paid'] }), /subjects overlap with an existing stream/);
    const js = jetstream(bus, { checkAPI: false });
    await js.publish('orders.1', 'placed');
    await js.publish('orders.1', 'paid');
    assert.equal((await jsm.streams.info('ORDERS')).state.messages, 1, 'one message per subject kept');
    assert.equal((await jsm.direct.getMessage('ORDERS', { last_by_subj: 'orders.1' }))?.string(), 'paid');
    await assert.rejects(jsm.streams.info('NOPE'), { name: 'StreamNotFoundError' });
    await bus.close();
  });

  it('refuses what it does not have by name, instead of behaving otherwise than a server', async () => {
    const bus = memoryNats();
    assert.throws(() => (bus as unknown as { rtt(): unknown }).rtt(), /the in-memory mesh has no rtt/);
    await bus.close();
  });
});
