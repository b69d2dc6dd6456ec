// Pattern-based registration (REGISTER match prefix and wildcard) against the spec's own examples (wamp-proto/wamp-proto
// rfc/text/advanced/ap_16_rpc_pattern_based_registration.md; the testsuite has no vectors for it) and across the mesh:
// two gateway processes, a hosted service and plain NATS callers on a nats-server of the test's own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { hostService, jsonCodec, rpc, type HostedService } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { RawClient } from './raw-client.ts';

const SPEC = 'rfc/text/advanced/ap_16_rpc_pattern_based_registration.md';
const [WELCOME, ERROR, CALL, RESULT, REGISTER, REGISTERED, UNREGISTER, UNREGISTERED, INVOCATION, YIELD] = [2, 8, 48, 50, 64, 65, 66, 67, 68, 70];

type Pattern = 'prefix' | 'wildcard';

/** A pattern from the spec, the procedures it says apply, and those that do not with what their caller gets here. */
interface MatchVector {
  source: string;
  match: Pattern;
  pattern: string;
  applies: string[];
  /** The URI and its answer: no_such_procedure when no NATS subject covers it, timeout when the pattern's wider subject does (a string prefix). */
  doesNotApply: Array<[string, 'wamp.error.no_such_procedure' | 'wamp.error.timeout']>;
}

const MATCH_VECTORS: MatchVector[] = [
  {
    source: `${SPEC} (Prefix Matching)`,
    match: 'prefix',
    pattern: 'com.myapp.myobject1',
    applies: ['com.myapp.myobject1.myprocedure1', 'com.myapp.myobject1-mysubobject1', 'com.myapp.myobject1.mysubobject1.myprocedure1', 'com.myapp.myobject1'],
    doesNotApply: [
      ['com.myapp.myobject2', 'wamp.error.timeout'],
      ['com.myapp.myobject', 'wamp.error.timeout'],
    ],
  },
  {
    source: `${SPEC} (Wildcard Matching)`,
    match: 'wildcard',
    pattern: 'com.myapp..myprocedure1',
    applies: ['com.myapp.myobject1.myprocedure1', 'com.myapp.myobject2.myprocedure1'],
    doesNotApply: [
      ['com.myapp.myobject1.myprocedure1.mysubprocedure1', 'wamp.error.no_such_procedure'],
      ['com.myapp.myobject1.myprocedure2', 'wamp.error.no_such_procedure'],
      ['com.myapp2.myobject1.myprocedure1', 'wamp.error.no_such_procedure'],
    ],
  },
];

/**
 * The spec's "Calls matching multiple registrations" examples: the registrations, then each call and the one it
 * reaches (1-based), or null. One differs from the spec's answer, as the spec's own sections disagree there: its
 * Prefix Matching section matches by string (`com.myapp.myobject1` matches `com.myapp.myobject1-mysubobject1`), so
 * the prefix `a1.b2.c3` (2) matches `a1.b2.c33.d4.e5`, and any prefix comes before any wildcard; the example
 * expects the wildcard `a1.b2.c33..e5` (5), as a part-by-part prefix would. This router, like Crossbar and its
 * own prefix subscriptions, matches prefixes by string.
 */
const ROUTING = {
  source: `${SPEC} (Calls matching multiple registrations)`,
  registrations: [
    ['a1.b2.c3.d4.e55', 'exact'],
    ['a1.b2.c3', 'prefix'],
    ['a1.b2.c3.d4', 'prefix'],
    ['a1.b2..d4.e5', 'wildcard'],
    ['a1.b2.c33..e5', 'wildcard'],
    ['a1.b2..d4.e5..g7', 'wildcard'],
    ['a1.b2..d4..f6.g7', 'wildcard'],
  ] as Array<[string, 'exact' | Pattern]>,
  calls: [
    ['a1.b2.c3.d4.e55', 1],
    ['a1.b2.c3.d98.e74', 2],
    ['a1.b2.c3.d4.e325', 3],
    ['a1.b2.c55.d4.e5', 4],
    ['a1.b2.c33.d4.e5', 2],
    ['a1.b2.c88.d4.e5.f6.g7', 6],
    ['a2.b2.c2.d2.e2', null],
  ] as Array<[string, number | null]>,
};

class PatternedService {
  readonly name = 'hosted_patterned';
  @rpc async hello(_who: string) {
    return 'from the service';
  }
}

describe('gateway-wamp pattern-based registration', () => {
  let nats: OwnNatsServer;
  let a: RunningWampGateway;
  let b: RunningWampGateway;
  let nc: NatsConnection;
  let hosted: HostedService;
  const sessions: RawClient[] = [];
  let requestId = 1000;

  before(async () => {
    nats = await OwnNatsServer.start();
    a = await start({ config: testConfig({ 'nats.url': nats.url }), logger: silentLogger });
    b = await start({ config: testConfig({ 'nats.url': nats.url }), logger: silentLogger });
    nc = await connect({ servers: nats.url });
    hosted = await hostService(new PatternedService(), { nc, logger: silentLogger });
  });

  after(async () => {
    for (const session of sessions) session.ws.terminate();
    await hosted?.stop();
    await nc?.drain();
    await a?.stop();
    await b?.stop();
    await nats?.stop();
  });

  async function session(gateway: RunningWampGateway): Promise<RawClient> {
    const client = await RawClient.open(gateway.wsUrl);
    sessions.push(client);
    await client.hello();
    return client;
  }

  /** REGISTER, expecting REGISTERED; resolves with the registration id. */
  async function register(client: RawClient, procedure: string, options: Record<string, unknown> = {}): Promise<number> {
    const id = ++requestId;
    client.send([REGISTER, id, options, procedure]);
    const answer = await client.next();
    assert.deepEqual(answer.slice(0, 2), [REGISTERED, id], JSON.stringify(answer));
    return answer[2] as number;
  }

  /** REGISTER, expecting ERROR; resolves with its URI. */
  async function refused(client: RawClient, procedure: unknown, options: Record<string, unknown>): Promise<string> {
    const id = ++requestId;
    client.send([REGISTER, id, options, procedure]);
    const answer = await client.next();
    assert.deepEqual(answer.slice(0, 3), [ERROR, REGISTER, id], JSON.stringify(answer));
    return answer[4] as string;
  }

  /** CALL from `caller`: [registration id, details] as a callee `serve`s them for a RESULT, the URI for an ERROR. */
  async function callThrough(caller: RawClient, procedure: string, timeout = 0): Promise<[number, Record<string, unknown>] | string> {
    const id = ++requestId;
    caller.send([CALL, id, timeout ? { timeout } : {}, procedure, ['hi']]);
    const answer = await caller.next(5000);
    if (answer[0] === ERROR) return answer[4] as string;
    assert.deepEqual(answer.slice(0, 2), [RESULT, id], JSON.stringify(answer));
    const [[registration, details]] = answer[3] as [[number, Record<string, unknown>]];
    return [registration, details];
  }

  /** The procedures each served callee was invoked for (`details.procedure`, else the registration id). */
  const invoked = new Map<RawClient, unknown[]>();

  /** From now on the callee answers each INVOCATION with its registration id and details (and `tag`), until its socket closes. */
  function serve(callee: RawClient, tag = ''): void {
    invoked.set(callee, []);
    void (async () => {
      for (;;) {
        let frame: unknown[];
        try {
          frame = await callee.next(500);
        } catch {
          if (callee.ws.readyState === callee.ws.OPEN) continue;
          return;
        }
        if (frame[0] !== INVOCATION) continue;
        invoked.get(callee)!.push((frame[3] as { procedure?: string }).procedure ?? frame[2]);
        callee.send([YIELD, frame[1], {}, [[frame[2], frame[3]], tag]]);
      }
    })();
  }

  /** A plain NATS request with [args, kwargs] in JSON: the reply's [args, kwargs], or the error's message. */
  async function natsRequest(subject: string, timeout = 2000): Promise<unknown> {
    try {
      const reply = await nc.request(subject, jsonCodec.encode([['plain'], {}]), { timeout });
      return jsonCodec.decode(reply.data);
    } catch (err) {
      return (err as Error).message;
    }
  }

  it('announces pattern_based_registration in WELCOME', async () => {
    const client = await RawClient.open(a.wsUrl);
    sessions.push(client);
    client.send([1, 'realm1', { roles: { callee: {} } }]);
    const welcome = await client.next();
    assert.equal(welcome[0], WELCOME);
    const roles = (welcome[2] as { roles: { dealer: { features: Record<string, boolean> } } }).roles;
    assert.equal(roles.dealer.features.pattern_based_registration, true);
  });

  for (const vector of MATCH_VECTORS) {
    it(`invokes the pattern's callee for what the spec says applies, with the URI called in details.procedure [${vector.source}]`, async () => {
      const callee = await session(a);
      const caller = await session(b);
      const registration = await register(callee, vector.pattern, { match: vector.match });
      serve(callee);
      for (const procedure of vector.applies) assert.deepEqual(await callThrough(caller, procedure), [registration, { procedure }], procedure);
      for (const [procedure, uri] of vector.doesNotApply) assert.equal(await callThrough(caller, procedure, 300), uri, procedure);
      callee.ws.terminate();
    });
  }

  it(`routes a call to the exact, else the longest prefix, else the most specific wildcard registration [${ROUTING.source}]`, async () => {
    const callee = await session(a);
    const caller = await session(a);
    const ids: number[] = [];
    for (const [procedure, match] of ROUTING.registrations) ids.push(await register(callee, procedure, { match }));
    serve(callee);
    for (const [procedure, expected] of ROUTING.calls) {
      const answer = await callThrough(caller, procedure);
      if (expected === null) assert.equal(answer, 'wamp.error.no_such_procedure', procedure);
      else assert.deepEqual(answer, [ids[expected - 1], expected === 1 ? {} : { procedure }], procedure);
    }
    callee.ws.terminate();
  });

  it('serves a plain NATS request on a covered subject, and lets the NATS subscription go with UNREGISTER and with the session', async () => {
    const callee = await session(b);
    const registration = await register(callee, 'plain_nats.orders.', { match: 'wildcard' });
    const request = natsRequest('plain_nats.orders.42');
    const invocation = await callee.next();
    assert.deepEqual([invocation[0], invocation[2], invocation[3], invocation[4]], [INVOCATION, registration, { procedure: 'plain_nats.orders.42' }, ['plain']]);
    callee.send([YIELD, invocation[1], {}, ['served']]);
    assert.deepEqual(await request, [['served'], {}]);

    callee.send([UNREGISTER, ++requestId, registration]);
    assert.deepEqual(await callee.next(), [UNREGISTERED, requestId]);
    // UNREGISTERED goes out as the gateway unsubscribes; its next PING/PONG with the server follows the UNSUB.
    await b.nats.flush();
    assert.match(String(await natsRequest('plain_nats.orders.42')), /no responders/i);

    await register(callee, 'plain_nats', { match: 'prefix' });
    const served = natsRequest('plain_nats.x');
    callee.send([YIELD, (await callee.next())[1], {}, ['again']]);
    assert.deepEqual(await served, [['again'], {}]);
    await callee.close();
    // The gateway ends the session's registrations as it sees the socket close: soon after, not at once.
    let answer: unknown;
    for (let tries = 0; tries < 20 && !/no responders/i.test(String(answer)); tries++) answer = await natsRequest('plain_nats.x', 100);
    assert.match(String(answer), /no responders/i);
  });

  it('leaves a call to an exact registration on another gateway process, or to a hosted service, to them', async () => {
    const patterned = await session(a);
    const exact = await session(b);
    const caller = await session(a);
    const prefix = await register(patterned, 'cross_gw', { match: 'prefix' });
    const wildcard = await register(patterned, 'hosted_patterned.', { match: 'wildcard' });
    const held = await register(exact, 'cross_gw.exact');
    serve(patterned);
    serve(exact);
    // Gateway a learns of b's registration from its announcement on $SRV.STARTED.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await callThrough(caller, 'cross_gw.exact'), [held, {}]);
      assert.deepEqual(await callThrough(caller, 'cross_gw.other'), [prefix, { procedure: 'cross_gw.other' }]);
      assert.deepEqual(await natsRequest('hosted_patterned.hello'), [['from the service'], {}]);
      assert.deepEqual(await callThrough(caller, 'hosted_patterned.bye'), [wildcard, { procedure: 'hosted_patterned.bye' }]);
    }
    // The exact registration goes: the prefix takes its procedure over.
    exact.ws.terminate();
    for (;;) {
      const answer = await callThrough(caller, 'cross_gw.exact', 300);
      if (Array.isArray(answer)) {
        assert.deepEqual(answer, [prefix, { procedure: 'cross_gw.exact' }]);
        break;
      }
    }
  });

  it('orders pattern registrations across gateway processes too: the longest prefix, and a prefix before a wildcard', async () => {
    const onA = await session(a);
    const onB = await session(b);
    const caller = await session(a);
    const wide = await register(onA, 'xgw_order', { match: 'prefix' });
    const deep = await register(onB, 'xgw_order.deep', { match: 'prefix' });
    await register(onB, 'xgw_order..end', { match: 'wildcard' });
    const other = await register(onB, 'xgw_wild..end', { match: 'wildcard' });
    const wider = await register(onA, 'xgw_wild...', { match: 'wildcard' });
    serve(onA);
    serve(onB);
    // Each gateway learns of the other's patterns from their announcements on $SRV.STARTED.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await callThrough(caller, 'xgw_order.deep.x'), [deep, { procedure: 'xgw_order.deep.x' }]);
      assert.deepEqual(await callThrough(caller, 'xgw_order.deep-x'), [deep, { procedure: 'xgw_order.deep-x' }]);
      assert.deepEqual(await callThrough(caller, 'xgw_order.x.end'), [wide, { procedure: 'xgw_order.x.end' }]);
      assert.deepEqual(await callThrough(caller, 'xgw_wild.x.end'), [other, { procedure: 'xgw_wild.x.end' }]);
      assert.deepEqual(await callThrough(caller, 'xgw_wild.x.y.z'), [wider, { procedure: 'xgw_wild.x.y.z' }]);
    }
    // The one not picked never heard of the call (it stayed silent rather than raced).
    assert.deepEqual(
      invoked.get(onA)!.filter((p) => p !== 'xgw_order.x.end' && p !== 'xgw_wild.x.y.z'),
      [],
    );
    assert.deepEqual(
      invoked.get(onB)!.filter((p) => p === 'xgw_order.x.end' || p === 'xgw_wild.x.y.z'),
      [],
    );
  });

  it('maps a pattern under a namespace: its subjects and queue group get the prefix, details.procedure does not, $SRV.INFO lists it', async () => {
    const blue = await start({ config: testConfig({ 'nats.url': nats.url, 'nats.namespace': 'blue' }), logger: silentLogger });
    try {
      const callee = await session(blue);
      const registration = await register(callee, 'ns_pattern..get', { match: 'wildcard' });
      assert.match(String(await natsRequest('ns_pattern.x.get', 300)), /no responders/i, 'nothing outside the namespace');
      const request = natsRequest('blue.ns_pattern.x.get');
      const invocation = await callee.next();
      assert.deepEqual([invocation[0], invocation[2], invocation[3]], [INVOCATION, registration, { procedure: 'ns_pattern.x.get' }]);
      callee.send([YIELD, invocation[1], {}, ['blue']]);
      assert.deepEqual(await request, [['blue'], {}]);
      // $SRV.INFO lists it with its subject, its own queue group and the metadata registries keep it apart by.
      const info = jsonCodec.decode((await nc.request(`$SRV.INFO.wamp_gateway.${blue.serviceId}`)).data) as { endpoints: Record<string, unknown>[] };
      assert.deepEqual(info.endpoints, [
        {
          name: 'ns_pattern..get',
          subject: 'blue.ns_pattern.*.get',
          queue_group: 'blue.q.wildcard.ns_pattern.#.get',
          metadata: { parameters: '*args, **kwargs', invoke: 'single', callees: '1', match: 'wildcard', pattern: 'ns_pattern..get' },
        },
      ]);
      callee.ws.terminate();
    } finally {
      await blue.stop();
    }
  });

  it('holds a pattern like a URI: one registration per pattern and policy, shared only by a shared invoke policy', async () => {
    const first = await session(a);
    const second = await session(a);
    const exact = await register(first, 'shared_pattern.x');
    const prefix = await register(first, 'shared_pattern.x', { match: 'prefix' });
    const wildcard = await register(first, 'shared_pattern.x', { match: 'wildcard' });
    assert.equal(new Set([exact, prefix, wildcard]).size, 3);
    assert.equal(await refused(first, 'shared_pattern.x', { match: 'prefix' }), 'wamp.error.procedure_already_exists');
    assert.equal(await refused(second, 'shared_pattern.x', { match: 'prefix' }), 'wamp.error.procedure_already_exists');
    const roundrobin = await register(first, 'shared_pattern.rr', { match: 'prefix', invoke: 'roundrobin' });
    assert.equal(await register(second, 'shared_pattern.rr', { match: 'prefix', invoke: 'roundrobin' }), roundrobin);
    assert.equal(await refused(second, 'shared_pattern.rr', { match: 'prefix', invoke: 'random' }), 'wamp.error.procedure_already_exists');
    const caller = await session(b);
    serve(first, 'first');
    serve(second, 'second');
    const reached = [];
    for (let i = 0; i < 2; i++) {
      const id = ++requestId;
      caller.send([CALL, id, {}, 'shared_pattern.rr.go', []]);
      const result = await caller.next();
      assert.deepEqual(result.slice(0, 2), [RESULT, id]);
      reached.push((result[3] as unknown[])[1]);
    }
    assert.notEqual(reached[0], reached[1], 'roundrobin took turns');
  });

  it('refuses a malformed pattern with the spec error, never an internal one', async () => {
    const client = await session(a);
    const cases: Array<[unknown, Record<string, unknown>, string]> = [
      ['bad..prefix', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['bad.prefix.', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['.bad.wildcard', { match: 'wildcard' }, 'wamp.error.invalid_uri'],
      ['..', { match: 'wildcard' }, 'wamp.error.invalid_uri'],
      ['wamp', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['wamp..get', { match: 'wildcard' }, 'wamp.error.invalid_uri'],
      ['$SRV', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['_INBOX', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['bad.*', { match: 'wildcard' }, 'wamp.error.invalid_uri'],
      ['bad.>', { match: 'prefix' }, 'wamp.error.invalid_uri'],
      [`long.${'x'.repeat(252)}`, { match: 'prefix' }, 'wamp.error.invalid_uri'],
      [`long.${'x'.repeat(251)}.`, { match: 'wildcard' }, 'wamp.error.invalid_uri'],
      // 255 bytes is a URI, but the subject a prefix takes (`.>` added) is not.
      [`long.${'x'.repeat(250)}`, { match: 'prefix' }, 'wamp.error.invalid_uri'],
      ['ok.pattern', { match: 'regex' }, 'wamp.error.option_not_allowed'],
      ['ok.pattern', { match: '' }, 'wamp.error.option_not_allowed'],
    ];
    for (const [procedure, options, uri] of cases) assert.equal(await refused(client, procedure, options), uri, `${JSON.stringify(procedure)} ${JSON.stringify(options)}`);
    // A match that is no string breaks the protocol.
    client.send([REGISTER, ++requestId, { match: 7 }, 'ok.pattern']);
    const abort = await client.next();
    assert.deepEqual([abort[0], abort[2]], [3, 'wamp.error.protocol_violation']);
  });

  it('reports pattern registrations in the meta API: list, lookup with match, match, get', async () => {
    const callee = await session(b);
    const caller = await session(b);
    const prefix = await register(callee, 'meta_pattern.orders', { match: 'prefix' });
    const longer = await register(callee, 'meta_pattern.orders.eu', { match: 'prefix' });
    const wildcard = await register(callee, 'meta_pattern..cancel', { match: 'wildcard' });
    const exact = await register(callee, 'meta_pattern.orders.eu.close');
    const meta = async (procedure: string, args: unknown[] = []) => {
      const id = ++requestId;
      caller.send([CALL, id, {}, procedure, args]);
      const answer = await caller.next();
      assert.deepEqual(answer.slice(0, 2), [RESULT, id], JSON.stringify(answer));
      return (answer[3] as unknown[])[0];
    };
    const lists = (await meta('wamp.registration.list')) as Record<string, number[]>;
    assert.ok(lists.prefix!.includes(prefix) && lists.prefix!.includes(longer) && lists.wildcard!.includes(wildcard) && lists.exact!.includes(exact));
    assert.equal(await meta('wamp.registration.lookup', ['meta_pattern.orders', { match: 'prefix' }]), prefix);
    assert.equal(await meta('wamp.registration.lookup', ['meta_pattern.orders']), null);
    assert.equal(await meta('wamp.registration.lookup', ['meta_pattern..cancel', { match: 'wildcard' }]), wildcard);
    assert.equal(await meta('wamp.registration.match', ['meta_pattern.orders-us']), prefix);
    assert.equal(await meta('wamp.registration.match', ['meta_pattern.orders.eu.open']), longer);
    assert.equal(await meta('wamp.registration.match', ['meta_pattern.orders.eu.close']), exact);
    assert.equal(await meta('wamp.registration.match', ['meta_pattern.x.cancel']), wildcard);
    assert.equal(await meta('wamp.registration.match', ['meta_pattern.x.keep']), null);
    const details = (await meta('wamp.registration.get', [wildcard])) as Record<string, unknown>;
    assert.deepEqual({ ...details, created: typeof details.created }, { id: wildcard, created: 'string', uri: 'meta_pattern..cancel', match: 'wildcard', invoke: 'single' });
  });
});
