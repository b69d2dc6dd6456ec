// WAMP's meta API on a gateway with a policy: session, registration and subscription meta procedures and events
// (each granted by the policy, filtered by what the role may call or subscribe to), testaments published when a
// session goes, and caller and publisher disclosure (disclose_me) in INVOCATION and EVENT details.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { testConfig, silentLogger, uniqueName } from '../helpers.ts';
import { RawClient, type Frame } from './raw-client.ts';

const {
  HELLO,
  WELCOME,
  CHALLENGE,
  AUTHENTICATE,
  SUBSCRIBE,
  SUBSCRIBED,
  UNSUBSCRIBE,
  UNSUBSCRIBED,
  PUBLISH,
  EVENT,
  CALL,
  RESULT,
  ERROR,
  REGISTER,
  REGISTERED,
  UNREGISTER,
  UNREGISTERED,
  INVOCATION,
  YIELD,
} = MessageType;

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long';
const APP = uniqueName('app');
/** The gateway's largest message: it bounds a session's testaments too. */
const MAX_MESSAGE_BYTES = 8192;

describe('gateway-wamp meta API', () => {
  let gateway: RunningWampGateway;
  const sessions: RawClient[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wamp-meta-'));
    writeFileSync(
      join(dir, 'policy.yaml'),
      [
        'anonymous: guest',
        'roles:',
        '  guest:',
        `    - { uri: ${APP}, match: prefix, allow: [call, subscribe, publish, register] }`,
        '  admin:',
        `    - { uri: ${APP}, match: prefix, allow: [call, subscribe, publish, register] }`,
        '    - { uri: wamp., match: prefix, allow: [call, subscribe] }',
        '  watcher:',
        '    - { uri: wamp., match: prefix, allow: [call, subscribe] }',
      ].join('\n'),
    );
    const config = testConfig({ 'auth.jwtSecret': SECRET, 'auth.policyFile': join(dir, 'policy.yaml'), 'wamp.maxMessageBytes': MAX_MESSAGE_BYTES });
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    for (const session of sessions) session.ws.terminate();
    await gateway.stop();
  });

  async function anonymous(): Promise<{ client: RawClient; id: number }> {
    const client = await RawClient.open(gateway.wsUrl);
    sessions.push(client);
    return { client, id: await client.hello() };
  }

  async function signedIn(sub: string, roles: string[]): Promise<{ client: RawClient; id: number }> {
    const ticket = await new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const client = await RawClient.open(gateway.wsUrl);
    sessions.push(client);
    client.send([HELLO, 'realm1', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} }, authmethods: ['ticket'] }]);
    assert.equal((await client.next())[0], CHALLENGE);
    client.send([AUTHENTICATE, ticket, {}]);
    const welcome = await client.next();
    assert.equal(welcome[0], WELCOME, JSON.stringify(welcome));
    return { client, id: welcome[1] as number };
  }

  let request = 100;
  /** CALL, expecting RESULT: its positional results. */
  async function call(client: RawClient, procedure: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<unknown[] | undefined> {
    const id = ++request;
    client.send([CALL, id, {}, procedure, args, kwargs]);
    const answer = await client.next();
    assert.deepEqual(answer.slice(0, 2), [RESULT, id], JSON.stringify(answer));
    return answer[3] as unknown[] | undefined;
  }

  async function callError(client: RawClient, procedure: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<string> {
    const id = ++request;
    client.send([CALL, id, {}, procedure, args, kwargs]);
    const answer = await client.next();
    assert.deepEqual(answer.slice(0, 3), [ERROR, CALL, id], JSON.stringify(answer));
    return answer[4] as string;
  }

  async function subscribe(client: RawClient, topic: string, options: Record<string, unknown> = {}): Promise<number> {
    const id = ++request;
    client.send([SUBSCRIBE, id, options, topic]);
    const answer = await client.next();
    assert.deepEqual(answer.slice(0, 2), [SUBSCRIBED, id], JSON.stringify(answer));
    return answer[2] as number;
  }

  async function register(client: RawClient, procedure: string): Promise<number> {
    const id = ++request;
    client.send([REGISTER, id, {}, procedure]);
    const answer = await client.next();
    assert.deepEqual(answer.slice(0, 2), [REGISTERED, id], JSON.stringify(answer));
    return answer[2] as number;
  }

  /** The next EVENT: [subscription, details, args]. */
  async function event(client: RawClient): Promise<[unknown, unknown, unknown]> {
    const frame: Frame = await client.next();
    assert.equal(frame[0], EVENT, JSON.stringify(frame));
    return [frame[1], frame[3], frame[4]];
  }

  it('counts, lists and describes the sessions, and tells of each join and leave', async () => {
    const { client: admin, id: adminId } = await signedIn('alice', ['admin']);
    const joins = await subscribe(admin, 'wamp.session.on_join');
    const leaves = await subscribe(admin, 'wamp.session.on_leave');
    const { client: guest, id: guestId } = await anonymous();
    const [subscription, , [details]] = (await event(admin)) as [number, unknown, [Record<string, unknown>]];
    assert.equal(subscription, joins);
    assert.deepEqual(details, { session: guestId, authid: 'anonymous', authrole: 'guest', authmethod: 'anonymous', authprovider: 'static', transport: { type: 'websocket', protocol: 'wamp.2.json' } });

    const [ids] = (await call(admin, 'wamp.session.list')) as [number[]];
    assert.ok(ids.includes(adminId) && ids.includes(guestId));
    assert.deepEqual(await call(admin, 'wamp.session.list', [['guest']]), [[guestId]]);
    assert.deepEqual(await call(admin, 'wamp.session.count', [['admin']]), [1]);
    assert.deepEqual(await call(admin, 'wamp.session.count', [['nobody']]), [0]);
    assert.deepEqual(await call(admin, 'wamp.session.get', [adminId]), [
      { session: adminId, authid: 'alice', authrole: 'admin', authmethod: 'ticket', authprovider: 'jwt', transport: { type: 'websocket', protocol: 'wamp.2.json' } },
    ]);
    assert.equal(await callError(admin, 'wamp.session.get', [1]), 'wamp.error.no_such_session');
    assert.equal(await callError(admin, 'wamp.session.get', ['one']), 'wamp.error.invalid_argument');
    assert.equal(await callError(admin, 'wamp.session.list', ['guest']), 'wamp.error.invalid_argument');

    guest.ws.terminate();
    assert.deepEqual(await event(admin), [leaves, {}, [guestId, 'anonymous', 'guest']]);
  });

  it('answers meta procedures and meta topics only to roles the policy grants them', async () => {
    const { client: guest } = await anonymous();
    assert.equal(await callError(guest, 'wamp.session.count'), 'wamp.error.not_authorized');
    assert.equal(await callError(guest, 'wamp.registration.list'), 'wamp.error.not_authorized');
    guest.send([SUBSCRIBE, 1, {}, 'wamp.session.on_join']);
    const refused = await guest.next();
    assert.deepEqual([refused[0], refused[1], refused[2], refused[4]], [ERROR, SUBSCRIBE, 1, 'wamp.error.not_authorized']);
  });

  it('lists, looks up, matches and describes registrations, and tells of their life, to roles that may call them', async () => {
    const { client: admin } = await signedIn('alice', ['admin']);
    const { client: watcher } = await signedIn('walt', ['watcher']);
    const { client: callee, id: calleeId } = await anonymous();
    const procedure = `${APP}.reg.add`;
    const topics = ['wamp.registration.on_create', 'wamp.registration.on_register', 'wamp.registration.on_unregister', 'wamp.registration.on_delete'];
    const subscriptions = [];
    for (const topic of topics) subscriptions.push(await subscribe(admin, topic));
    const watcherJoins = await subscribe(watcher, 'wamp.session.on_join');
    for (const topic of topics) await subscribe(watcher, topic);

    const registrationId = await register(callee, procedure);
    const [created, , [creator, details]] = (await event(admin)) as [number, unknown, [number, Record<string, unknown>]];
    assert.deepEqual([created, creator], [subscriptions[0], calleeId]);
    assert.deepEqual({ ...details, created: typeof details.created }, { id: registrationId, created: 'string', uri: procedure, match: 'exact', invoke: 'single' });
    assert.deepEqual(await event(admin), [subscriptions[1], {}, [calleeId, registrationId]]);

    assert.deepEqual(await call(admin, 'wamp.registration.lookup', [procedure]), [registrationId]);
    assert.deepEqual(await call(admin, 'wamp.registration.lookup', [procedure, { match: 'prefix' }]), [null]);
    assert.deepEqual(await call(admin, 'wamp.registration.match', [procedure]), [registrationId]);
    assert.deepEqual(await call(admin, 'wamp.registration.match', [`${procedure}.other`]), [null]);
    assert.deepEqual(await call(admin, 'wamp.registration.list_callees', [registrationId]), [[calleeId]]);
    assert.deepEqual(await call(admin, 'wamp.registration.count_callees', [registrationId]), [1]);
    const [lists] = (await call(admin, 'wamp.registration.list')) as [Record<string, number[]>];
    assert.ok(lists.exact!.includes(registrationId));
    assert.deepEqual([lists.prefix, lists.wildcard], [[], []]);
    assert.equal(((await call(admin, 'wamp.registration.get', [registrationId])) as [Record<string, unknown>])[0]!.uri, procedure);
    assert.equal(await callError(admin, 'wamp.registration.get', [registrationId + 1000]), 'wamp.error.no_such_registration');
    assert.equal(await callError(admin, 'wamp.registration.count_callees', []), 'wamp.error.invalid_argument');

    // The watcher may use the meta API but call nothing of the app: it sees none of its registrations.
    assert.deepEqual(await call(watcher, 'wamp.registration.lookup', [procedure]), [null]);
    assert.equal(await callError(watcher, 'wamp.registration.get', [registrationId]), 'wamp.error.no_such_registration');
    const { id: laterId } = await anonymous();
    const [joinSubscription, , [joined]] = (await event(watcher)) as [number, unknown, [Record<string, unknown>]];
    assert.deepEqual([joinSubscription, joined.session], [watcherJoins, laterId], 'the registration events passed the watcher by');

    callee.send([UNREGISTER, 1, registrationId]);
    assert.deepEqual(await callee.next(), [UNREGISTERED, 1]);
    assert.deepEqual(await event(admin), [subscriptions[2], {}, [calleeId, registrationId]]);
    assert.deepEqual(await event(admin), [subscriptions[3], {}, [calleeId, registrationId]]);
  });

  it('lists, looks up, matches and describes subscriptions, and tells of their life', async () => {
    const { client: admin } = await signedIn('alice', ['admin']);
    const { client: reader, id: readerId } = await anonymous();
    const onCreate = await subscribe(admin, 'wamp.subscription.on_create');
    const onSubscribe = await subscribe(admin, 'wamp.subscription.on_subscribe');
    const onUnsubscribe = await subscribe(admin, 'wamp.subscription.on_unsubscribe');
    const onDelete = await subscribe(admin, 'wamp.subscription.on_delete');
    const prefix = `${APP}.sub.news`;
    const subscriptionId = await subscribe(reader, prefix, { match: 'prefix' });
    const [created, , [creator, details]] = (await event(admin)) as [number, unknown, [number, Record<string, unknown>]];
    assert.deepEqual([created, creator, details.id, details.uri, details.match], [onCreate, readerId, subscriptionId, prefix, 'prefix']);
    assert.deepEqual(await event(admin), [onSubscribe, {}, [readerId, subscriptionId]]);

    assert.deepEqual(await call(admin, 'wamp.subscription.lookup', [prefix, { match: 'prefix' }]), [subscriptionId]);
    assert.deepEqual(await call(admin, 'wamp.subscription.lookup', [prefix]), [null]);
    assert.deepEqual(await call(admin, 'wamp.subscription.match', [`${prefix}paper.today`]), [[subscriptionId]]);
    assert.deepEqual(await call(admin, 'wamp.subscription.match', [`${APP}.sub.new`]), [null]);
    assert.deepEqual(await call(admin, 'wamp.subscription.list_subscribers', [subscriptionId]), [[readerId]]);
    assert.deepEqual(await call(admin, 'wamp.subscription.count_subscribers', [subscriptionId]), [1]);
    const [lists] = (await call(admin, 'wamp.subscription.list')) as [Record<string, number[]>];
    assert.ok(lists.prefix!.includes(subscriptionId) && !lists.exact!.includes(onCreate), 'meta topics are not listed');
    assert.equal(await callError(admin, 'wamp.subscription.get', [onCreate]), 'wamp.error.no_such_subscription');

    reader.send([UNSUBSCRIBE, 1, subscriptionId]);
    assert.deepEqual(await reader.next(), [UNSUBSCRIBED, 1]);
    assert.deepEqual(await event(admin), [onUnsubscribe, {}, [readerId, subscriptionId]]);
    assert.deepEqual(await event(admin), [onDelete, {}, [readerId, subscriptionId]]);
  });

  it('publishes a session testaments when it goes, detached before destroyed, and not the flushed ones', async () => {
    const { client: listener } = await anonymous();
    const topic = `${APP}.testament`;
    const subscription = await subscribe(listener, topic);
    const { client: leaving, id: leavingId } = await anonymous();
    assert.equal(await call(leaving, 'wamp.session.add_testament', [topic, ['gone'], { who: leavingId }]), undefined);
    await call(leaving, 'wamp.session.add_testament', [topic, ['flushed'], {}], { scope: 'detached' });
    await call(leaving, 'wamp.session.flush_testaments', [], { scope: 'detached' });
    await call(leaving, 'wamp.session.add_testament', [topic, ['first'], {}], { scope: 'detached', publish_options: { disclose_me: true } });
    await call(leaving, 'wamp.session.add_testament', [topic, ['second'], {}], { scope: 'detached', publish_options: { disclose_me: true } });
    assert.equal(await callError(leaving, 'wamp.session.add_testament', [topic, ['x']], { scope: 'forever' }), 'wamp.error.invalid_argument');
    assert.equal(await callError(leaving, 'wamp.session.add_testament', ['wamp.session.on_join', []]), 'wamp.error.invalid_uri');
    assert.equal(await callError(leaving, 'wamp.session.add_testament', [topic, []], { publish_options: { exclude: 'me' } }), 'wamp.error.invalid_argument');
    assert.equal(await callError(leaving, 'wamp.session.add_testament', ['elsewhere.topic', []]), 'wamp.error.not_authorized');
    // A session's testaments take at most as much as the gateway's largest message, all together.
    const half = 'x'.repeat(MAX_MESSAGE_BYTES / 2);
    await call(leaving, 'wamp.session.add_testament', [`${APP}.unheard`, [half]]);
    assert.equal(await callError(leaving, 'wamp.session.add_testament', [`${APP}.unheard`, [half]]), 'wamp.error.invalid_argument');
    leaving.ws.terminate();
    const expected = [
      { details: { publisher: leavingId, publisher_authid: 'anonymous', publisher_authrole: 'guest' }, args: ['first'] },
      { details: { publisher: leavingId, publisher_authid: 'anonymous', publisher_authrole: 'guest' }, args: ['second'] },
      { details: {}, args: ['gone'] },
    ];
    for (const { details, args } of expected) {
      const [type, subscriptionId, , eventDetails, eventArgs] = await listener.next();
      assert.deepEqual([type, subscriptionId, eventDetails, eventArgs], [EVENT, subscription, details, args]);
    }
  });

  it('names a caller that asks (disclose_me) in INVOCATION details, and no one that does not', async () => {
    const { client: callee } = await anonymous();
    const { client: caller, id: callerId } = await signedIn('carol', ['admin']);
    const procedure = `${APP}.disclose.echo`;
    await register(callee, procedure);
    caller.send([CALL, 1, { disclose_me: true }, procedure, ['hi']]);
    const invocation = await callee.next();
    assert.deepEqual([invocation[0], invocation[3]], [INVOCATION, { caller: callerId, caller_authid: 'carol', caller_authrole: 'admin' }]);
    callee.send([YIELD, invocation[1], {}, ['hi']]);
    assert.deepEqual((await caller.next()).slice(0, 4), [RESULT, 1, {}, ['hi']]);
    caller.send([CALL, 2, {}, procedure, ['quiet']]);
    const plain = await callee.next();
    assert.deepEqual([plain[0], plain[3]], [INVOCATION, {}]);
    callee.send([YIELD, plain[1], {}, []]);
    assert.equal((await caller.next())[0], RESULT);
  });

  it('names a publisher that asks (disclose_me) in EVENT details', async () => {
    const { client: listener } = await anonymous();
    const { client: publisher, id: publisherId } = await signedIn('paul', ['admin']);
    const topic = `${APP}.disclose.news`;
    await subscribe(listener, topic);
    publisher.send([PUBLISH, 1, { disclose_me: true }, topic, ['told']]);
    publisher.send([PUBLISH, 2, {}, topic, ['untold']]);
    assert.deepEqual((await listener.next()).slice(3, 5), [{ publisher: publisherId, publisher_authid: 'paul', publisher_authrole: 'admin' }, ['told']]);
    assert.deepEqual((await listener.next()).slice(3, 5), [{}, ['untold']]);
  });
});
