// The Advanced Profile against the spec's own examples (wamp-proto/wamp-proto rfc/text/advanced/, each vector names
// its file): pattern-based subscriptions, publisher and caller identification, testaments and the meta events'
// order, over two gateway processes on a nats-server of the test's own (the examples use fixed names).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { start } from '../../gateway-wamp/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { RawClient } from './raw-client.ts';

const SPEC = 'rfc/text/advanced/';

/** A pattern subscription from the spec, and the topics it says do and do not apply. */
interface PatternVector {
  source: string;
  subscribe: [number, number, Record<string, unknown>, string];
  applies: string[];
  doesNotApply: string[];
}

const PATTERN_VECTORS: PatternVector[] = [
  {
    source: `${SPEC}ap_pubsub_pattern_based_subscription.md (Prefix Matching)`,
    subscribe: [32, 912873614, { match: 'prefix' }, 'com.myapp.topic.emergency'],
    applies: ['com.myapp.topic.emergency.11', 'com.myapp.topic.emergency-low', 'com.myapp.topic.emergency.category.severe', 'com.myapp.topic.emergency'],
    doesNotApply: ['com.myapp.topic.emerge'],
  },
  {
    source: `${SPEC}ap_pubsub_pattern_based_subscription.md (Wildcard Matching)`,
    subscribe: [32, 912873614, { match: 'wildcard' }, 'com.myapp..userevent'],
    applies: ['com.myapp.foo.userevent', 'com.myapp.bar.userevent', 'com.myapp.a12.userevent'],
    doesNotApply: ['com.myapp.foo.userevent.bar', 'com.myapp.foo.user', 'com.myapp2.foo.userevent'],
  },
];

describe('gateway-wamp Advanced Profile conformance (the spec examples)', () => {
  let nats: OwnNatsServer;
  let a: Awaited<ReturnType<typeof start>>;
  let b: Awaited<ReturnType<typeof start>>;
  const sessions: RawClient[] = [];

  before(async () => {
    nats = await OwnNatsServer.start();
    a = await start({ config: testConfig({ 'nats.url': nats.url }), logger: silentLogger });
    b = await start({ config: testConfig({ 'nats.url': nats.url }), logger: silentLogger });
  });

  after(async () => {
    for (const session of sessions) session.ws.terminate();
    await a?.stop();
    await b?.stop();
    await nats?.stop();
  });

  /** A session, and its id (from WELCOME). */
  const ids = new Map<RawClient, number>();
  async function session(url: string): Promise<RawClient> {
    const client = await RawClient.open(url);
    sessions.push(client);
    ids.set(client, await client.hello());
    return client;
  }

  /** Sends a request and returns the router's answer, asserting its type. */
  async function answered(client: RawClient, message: unknown[], type: number): Promise<unknown[]> {
    client.send(message);
    const answer = await client.next();
    assert.equal(answer[0], type, JSON.stringify(answer));
    return answer;
  }

  for (const vector of PATTERN_VECTORS) {
    it(`delivers what the spec says applies, and nothing else [${vector.source}]`, async () => {
      const subscriber = await session(b.wsUrl);
      const publisher = await session(a.wsUrl);
      const [, , subscription] = await answered(subscriber, vector.subscribe, 33);
      for (const topic of [...vector.doesNotApply, ...vector.applies]) await answered(publisher, [16, 1, { acknowledge: true }, topic, ['Hello, world!']], 17);
      for (const topic of vector.applies) {
        const event = await subscriber.next();
        assert.deepEqual([event[0], event[1], event[3], event[4]], [36, subscription, { topic }, ['Hello, world!']], topic);
      }
    });
  }

  it(`names the publisher in EVENT.Details on every gateway [${SPEC}ap_pubsub_publisher_identification.md]`, async () => {
    const subscriber = await session(b.wsUrl);
    const publisher = await session(a.wsUrl);
    const publisherId = ids.get(publisher);
    const [, , subscription] = await answered(subscriber, [32, 713845233, {}, 'com.myapp.mytopic1'], 33);
    await answered(publisher, [16, 239714735, { disclose_me: true, acknowledge: true }, 'com.myapp.mytopic1', ['Hello, world!']], 17);
    const event = await subscriber.next();
    assert.deepEqual(
      [event[0], event[1], event[3], event[4]],
      [36, subscription, { publisher: publisherId, publisher_authid: String(publisherId), publisher_authrole: 'anonymous' }, ['Hello, world!']],
    );
  });

  it(`names the caller in INVOCATION.Details on another gateway [${SPEC}ap_rpc_caller_identification.md]`, async () => {
    const callee = await session(b.wsUrl);
    const caller = await session(a.wsUrl);
    const callerId = ids.get(caller);
    await answered(callee, [64, 927639114088448, {}, 'com.myapp.echo'], 65);
    caller.send([48, 7814135, { disclose_me: true }, 'com.myapp.echo', ['Hello, world!']]);
    const invocation = await callee.next();
    assert.deepEqual([invocation[0], invocation[3], invocation[4]], [68, { caller: callerId, caller_authid: String(callerId), caller_authrole: 'anonymous' }, ['Hello, world!']]);
    callee.send([70, invocation[1], {}, ['Hello, world!']]);
    assert.deepEqual((await caller.next()).slice(0, 4), [50, 7814135, {}, ['Hello, world!']]);
  });

  it(`publishes a testament when its session goes [${SPEC}ap_pubsub_testament.md (Testaments in Use)]`, async () => {
    const subscriber = await session(b.wsUrl);
    const [, , subscription] = await answered(subscriber, [32, 1, {}, 'com.myapp.mytopic'], 33);
    const leaving = await RawClient.open(a.wsUrl);
    await leaving.hello();
    await answered(leaving, [48, 1, {}, 'wamp.session.add_testament', ['com.myapp.mytopic', ['Seeya!'], { my_name: 'app1' }]], 50);
    leaving.ws.terminate();
    const event = await subscriber.next();
    assert.deepEqual([event[0], event[1], event[3], event[4], event[5]], [36, subscription, {}, ['Seeya!'], { my_name: 'app1' }]);
  });

  it(`sends on_create before on_register, and on_unregister before on_delete [${SPEC}ap_rpc_registration_meta_api.md]`, async () => {
    const watcher = await session(a.wsUrl);
    const topics = ['wamp.registration.on_create', 'wamp.registration.on_register', 'wamp.registration.on_unregister', 'wamp.registration.on_delete'];
    const subscriptions = [];
    for (const [i, topic] of topics.entries()) subscriptions.push((await answered(watcher, [32, 10 + i, {}, topic], 33))[2]);
    const callee = await session(a.wsUrl);
    const [, , registration] = await answered(callee, [64, 1, {}, 'com.myapp.add2'], 65);
    await answered(callee, [66, 2, registration], 67);
    const heard = [];
    for (let i = 0; i < 4; i++) heard.push((await watcher.next())[1]);
    assert.deepEqual(heard, subscriptions);
  });

  it(`sends on_create before on_subscribe, and on_unsubscribe before on_delete [${SPEC}ap_pubsub_subscription_meta_api.md]`, async () => {
    const watcher = await session(a.wsUrl);
    const topics = ['wamp.subscription.on_create', 'wamp.subscription.on_subscribe', 'wamp.subscription.on_unsubscribe', 'wamp.subscription.on_delete'];
    const subscriptions = [];
    for (const [i, topic] of topics.entries()) subscriptions.push((await answered(watcher, [32, 10 + i, {}, topic], 33))[2]);
    const subscriber = await session(a.wsUrl);
    const [, , subscription] = await answered(subscriber, [32, 1, {}, 'com.myapp.meta.watched'], 33);
    await answered(subscriber, [34, 2, subscription], 35);
    const heard = [];
    for (let i = 0; i < 4; i++) heard.push((await watcher.next())[1]);
    assert.deepEqual(heard, subscriptions);
  });

  it(`tells on_join with the details the spec lists [${SPEC}ap_session_meta_api.md]`, async () => {
    const watcher = await session(a.wsUrl);
    const [, , subscription] = await answered(watcher, [32, 1, {}, 'wamp.session.on_join'], 33);
    const joining = await session(a.wsUrl);
    const event = await watcher.next();
    const [details] = event[4] as [Record<string, unknown>];
    assert.deepEqual([event[1], Object.keys(details).sort()], [subscription, ['authid', 'authmethod', 'authprovider', 'authrole', 'session', 'transport']]);
    assert.equal(details.session, ids.get(joining));
  });
});
