// @event handlers on a real nats-server: pool mode (one of two instances handles each event), broadcast mode
// (each instance handles each), binding, failures counted and not fatal, requests ignored, identity carried on.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createIdentityVerifier, IDENTITY_HEADER, meshKeyOf, mintIdentityToken } from '../../mesh/auth/index.ts';
import { createClient, currentCall, event, hostService, rpc, Service, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const SERVICE = uniqueName('events_listener');
const ANNOUNCER = uniqueName('events_announcer');
const POOLED = uniqueName('events_pooled');
const BROADCAST = uniqueName('events_broadcast');
const GREETED = uniqueName('events_greeted');
const ANNOUNCED = uniqueName('events_announced');

const config = testConfig({ 'auth.meshSecret': 'a mesh secret of at least thirty-two characters' });

class Listener {
  name = SERVICE;
  readonly pooled: number[] = [];
  readonly broadcast: number[] = [];
  readonly greetings: string[] = [];
  readonly announcements: { text: string; caller: string | undefined }[] = [];

  constructor(readonly instance: string) {}

  @event(POOLED)
  async onPooled(n: number) {
    this.pooled.push(n);
  }

  @event(BROADCAST, { broadcast: true })
  async onBroadcast(n: number) {
    this.broadcast.push(n);
  }

  @event(GREETED)
  async onGreeted(name: string, greeting = 'Hello') {
    if (name === 'boom') throw new Error('the handler failed');
    this.greetings.push(`${greeting}, ${name}`);
  }

  @event(ANNOUNCED)
  async onAnnounced(text: string) {
    this.announcements.push({ text, caller: currentCall()?.caller?.id });
  }
}

class Announcer extends Service {
  name = ANNOUNCER;

  @rpc async announce(text: string) {
    this.publish(ANNOUNCED, [text]);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await sleep(20);
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('event handlers', () => {
  const connections: NatsConnection[] = [];
  const hosted: HostedService[] = [];
  const a = new Listener('a');
  const b = new Listener('b');
  let client: MeshClient;
  let nc: NatsConnection;

  before(async () => {
    const identity = createIdentityVerifier(config.auth);
    for (const instance of [a, b, new Announcer()]) {
      const own = await connect({ servers: NATS_URL });
      connections.push(own);
      hosted.push(await hostService(instance, { nc: own, logger: silentLogger, identity }));
    }
    nc = await connect({ servers: NATS_URL });
    connections.push(nc);
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    client.close();
    await Promise.all(hosted.map((h) => h.stop()));
    await Promise.all(connections.map((c) => c.drain()));
  });

  it('hands each event to exactly one instance of the service by default', async () => {
    const sent = Array.from({ length: 40 }, (_, i) => i);
    for (const n of sent) client.publish(POOLED, [n]);
    await until(() => a.pooled.length + b.pooled.length >= sent.length, 'the pooled events');
    await sleep(100);
    assert.deepEqual(
      [...a.pooled, ...b.pooled].sort((x, y) => x - y),
      sent,
    );
    assert.deepEqual(hosted[0]!.eventStats().find((s) => s.subject === POOLED)?.queue, `${SERVICE}.events`);
  });

  it('hands each event to every instance with broadcast: true', async () => {
    for (const n of [1, 2, 3]) client.publish(BROADCAST, [n]);
    await until(() => a.broadcast.length === 3 && b.broadcast.length === 3, 'the broadcast events');
    await sleep(100);
    assert.deepEqual(a.broadcast, [1, 2, 3]);
    assert.deepEqual(b.broadcast, [1, 2, 3]);
    assert.equal(hosted[0]!.eventStats().find((s) => s.subject === BROADCAST)?.queue, undefined);
  });

  it('binds [args, kwargs] to the parameters (keyword arguments it does not declare left out), counts failures and bad payloads, and keeps going', async () => {
    const total = () =>
      [...hosted[0]!.eventStats(), ...hosted[1]!.eventStats()]
        .filter((s) => s.subject === GREETED)
        .reduce((sum, s) => ({ handled: sum.handled + s.handled, failed: sum.failed + s.failed, invalid: sum.invalid + s.invalid }), { handled: 0, failed: 0, invalid: 0 });
    client.publish(GREETED, ['Bob'], { greeting: 'Hi' });
    client.publish(GREETED, ['boom']);
    nc.publish(GREETED, new TextEncoder().encode('not json'));
    client.publish(GREETED, ['Ann', 'Hey', 'one too many']);
    client.publish(GREETED, [], { nobody: 'x' });
    client.publish(GREETED, ['Eve']);
    client.publish(GREETED, ['Zed'], { mood: 'sunny' });
    await until(() => total().handled + total().failed + total().invalid === 7, 'every greeting event');
    assert.deepEqual(total(), { handled: 3, failed: 1, invalid: 3 });
    assert.deepEqual([...a.greetings, ...b.greetings].sort(), ['Hello, Eve', 'Hello, Zed', 'Hi, Bob']);
  });

  it('ignores a request sent to an event subject: it is not an event, and nobody answers it', async () => {
    const before = a.greetings.length + b.greetings.length;
    await assert.rejects(nc.request(GREETED, new TextEncoder().encode('[["Req"]]'), { timeout: 300 }));
    const ignored = [...hosted[0]!.eventStats(), ...hosted[1]!.eventStats()].filter((s) => s.subject === GREETED).reduce((n, s) => n + s.ignoredRequests, 0);
    assert.equal(ignored, 1);
    assert.equal(a.greetings.length + b.greetings.length, before);
  });

  it('carries the caller identity and trace context from a handler to the events it publishes', async () => {
    const raw = nc.subscribe(ANNOUNCED, { max: 1 });
    const h = headers();
    h.set(IDENTITY_HEADER, mintIdentityToken({ id: 'ada', roles: [], method: 'jwt' }, meshKeyOf(config.auth)!, { subject: `${ANNOUNCER}.announce`, expiresAt: Date.now() + 60_000 }));
    h.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    await nc.request(`${ANNOUNCER}.announce`, new TextEncoder().encode('[["news"]]'), { timeout: 5000, headers: h });
    await until(() => a.announcements.length + b.announcements.length === 1, 'the announcement');
    assert.deepEqual([...a.announcements, ...b.announcements], [{ text: 'news', caller: 'ada' }]);
    // The same trace; the event is sent by a span of its own (a child of the handler's), not the caller's span.
    for await (const msg of raw) {
      const traceparent = msg.headers?.get('traceparent') ?? '';
      assert.match(traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
      assert.notEqual(traceparent.split('-')[2], '00f067aa0ba902b7');
    }
  });

  it('refuses an @event subject that is no NATS subject', () => {
    assert.throws(() => event('bad subject'), /@event\("bad subject"\)/);
    assert.throws(() => event('$SYS.x'), /reserved/);
  });
});
