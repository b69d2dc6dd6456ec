// RPC through gateway-wamp and real NATS: CALL is a NATS request and errors come back as WAMP URIs; REGISTER lets
// a WAMP session answer a NATS subject, so an HTTP POST through gateway-http reaches it by INVOCATION and YIELD.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { hostService, MeshError, rpc, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { errorTextWithoutId, kwargsWithoutErrorId, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession, type RawClient } from './raw-client.ts';

const { CALL, RESULT, ERROR, REGISTER, REGISTERED, INVOCATION } = MessageType;

const GREETING = uniqueName('greeting');
const FAULTY = uniqueName('faulty');

class FaultyService {
  name = FAULTY;
  @rpc async missing(id: string) {
    throw new MeshError('NOT_FOUND', `no thing ${id}`);
  }
}

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

/** A reply with the error id in its text checked and taken out. */
function withTextWithoutId(reply: { status: number; text: string }) {
  return { ...reply, text: errorTextWithoutId(reply.text) };
}

/**
 * A procedure whose registration ended: the HTTP gateway answers 503 UNAVAILABLE (nothing answers it now) until its
 * registry, asked again on that miss, no longer lists it; then 404 UNKNOWN_PROCEDURE, within a second.
 */
async function untilGone(url: string): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { status } = await post(url, '[]');
    statuses.push(status);
    if (status === 404) break;
    assert.equal(status, 503, `statuses so far: ${statuses.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(statuses.at(-1), 404, `statuses: ${statuses.join(', ')}`);
}

describe('gateway-wamp rpc', () => {
  let gateway: Awaited<ReturnType<typeof start>>;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let nc: NatsConnection;
  let services: HostedService[];
  let client: RawClient;

  before(async () => {
    const config = testConfig({ 'rpc.timeoutMs': 3000 });
    nc = await connect({ servers: config.nats.url });
    const greeting = new GreetingService();
    greeting.name = GREETING;
    services = [await hostService(greeting, { nc, logger: silentLogger }), await hostService(new FaultyService(), { nc, logger: silentLogger })];
    gateway = await start({ config, logger: silentLogger });
    http = await startHttp({ config, logger: silentLogger });
    client = await openSession(gateway.wsUrl);
  });

  after(async () => {
    await client.close();
    await http.stop();
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  it('answers CALL with RESULT [args, kwargs]', async () => {
    client.send([CALL, 1, {}, `${GREETING}.hello`, ['Bob'], { last_name: 'Ross' }]);
    assert.deepEqual(await client.next(), [RESULT, 1, {}, ['Hello, Bob Ross'], {}]);
  });

  it('calls over msgpack too', async () => {
    const msgpack = await openSession(gateway.wsUrl, 'wamp.2.msgpack');
    msgpack.send([CALL, 2, {}, `${GREETING}.hello`, [], { first_name: 'Ann' }]);
    assert.deepEqual(await msgpack.next(), [RESULT, 2, {}, ['Hello, Ann'], {}]);
    await msgpack.close();
  });

  it('answers errors with ERROR, the WAMP URI and the error object as kwargs', async () => {
    const cases: Array<[number, string, unknown[], Record<string, unknown>, string, string, number]> = [
      [10, `${uniqueName('nobody')}.hello`, [], {}, 'wamp.error.no_such_procedure', 'UNKNOWN_PROCEDURE', 404],
      [11, `${GREETING}.hello`, [], { middle_name: 'x' }, 'wamp.error.invalid_argument', 'INVALID_ARGUMENT', 400],
      [12, `${FAULTY}.missing`, ['42'], {}, 'mesh.error.not_found', 'NOT_FOUND', 404],
      [13, 'wamp.session.kill', [], {}, 'wamp.error.invalid_uri', '', 0],
    ];
    for (const [request, procedure, args, kwargs, uri, code, status] of cases) {
      client.send([CALL, request, {}, procedure, args, kwargs]);
      const [type, requestType, id, details, error, errorArgs, errorKwargs] = await client.next();
      assert.deepEqual([type, requestType, id, details, error], [ERROR, CALL, request, {}, uri], procedure);
      assert.equal(typeof (errorArgs as unknown[])[0], 'string');
      if (code) assert.deepEqual(kwargsWithoutErrorId(errorKwargs), { code, status, message: (errorArgs as unknown[])[0] });
    }
  });

  it('honours the timeout option with wamp.error.timeout', async () => {
    client.send([CALL, 20, { timeout: 100 }, `${GREETING}.hello_sleep`, ['late'], { seconds: 2 }]);
    const [type, , id, , uri, , kwargs] = await client.next();
    assert.deepEqual([type, id, uri, (kwargs as { code: string }).code], [ERROR, 20, 'wamp.error.timeout', 'DEADLINE_EXCEEDED']);
  });

  it('answers CANCEL in mode kill or skip with ERROR wamp.error.canceled', async () => {
    for (const [request, mode] of [
      [30, 'kill'],
      [31, 'skip'],
    ] as const) {
      client.send([CALL, request, {}, `${GREETING}.hello_sleep`, ['slow'], { seconds: 2 }]);
      client.send([49, request, { mode }]);
      const [type, requestType, id, , uri] = await client.next();
      assert.deepEqual([type, requestType, id, uri], [ERROR, CALL, request, 'wamp.error.canceled'], mode);
    }
  });

  it('makes a registered procedure callable over HTTP, by INVOCATION and YIELD', async () => {
    const procedure = `${uniqueName('tab')}.double`;
    const callee = await openSession(gateway.wsUrl);
    callee.send([REGISTER, 1, {}, procedure]);
    const [type, request, registrationId] = await callee.next();
    assert.deepEqual([type, request], [REGISTERED, 1]);

    const reply = post(`${http.url}/${procedure}`, '[[21], {"unit": "apples"}]');
    const [invocation, invocationId, registration, , args, kwargs] = await callee.next();
    assert.deepEqual([invocation, registration, args, kwargs], [INVOCATION, registrationId, [21], { unit: 'apples' }]);
    callee.send([70, invocationId, {}, [42], { unit: 'apples' }]);
    assert.deepEqual(await reply, { status: 200, text: '[[42],{"unit":"apples"}]' });

    const failing = post(`${http.url}/${procedure}`, '[["x"]]');
    const [, failingId] = await callee.next();
    callee.send([ERROR, INVOCATION, failingId, {}, 'wamp.error.invalid_argument', ['x is not a number']]);
    // The callee's ERROR enters the mesh at the gateway, which gives it its id.
    assert.deepEqual(withTextWithoutId(await failing), {
      status: 400,
      text: '{"error":{"code":"INVALID_ARGUMENT","message":"x is not a number","status":400,"wamp":{"uri":"wamp.error.invalid_argument","args":["x is not a number"],"kwargs":{}}}}',
    });

    const custom = post(`${http.url}/${procedure}`, '[]');
    const [, customId] = await callee.next();
    callee.send([ERROR, INVOCATION, customId, {}, 'com.example.oops', ['it broke']]);
    assert.deepEqual(withTextWithoutId(await custom), {
      status: 500,
      text: '{"error":{"code":"INTERNAL","message":"com.example.oops: it broke","status":500,"wamp":{"uri":"com.example.oops","args":["it broke"],"kwargs":{}}}}',
    });

    callee.send([REGISTER, 2, {}, procedure]);
    const [type2, requestType2, request2, details2, conflict, conflictArgs, conflictKwargs] = await callee.next();
    assert.deepEqual([type2, requestType2, request2, details2, conflict], [ERROR, REGISTER, 2, {}, 'wamp.error.procedure_already_exists']);
    assert.deepEqual(kwargsWithoutErrorId(conflictKwargs), { code: 'CONFLICT', message: (conflictArgs as string[])[0], status: 409 });

    callee.send([66, 3, registrationId]);
    assert.deepEqual(await callee.next(), [67, 3]);
    await untilGone(`${http.url}/${procedure}`);
    callee.send([66, 4, registrationId]);
    assert.deepEqual((await callee.next()).slice(0, 5), [ERROR, 66, 4, {}, 'wamp.error.no_such_registration']);
    await callee.close();
  });

  it('drops a registration when its session ends, and fails the invocations it owed', async () => {
    const procedure = `${uniqueName('tab')}.echo`;
    const callee = await openSession(gateway.wsUrl);
    callee.send([REGISTER, 1, {}, procedure]);
    assert.equal((await callee.next())[0], REGISTERED);
    const pending = post(`${http.url}/${procedure}`, '[]');
    assert.equal((await callee.next())[0], INVOCATION);
    await callee.close();
    assert.deepEqual(JSON.parse((await pending).text).error.code, 'UNAVAILABLE');
    await untilGone(`${http.url}/${procedure}`);
  });

  it('lets one WAMP session call a procedure another one registered', async () => {
    const procedure = `${uniqueName('tab')}.greet`;
    const callee = await openSession(gateway.wsUrl, 'wamp.2.msgpack');
    callee.send([REGISTER, 1, {}, procedure]);
    assert.equal((await callee.next())[0], REGISTERED);
    client.send([CALL, 40, {}, procedure, ['Zoe']]);
    const [, invocationId, , , args] = await callee.next();
    callee.send([70, invocationId, {}, [`Hi ${(args as string[])[0]}`]]);
    assert.deepEqual(await client.next(), [RESULT, 40, {}, ['Hi Zoe'], {}]);
    await callee.close();
  });
});
