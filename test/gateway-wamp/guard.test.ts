// The rules gateway-wamp keeps in every configuration, tried the way an anonymous browser tab would: eavesdropping
// on another caller's requests, subscribing or publishing to a procedure, and taking over a hosted service's procedure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { hostService, jsonCodec, rpc, Service, type HostedService } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession, RawClient } from './raw-client.ts';

const { SUBSCRIBE, SUBSCRIBED, EVENT, PUBLISH, PUBLISHED, ERROR, REGISTER, REGISTERED, UNREGISTERED, INVOCATION, YIELD } = MessageType;

/** A hosted service that counts its invocations and publishes `<name>.news` on request. */
function thingService(name: string) {
  class ThingService extends Service {
    name = name;
    invocations = 0;

    @rpc async get_things(secret: string) {
      this.invocations++;
      return `real things for ${secret}`;
    }

    @rpc async announce(text: string) {
      this.publish(`${this.name}.news`, [text]);
    }
  }
  return new ThingService();
}

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

/** A session that announces registration_revocation, as a callee that wants to hear of revoked registrations. */
async function revocableSession(url: string): Promise<RawClient> {
  const client = await RawClient.open(url);
  client.send([1, 'realm1', { roles: { callee: { features: { registration_revocation: true } }, caller: {} } }]);
  const [type] = await client.next();
  assert.equal(type, MessageType.WELCOME);
  return client;
}

/** The next frame, or undefined if none comes within ms. */
async function nothingWithin(client: RawClient, ms: number): Promise<unknown[] | undefined> {
  return client.next(ms).catch(() => undefined);
}

describe('gateway-wamp rules in every configuration', () => {
  const REFRESH_MS = 200;
  let gateway: Awaited<ReturnType<typeof start>>;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let nc: NatsConnection;
  const hosted: HostedService[] = [];
  const service = thingService(uniqueName('thing_service'));

  before(async () => {
    const config = testConfig({ 'rpc.registryRefreshMs': REFRESH_MS });
    nc = await connect({ servers: config.nats.url });
    hosted.push(await hostService(service, { nc, logger: silentLogger }));
    gateway = await start({ config, logger: silentLogger });
    http = await startHttp({ config, logger: silentLogger });
  });

  after(async () => {
    await http.stop();
    await gateway.stop();
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
  });

  it("never shows a prefix subscriber another caller's HTTP or NATS requests, but shows the service's events", async () => {
    const tab = await openSession(gateway.wsUrl);
    tab.send([SUBSCRIBE, 1, { match: 'prefix' }, service.name]);
    const [subscribed, , subscriptionId] = await tab.next();
    assert.equal(subscribed, SUBSCRIBED);

    assert.equal((await post(`${http.url}/${service.name}.get_things`, '[["http-secret"]]')).status, 200);
    const reply = await nc.request(`${service.name}.get_things`, jsonCodec.encode([['nats-secret'], {}]), { timeout: 2000 });
    assert.deepEqual(jsonCodec.decode(reply.data), [['real things for nats-secret'], {}]);
    assert.equal((await post(`${http.url}/${service.name}.announce`, '[["public news"]]')).status, 200);

    const [type, subscription, , details, args] = await tab.next();
    assert.deepEqual([type, subscription, details, args], [EVENT, subscriptionId, { topic: `${service.name}.news` }, ['public news']]);
    assert.equal(await nothingWithin(tab, 200), undefined, 'no request was delivered as an event');
    await tab.close();
  });

  it('refuses an exact SUBSCRIBE to the subject of a procedure with wamp.error.not_authorized', async () => {
    const tab = await openSession(gateway.wsUrl);
    tab.send([SUBSCRIBE, 2, {}, `${service.name}.get_things`]);
    const [type, requestType, request, , uri] = await tab.next();
    assert.deepEqual([type, requestType, request, uri], [ERROR, SUBSCRIBE, 2, 'wamp.error.not_authorized']);
    tab.send([SUBSCRIBE, 3, {}, `${service.name}.news`]);
    assert.equal((await tab.next())[0], SUBSCRIBED, 'an event topic of the same service is fine');
    await tab.close();
  });

  it('refuses a PUBLISH into a procedure: ERROR when acknowledged, else dropped without invoking it', async () => {
    const tab = await openSession(gateway.wsUrl);
    const before = service.invocations;
    tab.send([PUBLISH, 4, { acknowledge: true }, `${service.name}.get_things`, ['forged']]);
    const [type, requestType, request, , uri] = await tab.next();
    assert.deepEqual([type, requestType, request, uri], [ERROR, PUBLISH, 4, 'wamp.error.not_authorized']);
    tab.send([PUBLISH, 5, {}, `${service.name}.get_things`, ['forged']]);
    tab.send([PUBLISH, 6, { acknowledge: true }, `${service.name}.news`, ['an event']]);
    assert.equal((await tab.next())[0], PUBLISHED, 'the unacknowledged refusal sends nothing; the event topic is fine');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(service.invocations, before, 'the procedure never ran');
    await tab.close();
  });

  it('refuses a REGISTER of a hosted procedure, so every HTTP call still gets the real service', async () => {
    const tab = await openSession(gateway.wsUrl);
    tab.send([REGISTER, 7, {}, `${service.name}.get_things`]);
    const [type, requestType, request, , uri] = await tab.next();
    assert.deepEqual([type, requestType, request, uri], [ERROR, REGISTER, 7, 'wamp.error.not_authorized']);
    const replies = await Promise.all(Array.from({ length: 10 }, () => post(`${http.url}/${service.name}.get_things`, '[["mine"]]')));
    assert.deepEqual(
      replies.map((r) => r.text),
      Array(10).fill('[["real things for mine"],{}]'),
    );
    await tab.close();
  });

  it('revokes a registration made before its service started, once the registry shows the service', async () => {
    const late = thingService(uniqueName('late_service'));
    const procedure = `${late.name}.get_things`;
    const tab = await revocableSession(gateway.wsUrl);
    tab.send([REGISTER, 8, {}, procedure]);
    const [registered, , registrationId] = await tab.next();
    assert.equal(registered, REGISTERED);

    const forged = post(`${http.url}/${procedure}`, '[["early"]]');
    const [invocation, invocationId] = await tab.next();
    assert.equal(invocation, INVOCATION, 'before the service exists, the tab answers');
    tab.send([YIELD, invocationId, {}, ['forged']]);
    assert.equal((await forged).text, '[["forged"],{}]');

    hosted.push(await hostService(late, { nc, logger: silentLogger }));
    const revoked = await tab.next(REFRESH_MS * 10);
    assert.deepEqual(revoked, [UNREGISTERED, 0, { registration: registrationId, reason: 'wamp.error.not_authorized' }]);
    const replies = await Promise.all(Array.from({ length: 10 }, () => post(`${http.url}/${procedure}`, '[["mine"]]')));
    assert.deepEqual(
      replies.map((r) => r.text),
      Array(10).fill('[["real things for mine"],{}]'),
    );
    assert.equal(await nothingWithin(tab, 100), undefined, 'no invocation reaches the tab any more');
    await tab.close();
  });

  it('still lets a tab register a name no hosted service answers (my_tab.double)', async () => {
    const procedure = `${uniqueName('my_tab')}.double`;
    const tab = await openSession(gateway.wsUrl);
    tab.send([REGISTER, 9, {}, procedure]);
    assert.equal((await tab.next())[0], REGISTERED);
    const reply = post(`${http.url}/${procedure}`, '[[21]]');
    const [, invocationId, , , args] = await tab.next();
    tab.send([YIELD, invocationId, {}, [2 * (args as number[])[0]!]]);
    assert.deepEqual(await reply, { status: 200, text: '[[42],{}]' });
    await tab.close();
  });
});
