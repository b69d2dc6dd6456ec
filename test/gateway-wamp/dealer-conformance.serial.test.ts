// The dealer against the WAMP spec and hostile input, with raw frames over real NATS: call timeouts, callee errors
// across gateway processes, callees that leave, shared registrations, URI checks, per-session limits, $SRV discovery.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../../mesh/wire/micro.ts';
import { start as startHttp } from '../../gateway-http/index.ts';
import { wampSettings } from '../../gateway-wamp/config.ts';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { ConfigError, hostService, jsonCodec, loadConfig, MeshError, rpc, type HostedService } from '../../mesh/gateway.ts';
import { kwargsWithoutErrorId, silentLogger, testConfig, uniqueName, withoutErrorId } from '../helpers.ts';
import { openSession, type Frame, type RawClient } from './raw-client.ts';

const { GOODBYE, ERROR, CALL, RESULT, REGISTER, REGISTERED, UNREGISTER, UNREGISTERED, INVOCATION, YIELD } = MessageType;
type Gateway = Awaited<ReturnType<typeof start>>;

const SLOW = uniqueName('slow');

/** A service whose own downstream deadline ran out: it answers DEADLINE_EXCEEDED at once. */
class SlowService {
  name = SLOW;
  @rpc async lookup() {
    throw new MeshError('DEADLINE_EXCEEDED', 'the database did not answer in time');
  }
}

async function register(callee: RawClient, requestId: number, procedure: string, options: Record<string, unknown> = {}): Promise<number> {
  callee.send([REGISTER, requestId, options, procedure]);
  const frame = await callee.next();
  assert.deepEqual(frame.slice(0, 2), [REGISTERED, requestId], JSON.stringify(frame));
  return frame[2] as number;
}

/** Answers every INVOCATION with YIELD [name], for as long as the session lives. */
function answerAs(callee: RawClient, name: string): void {
  callee.ws.on('message', (data: Buffer, isBinary) => {
    const frame = (isBinary ? decode(data) : JSON.parse(data.toString('utf8'))) as Frame;
    if (frame[0] === INVOCATION) callee.send([YIELD, frame[1], {}, [name]]);
  });
}

async function call(caller: RawClient, requestId: number, procedure: string, options: Record<string, unknown> = {}): Promise<Frame> {
  caller.send([CALL, requestId, options, procedure, [], {}]);
  return caller.next(5000);
}

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: JSON.parse(await res.text()) as unknown };
}

describe('gateway-wamp dealer conformance', () => {
  let nc: NatsConnection;
  let service: HostedService;
  let a: Gateway;
  let b: Gateway;
  let http: Awaited<ReturnType<typeof startHttp>>;
  const sessions: RawClient[] = [];
  const session = async (gateway: Gateway, protocol: 'wamp.2.json' | 'wamp.2.msgpack' = 'wamp.2.json') => {
    const client = await openSession(gateway.wsUrl, protocol);
    sessions.push(client);
    return client;
  };

  before(async () => {
    const config = testConfig({ 'rpc.timeoutMs': 1500 });
    nc = await connect({ servers: config.nats.url });
    service = await hostService(new SlowService(), { nc, logger: silentLogger });
    a = await start({ config, logger: silentLogger });
    b = await start({ config, logger: silentLogger });
    http = await startHttp({ config, logger: silentLogger });
  });

  after(async () => {
    await Promise.all(sessions.map((client) => client.close()));
    await http.stop();
    await a.stop();
    await b.stop();
    await service.stop();
    await nc.drain();
  });

  describe('call timeout', () => {
    for (const protocol of ['wamp.2.json', 'wamp.2.msgpack'] as const) {
      it(`answers ERROR wamp.error.timeout when the timeout option runs out (${protocol})`, async () => {
        const procedure = `${uniqueName('silent')}.wait`;
        await register(await session(b), 1, procedure);
        const caller = await session(a, protocol);
        const started = performance.now();
        const [type, requestType, id, details, uri, args, kwargs] = await call(caller, 7, procedure, { timeout: 150 });
        assert.deepEqual([type, requestType, id, details, uri], [ERROR, CALL, 7, {}, 'wamp.error.timeout']);
        assert.deepEqual(kwargsWithoutErrorId(kwargs), { code: 'DEADLINE_EXCEEDED', message: (args as string[])[0], status: 504 });
        assert.ok(performance.now() - started < 1200, 'the option, not the gateway default, set the deadline');
      });
    }

    it('answers ERROR wamp.error.timeout when the gateway default (rpc.timeoutMs) runs out', async () => {
      const procedure = `${uniqueName('silent')}.wait`;
      await register(await session(a), 1, procedure);
      const caller = await session(a);
      assert.deepEqual((await call(caller, 8, procedure)).slice(0, 5), [ERROR, CALL, 8, {}, 'wamp.error.timeout']);
    });

    it('keeps mesh.error.deadline_exceeded for a service that answers DEADLINE_EXCEEDED: the caller did not time out', async () => {
      const [type, , , , uri, args, kwargs] = await call(await session(a), 9, `${SLOW}.lookup`, { timeout: 1000 });
      assert.deepEqual([type, uri, args], [ERROR, 'mesh.error.deadline_exceeded', ['the database did not answer in time']]);
      assert.equal((kwargs as { status: number }).status, 504);
    });
  });

  describe("a callee's ERROR", () => {
    const cases: Array<[string, 'wamp.2.json' | 'wamp.2.msgpack', 'a' | 'b']> = [
      ['on the same gateway', 'wamp.2.json', 'a'],
      ['on another gateway process, callee in MessagePack', 'wamp.2.msgpack', 'b'],
    ];
    for (const [where, protocol, calleeGateway] of cases) {
      it(`reaches the caller with its own URI, args and kwargs, ${where}`, async () => {
        const procedure = `${uniqueName('shop')}.buy`;
        const callee = await session(calleeGateway === 'a' ? a : b, protocol);
        await register(callee, 1, procedure);
        const caller = await session(a);
        caller.send([CALL, 3, {}, procedure, ['apples'], {}]);
        const [, invocationId] = await callee.next();
        callee.send([ERROR, INVOCATION, invocationId, {}, 'com.example.error.out_of_stock', [1, 'two'], { item: 'apples', left: 0 }]);
        assert.deepEqual(await caller.next(), [ERROR, CALL, 3, {}, 'com.example.error.out_of_stock', [1, 'two'], { item: 'apples', left: 0 }]);
      });
    }

    it('reaches an HTTP caller as a coded mesh error that also carries the WAMP detail', async () => {
      const procedure = `${uniqueName('shop')}.buy`;
      const callee = await session(b);
      await register(callee, 1, procedure);
      const answers: Array<[string, unknown[], number, string]> = [
        ['com.example.error.out_of_stock', ['sold out'], 500, 'com.example.error.out_of_stock: sold out'],
        ['wamp.error.timeout', ['upstream too slow'], 504, 'upstream too slow'],
        ['mesh.error.not_found', ['no such item'], 404, 'no such item'],
      ];
      for (const [uri, args, status, message] of answers) {
        const reply = post(`${http.url}/${procedure}`, '[]');
        const [, invocationId] = await callee.next();
        callee.send([ERROR, INVOCATION, invocationId, {}, uri, args]);
        const code = { 500: 'INTERNAL', 504: 'DEADLINE_EXCEEDED', 404: 'NOT_FOUND' }[status];
        const answered = await reply;
        assert.deepEqual({ ...answered, body: withoutErrorId(answered.body) }, { status, body: { error: { code, message, status, wamp: { uri, args, kwargs: {} } } } });
      }
    });

    it('with a URI that is not valid becomes mesh.error.internal, never a header or subject', async () => {
      const procedure = `${uniqueName('shop')}.buy`;
      const callee = await session(b);
      await register(callee, 1, procedure);
      const caller = await session(a);
      for (const [request, uri] of [
        [4, 'not a uri\r\nX-Evil: 1'],
        [5, 'x'.repeat(5000)],
        [6, 'a..b'],
      ] as const) {
        caller.send([CALL, request, {}, procedure, [], {}]);
        const [, invocationId] = await callee.next();
        callee.send([ERROR, INVOCATION, invocationId, {}, uri, ['oops']]);
        const [type, , id, , errorUri, , kwargs] = await caller.next();
        assert.deepEqual([type, id, errorUri, (kwargs as { code: string }).code], [ERROR, request, 'mesh.error.internal', 'INTERNAL']);
      }
    });

    it('is ignored when an error reply forges a WAMP detail that is not well-formed', async () => {
      const subject = `${uniqueName('forger')}.reply`;
      const forged = [
        { uri: 'x'.repeat(5000), args: [], kwargs: {} },
        { uri: '$SRV.INFO', args: [], kwargs: {} },
        { uri: 'com.example.ok', args: 'not a list', kwargs: {} },
        { uri: 'com.example.ok', args: [], kwargs: [] },
      ];
      let next = 0;
      const responder = nc.subscribe(subject, {
        callback: (_err, msg) => {
          const headers = natsHeaders();
          headers.set('Nats-Service-Error', 'nothing here');
          headers.set('Nats-Service-Error-Code', '404');
          msg.respond(jsonCodec.encode({ error: { code: 'NOT_FOUND', message: 'nothing here', status: 404, wamp: forged[next++] } }), { headers });
        },
      });
      await nc.flush();
      const caller = await session(a);
      for (const [i] of forged.entries()) {
        const answer = (await call(caller, 10 + i, subject)) as unknown[];
        assert.deepEqual(
          [...answer.slice(0, 6), kwargsWithoutErrorId(answer[6])],
          [ERROR, CALL, 10 + i, {}, 'mesh.error.not_found', ['nothing here'], { code: 'NOT_FOUND', message: 'nothing here', status: 404 }],
        );
      }
      responder.unsubscribe();
    });
  });

  describe('a callee that leaves mid-invocation', () => {
    for (const how of ['GOODBYE', 'closing its socket'] as const) {
      it(`gives the caller wamp.error.canceled at once (${how})`, async () => {
        const procedure = `${uniqueName('leaver')}.work`;
        const callee = await session(b);
        await register(callee, 1, procedure);
        const caller = await session(a, 'wamp.2.msgpack');
        caller.send([CALL, 5, { timeout: 10_000 }, procedure, [], {}]);
        assert.equal((await callee.next())[0], INVOCATION);
        const started = performance.now();
        if (how === 'GOODBYE') callee.send([GOODBYE, {}, 'wamp.close.close_realm']);
        else callee.ws.terminate();
        const [type, requestType, id, , uri] = await caller.next();
        assert.deepEqual([type, requestType, id, uri], [ERROR, CALL, 5, 'wamp.error.canceled']);
        assert.ok(performance.now() - started < 1000, 'at once, not at the deadline');
      });
    }
  });

  describe('registration conflicts and shared registrations', () => {
    const conflicts: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
      ['two exclusive registrations', {}, {}, 'wamp.error.procedure_already_exists'],
      ['exclusive, then shared', {}, { invoke: 'roundrobin' }, 'wamp.error.procedure_already_exists'],
      ['shared, then exclusive', { invoke: 'roundrobin' }, { invoke: 'single' }, 'wamp.error.procedure_already_exists'],
      ['two different policies', { invoke: 'roundrobin' }, { invoke: 'random' }, 'wamp.error.procedure_already_exists'],
      ['an unknown policy', {}, { invoke: 'fastest' }, 'wamp.error.invalid_argument'],
    ];
    for (const [name, first, second, uri] of conflicts) {
      it(`refuses ${name} with ${uri}`, async () => {
        const procedure = `${uniqueName('conflict')}.run`;
        await register(await session(a), 1, procedure, first);
        const other = await session(a, 'wamp.2.msgpack');
        other.send([REGISTER, 2, second, procedure]);
        const [type, requestType, id, details, error, args] = await other.next();
        assert.deepEqual([type, requestType, id, details, error], [ERROR, REGISTER, 2, {}, uri]);
        assert.equal(typeof (args as unknown[])[0], 'string');
      });
    }

    it('treats a policy that is not a string as a protocol violation', async () => {
      const other = await session(a);
      other.send([REGISTER, 2, { invoke: 3 }, `${uniqueName('conflict')}.run`]);
      const [type, , reason] = await other.next();
      assert.deepEqual([type, reason], [MessageType.ABORT, 'wamp.error.protocol_violation']);
    });

    it('invoke roundrobin takes turns among the callees, and goes on without one that leaves', async () => {
      const procedure = `${uniqueName('shared')}.run`;
      const callees = await Promise.all(['x', 'y', 'z'].map(() => session(a)));
      for (const [i, callee] of callees.entries()) {
        await register(callee, 1, procedure, { invoke: 'roundrobin' });
        answerAs(callee, ['x', 'y', 'z'][i]!);
      }
      const caller = await session(a);
      const answered = [];
      for (let i = 0; i < 6; i++) answered.push((await call(caller, 100 + i, procedure))[3]);
      assert.deepEqual(answered, [['x'], ['y'], ['z'], ['x'], ['y'], ['z']]);
      await callees[1]!.close();
      const after = [];
      for (let i = 0; i < 4; i++) after.push(((await call(caller, 200 + i, procedure))[3] as string[])[0]);
      assert.deepEqual(new Set(after), new Set(['x', 'z']));
    });

    for (const [policy, expected] of [
      ['first', 'p'],
      ['last', 'q'],
    ] as const) {
      it(`invoke ${policy} always picks the ${policy} callee still registered`, async () => {
        const procedure = `${uniqueName('shared')}.run`;
        const [p, q] = [await session(a), await session(a)];
        await register(p, 1, procedure, { invoke: policy });
        answerAs(p, 'p');
        await register(q, 1, procedure, { invoke: policy });
        answerAs(q, 'q');
        const caller = await session(a);
        for (let i = 0; i < 3; i++) assert.deepEqual((await call(caller, 300 + i, procedure)).slice(0, 4), [RESULT, 300 + i, {}, [expected]]);
        await (expected === 'p' ? p : q).close();
        const other = expected === 'p' ? 'q' : 'p';
        assert.deepEqual((await call(caller, 310, procedure)).slice(0, 4), [RESULT, 310, {}, [other]]);
      });
    }

    it('invoke random spreads calls over the callees, and the registration id is shared', async () => {
      const procedure = `${uniqueName('shared')}.run`;
      const [p, q] = [await session(a), await session(a)];
      const ids = [await register(p, 1, procedure, { invoke: 'random' }), await register(q, 1, procedure, { invoke: 'random' })];
      assert.equal(ids[0], ids[1]);
      answerAs(p, 'p');
      answerAs(q, 'q');
      const caller = await session(a);
      const seen = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const name = ((await call(caller, 400 + i, procedure))[3] as string[])[0]!;
        seen.set(name, (seen.get(name) ?? 0) + 1);
      }
      assert.deepEqual([...seen.keys()].sort(), ['p', 'q'], 'both callees got calls (all 40 on one side has odds 2^-39)');
    });

    it('lets another session register the URI once its holder unregistered', async () => {
      const procedure = `${uniqueName('handover')}.run`;
      const holder = await session(a);
      const id = await register(holder, 1, procedure);
      holder.send([UNREGISTER, 2, id]);
      assert.deepEqual(await holder.next(), [UNREGISTERED, 2]);
      const next = await session(a);
      await register(next, 1, procedure);
      answerAs(next, 'next');
      assert.deepEqual((await call(await session(a), 1, procedure)).slice(0, 4), [RESULT, 1, {}, ['next']]);
    });
  });

  describe('procedure URIs', () => {
    it('answers wamp.error.invalid_uri to URIs that cannot be subjects, and the gateway keeps its NATS connection', async () => {
      const statuses: string[] = [];
      void (async () => {
        for await (const status of a.nats.status()) statuses.push(status.type);
      })();
      const uris = ['x'.repeat(5000), `a.${'é'.repeat(200)}`, 'a.b\nc', '$SRV.INFO', '_INBOX.abc', 'a.*', 'a..b', 'wamp.session.kill'];
      for (const protocol of ['wamp.2.json', 'wamp.2.msgpack'] as const) {
        const client = await session(a, protocol);
        for (const [i, uri] of uris.entries()) {
          client.send([CALL, 500 + i, {}, uri, [], {}]);
          assert.deepEqual((await client.next()).slice(0, 5), [ERROR, CALL, 500 + i, {}, 'wamp.error.invalid_uri'], uri.slice(0, 20));
          client.send([REGISTER, 600 + i, {}, uri]);
          assert.deepEqual((await client.next()).slice(0, 5), [ERROR, REGISTER, 600 + i, {}, 'wamp.error.invalid_uri'], uri.slice(0, 20));
        }
      }
      assert.deepEqual((await call(await session(a), 1, `${SLOW}.lookup`)).slice(0, 5), [ERROR, CALL, 1, {}, 'mesh.error.deadline_exceeded']);
      assert.deepEqual(
        statuses.filter((type) => type !== 'ping'),
        [],
      );
      assert.equal(a.nats.isClosed(), false);
    });
  });

  describe('per-session limits', () => {
    let limited: Gateway;

    it('have safe defaults, environment variables, and refuse values that are no positive whole number', () => {
      const wamp = wampSettings.of(loadConfig({ env: {} }));
      assert.deepEqual([wamp.maxNameBytes, wamp.maxRegistrationsPerSession, wamp.maxPendingCallsPerSession, wamp.maxPendingInvocationsPerSession], [256, 100, 1000, 1000]);
      const env = { WAMP_MAX_NAME_BYTES: '128', WAMP_MAX_REGISTRATIONS: '5', WAMP_MAX_PENDING_CALLS: '6', WAMP_MAX_PENDING_INVOCATIONS: '7' };
      const set = wampSettings.of(loadConfig({ env }));
      assert.deepEqual([set.maxNameBytes, set.maxRegistrationsPerSession, set.maxPendingCallsPerSession, set.maxPendingInvocationsPerSession], [128, 5, 6, 7]);
      for (const env of [{ WAMP_MAX_PENDING_CALLS: '0' }, { WAMP_MAX_REGISTRATIONS: 'lots' }, { WAMP_MAX_NAME_BYTES: '5000' }]) {
        assert.throws(
          () => wampSettings.of(loadConfig({ env })),
          (err: unknown) => err instanceof ConfigError && /wamp\.max/.test(err.message),
          JSON.stringify(env),
        );
      }
    });

    before(async () => {
      limited = await start({
        config: testConfig({
          'rpc.timeoutMs': 5000,
          'wamp.maxRegistrationsPerSession': 2,
          'wamp.maxPendingCallsPerSession': 2,
          'wamp.maxPendingInvocationsPerSession': 1,
        }),
        logger: silentLogger,
      });
    });

    after(() => limited.stop());

    it('refuses a registration over wamp.maxRegistrationsPerSession with mesh.error.resource_exhausted, for that session only', async () => {
      const client = await session(limited);
      await register(client, 1, `${uniqueName('lim')}.one`);
      await register(client, 2, `${uniqueName('lim')}.two`);
      client.send([REGISTER, 3, {}, `${uniqueName('lim')}.three`]);
      const [type, requestType, id, , uri, , kwargs] = await client.next();
      assert.deepEqual([type, requestType, id, uri, (kwargs as { code: string }).code], [ERROR, REGISTER, 3, 'mesh.error.resource_exhausted', 'RESOURCE_EXHAUSTED']);
      await register(await session(limited), 1, `${uniqueName('lim')}.three`);
    });

    it('answers a CALL over wamp.maxPendingCallsPerSession at once, and other sessions call on', async () => {
      const procedure = `${uniqueName('lim')}.silent`;
      await register(await session(limited), 1, procedure, { invoke: 'roundrobin' });
      await register(await session(limited), 1, procedure, { invoke: 'roundrobin' });
      const caller = await session(limited);
      caller.send([CALL, 1, {}, procedure, [], {}]);
      caller.send([CALL, 2, {}, procedure, [], {}]);
      const started = performance.now();
      const [type, , id, , uri] = await call(caller, 3, procedure);
      assert.deepEqual([type, id, uri], [ERROR, 3, 'mesh.error.resource_exhausted']);
      assert.ok(performance.now() - started < 1000);
      assert.deepEqual((await call(await session(limited), 1, `${SLOW}.lookup`)).slice(0, 5), [ERROR, CALL, 1, {}, 'mesh.error.deadline_exceeded']);
    });

    it('refuses an invocation to a callee that owes wamp.maxPendingInvocationsPerSession answers', async () => {
      const procedure = `${uniqueName('lim')}.busy`;
      const callee = await session(limited);
      await register(callee, 1, procedure);
      const caller = await session(a);
      caller.send([CALL, 1, {}, procedure, [], {}]);
      const [, owed] = await callee.next();
      const [type, , id, , uri, , kwargs] = await call(caller, 2, procedure);
      assert.deepEqual([type, id, uri, (kwargs as { code: string }).code], [ERROR, 2, 'mesh.error.resource_exhausted', 'RESOURCE_EXHAUSTED']);
      const overHttp = await post(`${http.url}/${procedure}`, '[]');
      assert.equal(overHttp.status, 429);
      callee.send([YIELD, owed, {}, ['done']]);
      assert.deepEqual(await caller.next(), [RESULT, 1, {}, ['done'], {}]);
    });
  });

  describe('$SRV discovery', () => {
    it('lists the registrations of a gateway process as endpoints of a wamp_gateway micro service', async () => {
      const procedure = `${uniqueName('found')}.me`;
      const [p, q] = [await session(b), await session(b)];
      const registrationId = await register(p, 1, procedure, { invoke: 'roundrobin' });
      await register(q, 1, procedure, { invoke: 'roundrobin' });

      type Info = { endpoints: Array<{ subject: string }> };
      const infoOf = async () => jsonCodec.decode((await nc.request(`$SRV.INFO.wamp_gateway.${b.serviceId}`, undefined, { timeout: 2000 })).data) as Info;
      // Earlier tests' sessions on this gateway are still registered: compare this test's endpoint alone.
      const { endpoints, ...info } = await infoOf();
      assert.deepEqual(info, {
        type: 'io.nats.micro.v1.info_response',
        name: 'wamp_gateway',
        id: b.serviceId,
        version: '0.1.0',
        metadata: { realm: 'realm1' },
        description: 'procedures registered by WAMP sessions of one gateway-wamp process',
      });
      assert.deepEqual(
        endpoints.filter((endpoint) => endpoint.subject === procedure),
        [{ name: procedure, subject: procedure, queue_group: 'q', metadata: { parameters: '*args, **kwargs', invoke: 'roundrobin', callees: '2' } }],
      );
      const ping = jsonCodec.decode((await nc.request(`$SRV.PING.wamp_gateway.${b.serviceId}`, undefined, { timeout: 2000 })).data);
      assert.deepEqual(ping, { type: 'io.nats.micro.v1.ping_response', name: 'wamp_gateway', id: b.serviceId, version: '0.1.0', metadata: { realm: 'realm1' } });

      const found = await askServices(nc, 'INFO', 'wamp_gateway', { maxWaitMs: 1000, silenceMs: 1000 });
      const ours = found.find((reply) => reply.id === b.serviceId);
      assert.ok(ours?.endpoints.some((endpoint) => endpoint.subject === procedure));
      assert.ok(
        found.some((reply) => reply.id === a.serviceId),
        'every gateway process answers, each with its own id',
      );

      p.send([UNREGISTER, 2, registrationId]);
      assert.deepEqual(await p.next(), [UNREGISTERED, 2]);
      await q.close();
      assert.deepEqual(
        (await infoOf()).endpoints.filter((endpoint) => endpoint.subject === procedure),
        [],
      );
    });
  });
});
