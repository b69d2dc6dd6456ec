// A service on a real nats-server: binding, replies, errors with codes, msgpack, queue groups,
// discovery through $SRV, events, concurrency and draining, seen the way any NATS client sees them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../../mesh/wire/micro.ts';
import { createClient, hostService, MeshError, reply, rpc, Service, type HostedService, type Kwargs, type MeshClient } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { errorTextWithoutId, NATS_URL, silentLogger, uniqueName, withoutErrorId } from '../helpers.ts';

const SERVICE = uniqueName('host_test');

class ExampleService extends Service {
  name = SERVICE;
  readonly instance: string;

  constructor(instance = 'a') {
    super();
    this.instance = instance;
  }

  @rpc async whoami() {
    return this.instance;
  }

  @rpc async pair(a: number, b = 2) {
    return reply([a, b], { sum: a + b });
  }

  @rpc({ variadic: true })
  async echo(args: unknown[], kwargs: Kwargs) {
    this.publish(`${SERVICE}.echoed`, args, kwargs);
    return reply(args, kwargs);
  }

  @rpc async missing(id: string) {
    throw new MeshError('NOT_FOUND', `no thing ${id}`);
  }

  @rpc async broken() {
    throw new Error('secret database password in this message');
  }

  @rpc async nothing() {}
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('service host', () => {
  let nc: NatsConnection;
  let client: MeshClient;
  let hosted: HostedService[];

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    client = createClient(nc, { timeoutMs: 5000 });
    hosted = [await hostService(new ExampleService('a'), { nc, logger: silentLogger }), await hostService(new ExampleService('b'), { nc, logger: silentLogger })];
  });

  after(async () => {
    await Promise.all(hosted.map((h) => h.stop()));
    client.close();
    await nc.drain();
  });

  it('answers [[value], {}] for a returned value and [args, kwargs] for reply()', async () => {
    assert.deepEqual(await client.call(`${SERVICE}.pair`, [1], { b: 5 }), [[1, 5], { sum: 6 }]);
    assert.deepEqual(await client.call(`${SERVICE}.nothing`), [[], {}]);
  });

  it('accepts [args], [] and an empty payload from a raw NATS client', async () => {
    assert.equal((await nc.request(`${SERVICE}.pair`, encoder.encode('[[3]]'))).string(), '[[3,2],{"sum":5}]');
    assert.equal((await nc.request(`${SERVICE}.nothing`, encoder.encode('[]'))).string(), '[[],{}]');
    assert.equal((await nc.request(`${SERVICE}.nothing`, new Uint8Array())).string(), '[[],{}]');
  });

  it('gives variadic procedures the raw envelope and publishes events as [args, kwargs]', async () => {
    const events = nc.subscribe(`${SERVICE}.echoed`, { max: 1 });
    const received = (async () => {
      for await (const m of events) return m.json();
    })();
    assert.deepEqual(await client.call(`${SERVICE}.echo`, [1, 'two'], { three: 3 }), [[1, 'two'], { three: 3 }]);
    assert.deepEqual(await received, [[1, 'two'], { three: 3 }]);
  });

  it('answers errors with micro protocol headers and a body readable without headers', async () => {
    const msg = await nc.request(`${SERVICE}.missing`, encoder.encode('[["x1"]]'));
    assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '404');
    assert.equal(msg.headers?.get('Nats-Service-Error'), 'no thing x1');
    assert.deepEqual(withoutErrorId(JSON.parse(decoder.decode(msg.data))), { error: { code: 'NOT_FOUND', message: 'no thing x1', status: 404 } });
  });

  it('turns an unexpected exception into INTERNAL without leaking its message or stack', async () => {
    const msg = await nc.request(`${SERVICE}.broken`, encoder.encode('[]'));
    assert.equal(errorTextWithoutId(msg.string()), '{"error":{"code":"INTERNAL","message":"internal error","status":500}}');
  });

  it('names the parameter in INVALID_ARGUMENT and does not call the method', async () => {
    await assert.rejects(client.call(`${SERVICE}.pair`, [], { b: 1 }), { code: 'INVALID_ARGUMENT', message: `${SERVICE}.pair is missing required argument 'a'` });
    await assert.rejects(client.call(`${SERVICE}.missing`, ['x'], { extra: 1 }), { code: 'INVALID_ARGUMENT', message: /unknown keyword argument 'extra'/ });
    for (const bad of ['{"a":1}', '[1, {}]', '[[], []]', '[[], {}, 1]', '{not json', '"text"']) {
      const msg = await nc.request(`${SERVICE}.missing`, encoder.encode(bad));
      assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '400', bad);
      assert.equal((msg.json() as { error: { code: string } }).error.code, 'INVALID_ARGUMENT', bad);
    }
  });

  it('speaks MessagePack both ways when the request says Content-Type: application/msgpack', async () => {
    const h = headers();
    h.set('Content-Type', 'application/msgpack');
    const msg = await nc.request(`${SERVICE}.pair`, encode([[2], { b: 3 }]), { headers: h, timeout: 5000 });
    assert.equal(msg.headers?.get('Content-Type'), 'application/msgpack');
    assert.deepEqual(decode(msg.data), [[2, 3], { sum: 5 }]);
    const error = await nc.request(`${SERVICE}.missing`, encode([['m']]), { headers: h, timeout: 5000 });
    assert.deepEqual(withoutErrorId(decode(error.data)), { error: { code: 'NOT_FOUND', message: 'no thing m', status: 404 } });
    const after = await nc.request(`${SERVICE}.pair`, encode([[1]]), { headers: h, timeout: 5000 });
    assert.equal(after.headers?.has('Nats-Service-Error-Code'), false, 'an error reply leaves no error header behind');
    assert.deepEqual(decode(after.data), [[1, 2], { sum: 3 }]);
    assert.deepEqual(await client.call(`${SERVICE}.pair`, [4], {}, { encoding: 'msgpack' }), [[4, 2], { sum: 6 }]);
  });

  it('refuses a content type it cannot decode', async () => {
    const h = headers();
    h.set('Content-Type', 'application/xml');
    const msg = await nc.request(`${SERVICE}.pair`, encoder.encode('<a/>'), { headers: h, timeout: 5000 });
    assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '415');
  });

  it('shares requests between two instances in one queue group, each answered once', async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, () => client.call(`${SERVICE}.whoami`)));
    const counts = { a: 0, b: 0 };
    for (const [[who]] of answers) counts[who as 'a' | 'b']++;
    assert.equal(counts.a + counts.b, 60);
    assert.ok(counts.a > 0 && counts.b > 0, `both instances answered: ${JSON.stringify(counts)}`);
  });

  it('is discoverable through $SRV.INFO with its endpoints, and $SRV.STATS counts its requests', async () => {
    const infos = await askServices(nc, 'INFO', SERVICE, { maxWaitMs: 2000, silenceMs: 300 });
    assert.equal(infos.length, 2);
    const subjects = infos[0]!.endpoints.map((e) => e.subject).sort();
    assert.deepEqual(
      subjects,
      ['broken', 'echo', 'missing', 'nothing', 'pair', 'whoami'].map((m) => `${SERVICE}.${m}`),
    );
    assert.equal(infos[0]!.endpoints.find((e) => e.name === 'pair')?.metadata?.parameters, 'a, b?');
    assert.equal(infos[0]!.endpoints.find((e) => e.name === 'pair')?.queue_group, 'q');
    let requests = 0;
    for (const stats of await askServices(nc, 'STATS', SERVICE, { maxWaitMs: 2000, silenceMs: 300 })) {
      for (const e of stats.endpoints ?? []) requests += e.num_requests;
    }
    assert.ok(requests >= 60, `counted ${requests} requests`);
  });
});

describe('greeting_service', () => {
  it('answers hello while a hello_sleep is still in flight', async () => {
    const nc = await connect({ servers: NATS_URL });
    const greeting = new GreetingService();
    greeting.name = uniqueName('greeting');
    const hosted = await hostService(greeting, { nc, logger: silentLogger });
    const client = createClient(nc, { timeoutMs: 10_000 });
    const order: string[] = [];
    const slow = client.call(`${greeting.name}.hello_sleep`, ['Slow'], { seconds: 1 }).then((r) => order.push(`slow:${r[0][0]}`));
    const fast = client.call(`${greeting.name}.hello`, ['Bob'], { last_name: 'Ross' }).then((r) => order.push(`fast:${r[0][0]}`));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ['fast:Hello, Bob Ross', 'slow:Hello, Slow']);
    await assert.rejects(client.call(`${greeting.name}.hello_sleep`, ['x'], { seconds: 'soon' }), { code: 'INVALID_ARGUMENT', message: /seconds/ });
    await assert.rejects(client.call(`${greeting.name}.hello`, [42]), { code: 'INVALID_ARGUMENT', message: 'first_name must be a string, got number' });
    await hosted.stop();
    client.close();
    await nc.drain();
  });

  it('finishes and answers a request in flight when it is stopped', async () => {
    const nc = await connect({ servers: NATS_URL });
    const greeting = new GreetingService();
    greeting.name = uniqueName('greeting');
    const hosted = await hostService(greeting, { nc, logger: silentLogger });
    const client = createClient(nc, { timeoutMs: 10_000 });
    const inFlight = client.call(`${greeting.name}.hello_sleep`, ['Drain'], { seconds: 0.5 });
    await new Promise((r) => setTimeout(r, 100));
    await hosted.stop();
    assert.deepEqual(await inFlight, [['Hello, Drain'], {}]);
    await assert.rejects(client.call(`${greeting.name}.hello`, ['late']), { code: 'UNKNOWN_PROCEDURE' });
    client.close();
    await nc.drain();
  });
});
