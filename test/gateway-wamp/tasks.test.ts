// Tasks over WAMP, on a nats-server of its own with JetStream and a policy: a session enqueues with mesh.tasks.enqueue,
// follows the task's events on mesh.tasks.<id>, reads it with mesh.tasks.get and retries a dead one; refusals name their URI.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createIdentityVerifier } from '../../mesh/auth/index.ts';
import { hostService, rpc, Service, task, z, type HostedService } from '../../mesh/gateway.ts';
import { ERROR_ID, OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { openSession, RawClient, type Frame } from './raw-client.ts';

const { CALL, RESULT, ERROR, SUBSCRIBE, SUBSCRIBED, EVENT, CHALLENGE, AUTHENTICATE, WELCOME } = MessageType;
const SECRET = 'a-tasks-over-wamp-secret-of-at-least-32-characters';

class Reports extends Service {
  name = 'reports';
  /** Resolves the render that waits for it. */
  release: (() => void) | undefined;

  @task({ params: z.object({ title: z.string().min(1), pages: z.number().int().positive() }) })
  async render(title: string, pages: number) {
    this.progress({ page: 1, of: pages });
    await new Promise<void>((resolve) => (this.release = resolve));
    return { file: `${title}.pdf` };
  }

  counted = 0;

  @rpc async count() {
    return ++this.counted;
  }

  @task({ retries: { max: 0 } })
  async shred(what: string) {
    if (what !== 'paper') throw new Error(`cannot shred ${what}`);
    return 'shredded';
  }
}

/** Frames a wait passed over, per client: events and results interleave, and each is read once by what waits for it. */
const passed = new WeakMap<RawClient, Frame[]>();

/** The first frame, passed over earlier or to come, that `wanted` accepts. */
async function nextWhere(client: RawClient, wanted: (frame: Frame) => boolean): Promise<Frame> {
  const stash = passed.get(client) ?? [];
  passed.set(client, stash);
  const index = stash.findIndex(wanted);
  if (index >= 0) return stash.splice(index, 1)[0]!;
  for (;;) {
    const frame = await client.next(10_000);
    if (wanted(frame)) return frame;
    stash.push(frame);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a frame's fields are whatever the router sent; each test asserts them
type Any = any;

const nextOf = (client: RawClient, type: number): Promise<Any[]> => nextWhere(client, (frame) => frame[0] === type);

describe('gateway-wamp: tasks', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  const reports = new Reports();

  before(async () => {
    server = await OwnNatsServer.start();
    const dir = mkdtempSync(join(tmpdir(), 'wamp-tasks-'));
    writeFileSync(
      join(dir, 'policy.json'),
      JSON.stringify({
        anonymous: 'guest',
        roles: {
          guest: [],
          clerk: [
            { uri: 'reports.', match: 'prefix', allow: ['call'] },
            { uri: 'mesh.tasks.reports.', match: 'prefix', allow: ['subscribe'] },
          ],
          operator: [{ uri: 'mesh.tasks.retry', allow: ['call'] }],
        },
      }),
    );
    const config = testConfig({ 'nats.url': server.url, 'auth.jwtSecret': SECRET, 'auth.policyFile': join(dir, 'policy.json') });
    nc = await connect({ servers: server.url });
    hosted = await hostService(reports, { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    reports.release?.();
    await gateway?.stop();
    await hosted?.stop();
    await nc?.close();
    await server?.stop();
  });

  async function signIn(...roles: string[]): Promise<RawClient> {
    const token = await new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(roles.join('-')).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const client = await RawClient.open(gateway.wsUrl);
    client.send([1, 'realm1', { roles: { caller: {}, subscriber: {} }, authmethods: ['ticket'] }]);
    assert.equal((await client.next())[0], CHALLENGE);
    client.send([AUTHENTICATE, token, {}]);
    assert.equal((await client.next())[0], WELCOME);
    return client;
  }

  /** Lets the render that runs end, once it has started. */
  async function releaseRender(): Promise<void> {
    while (!reports.release) await new Promise((resolve) => setTimeout(resolve, 10));
    reports.release();
  }

  let requestId = 0;
  /** A CALL's RESULT or ERROR frame. */
  async function call(client: RawClient, procedure: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<Any[]> {
    const id = ++requestId;
    client.send([CALL, id, {}, procedure, args, kwargs]);
    return nextWhere(client, (frame) => (frame[0] === RESULT && frame[1] === id) || (frame[0] === ERROR && frame[1] === CALL && frame[2] === id));
  }

  it("enqueues with mesh.tasks.enqueue and delivers the task's progress and success as events", async () => {
    const clerk = await signIn('clerk');
    const enqueued = await call(clerk, 'mesh.tasks.enqueue', ['reports.render', [], { title: 'q3', pages: 12 }], { key: 'render-q3' });
    assert.equal(enqueued[0], RESULT, JSON.stringify(enqueued));
    const [{ id }] = enqueued[3] as [{ id: string }];
    assert.match(id, /^reports\.render\.\d+$/);

    clerk.send([SUBSCRIBE, 900, {}, `mesh.tasks.${id}`]);
    const subscribed = await nextOf(clerk, SUBSCRIBED);
    // The handler waits for release: subscribed before it ends, the page sees the end; progress came before SUBSCRIBED or comes now.
    const status = await call(clerk, 'mesh.tasks.get', [id]);
    assert.equal(status[0], RESULT);
    assert.deepEqual(Object.keys(status[3]![0]).sort(), ['attempts', 'enqueued_at', 'error', 'finished_at', 'id', 'progress', 'result', 'started_at', 'state', 'task']);
    await releaseRender();
    const events: Record<string, unknown>[] = [];
    while (events.at(-1)?.event !== 'succeeded') {
      const event = await nextOf(clerk, EVENT);
      assert.equal(event[1], subscribed[2]);
      assert.deepEqual(event[4], []);
      events.push(event[5] as Record<string, unknown>);
    }
    const end = events.at(-1)!;
    assert.deepEqual({ id: end.id, task: end.task, attempt: end.attempt, result: end.result }, { id, task: 'reports.render', attempt: 1, result: [[{ file: 'q3.pdf' }], {}] });
    const done = await call(clerk, 'mesh.tasks.get', [id]);
    assert.deepEqual([done[3]![0].state, done[3]![0].result], ['succeeded', [[{ file: 'q3.pdf' }], {}]]);

    // The same key is the same task.
    const again = await call(clerk, 'mesh.tasks.enqueue', ['reports.render', [], { title: 'q3', pages: 12 }], { key: 'render-q3' });
    assert.equal((again[3] as [{ id: string }])[0].id, id);
    await clerk.close();
  });

  it('sends a progress event while a task runs', async () => {
    const clerk = await signIn('clerk');
    clerk.send([SUBSCRIBE, 901, { match: 'prefix' }, 'mesh.tasks.reports.render']);
    await nextOf(clerk, SUBSCRIBED);
    reports.release = undefined;
    const enqueued = await call(clerk, 'mesh.tasks.enqueue', ['reports.render', ['annual', 3]]);
    const [{ id }] = enqueued[3] as [{ id: string }];
    const progress = await nextOf(clerk, EVENT);
    assert.deepEqual(progress[3], { topic: `mesh.tasks.${id}` });
    assert.deepEqual([progress[5]!.event, progress[5]!.progress], ['progress', { page: 1, of: 3 }]);
    await releaseRender();
    assert.equal((await nextOf(clerk, EVENT))[5]!.event, 'succeeded');
    await clerk.close();
  });

  it('refuses an enqueue to a role that may not call the task, and a subscription to its events, as not_authorized', async () => {
    const guest = await openSession(gateway.wsUrl);
    const refused = await call(guest, 'mesh.tasks.enqueue', ['reports.render', [], { title: 'x', pages: 1 }]);
    assert.deepEqual([refused[0], refused[4]], [ERROR, 'wamp.error.not_authorized']);
    assert.match(refused[6]!.id, ERROR_ID);
    assert.equal((await call(guest, 'mesh.tasks.get', ['reports.render.1']))[4], 'wamp.error.not_authorized');
    guest.send([SUBSCRIBE, 902, {}, 'mesh.tasks.reports.render.1']);
    assert.equal((await nextOf(guest, ERROR))[4], 'wamp.error.not_authorized');
    const queues = await call(guest, 'mesh.tasks.queues', []);
    assert.deepEqual(queues[3], [{ queues: [], dead: [], unanswered: [] }], 'a guest sees no queue of a task it may not call');
    await guest.close();
  });

  it('answers wrong arguments with wamp.error.invalid_argument, and a procedure that is no task with no_such_procedure', async () => {
    const clerk = await signIn('clerk');
    const wrong: [unknown[], Record<string, unknown>][] = [
      [[], {}],
      [[42], {}],
      [['reports.render', 'not a list'], {}],
      [['reports.render', [], []], {}],
      [['reports.render', [], {}, 'extra'], {}],
      [['reports.render', [], { title: 'x', pages: 1 }], { key: 'has spaces' }],
      [['reports.render', [], { title: 'x', pages: 1 }], { delay: -1 }],
      [['reports.render', [], { title: 'x', pages: 1 }], { priority: 1 }],
      [['reports..render', [], {}], {}],
    ];
    for (const [args, kwargs] of wrong) {
      const answer = await call(clerk, 'mesh.tasks.enqueue', args, kwargs);
      assert.deepEqual([answer[0], answer[4]], [ERROR, 'wamp.error.invalid_argument'], JSON.stringify([args, kwargs]));
    }
    const refused = await call(clerk, 'mesh.tasks.enqueue', ['reports.render', [], { title: '', pages: 0 }]);
    assert.equal(refused[4], 'wamp.error.invalid_argument');
    assert.deepEqual(refused[6]!.details, [
      { field: 'title', message: 'must have at least 1 character' },
      { field: 'pages', message: 'must be more than 0' },
    ]);
    assert.equal((await call(clerk, 'mesh.tasks.enqueue', ['reports.nothing', [], {}]))[4], 'wamp.error.no_such_procedure');
    assert.equal((await call(clerk, 'mesh.tasks.enqueue', ['reports.count', [], {}]))[4], 'wamp.error.no_such_procedure');
    assert.equal(reports.counted, 0, 'an @rpc is not run as a task');
    assert.equal((await call(clerk, 'mesh.tasks.get', [])).at(4), 'wamp.error.invalid_argument');
    assert.equal((await call(clerk, 'mesh.tasks.get', ['reports.render.999999'])).at(4), 'mesh.error.not_found');
    await clerk.close();
  });

  it('lists a dead task in mesh.tasks.queues and retries it for a role granted mesh.tasks.retry', async () => {
    const clerk = await signIn('clerk');
    const enqueued = await call(clerk, 'mesh.tasks.enqueue', ['reports.shred', ['gold']]);
    const [{ id }] = enqueued[3] as [{ id: string }];
    let dead: { id: string; reason: string; error: { code: string } }[] = [];
    while (!dead.some((d) => d.id === id)) {
      const overview = await call(clerk, 'mesh.tasks.queues', []);
      dead = (overview[3]![0] as { dead: typeof dead }).dead;
      assert.ok((overview[3]![0] as { queues: { task: string }[] }).queues.some((q) => q.task === 'reports.shred'));
    }
    assert.deepEqual(dead.find((d) => d.id === id)!.error.code, 'INTERNAL');
    assert.equal((await call(clerk, 'mesh.tasks.retry', [id]))[4], 'wamp.error.not_authorized', 'calling the task is not enough to retry it');
    const operator = await signIn('clerk', 'operator');
    const retried = await call(operator, 'mesh.tasks.retry', [id]);
    assert.equal(retried[0], RESULT, JSON.stringify(retried));
    const newId = (retried[3] as [{ id: string }])[0].id;
    assert.notEqual(newId, id);
    assert.equal((await call(operator, 'mesh.tasks.retry', [id]))[4], 'mesh.error.not_found', 'a retried task leaves the dead-letter queue');
    await clerk.close();
    await operator.close();
  });
});
