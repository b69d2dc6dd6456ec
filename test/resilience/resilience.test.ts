// Retries, circuit breakers, bulkheads, fallbacks and hooks, each against a real instance on a real nats-server that
// fails, is down or is slow, the way a user declares them: on the client, in config, or on @rpc.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { askServices } from '../../mesh/wire/micro.ts';
import { createClient, currentCall, hostService, MeshError, rpc, Service, type CallHooks, type HookedCall, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const SERVICE = uniqueName('flaky');

/** A gate a handler waits on until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

class FlakyService extends Service {
  name = SERVICE;
  /** Calls each key has had. */
  readonly seen = new Map<string, number>();
  held = gate();

  private count(key: string): number {
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    return n;
  }

  /** Fails with UNAVAILABLE the first `failures` times it is called with `key`, then answers. */
  @rpc({ idempotent: true })
  async read(key: string, failures: number) {
    if (this.count(key) <= failures) throw new MeshError('UNAVAILABLE', 'warming up');
    return `read ${key}`;
  }

  @rpc async write(key: string) {
    this.count(key);
    throw new MeshError('UNAVAILABLE', 'the disk is away');
  }

  @rpc({ idempotent: true })
  async check(key: string) {
    this.count(key);
    throw new MeshError('INVALID_ARGUMENT', 'bad key');
  }

  /** Slow the first time (it waits until the caller gives up on the attempt), quick after. */
  @rpc({ idempotent: true })
  async slow(key: string) {
    if (this.count(key) === 1) await new Promise((resolve) => setTimeout(resolve, 1000));
    return `slow ${key}`;
  }

  /** Fails with UNAVAILABLE the first time it is called with `key`, then answers with the deadline it was given. */
  @rpc({ idempotent: true })
  async deadline(key: string) {
    if (this.count(key) === 1) throw new MeshError('UNAVAILABLE', 'warming up');
    return currentCall()!.deadline;
  }

  /** Calls `deadline` through the relay's client, which retries it: what it answers, and its own deadline. */
  @rpc async relay(key: string) {
    const [[inner]] = await relayClient.call(at('deadline'), [key]);
    return [inner, currentCall()!.deadline];
  }

  /** Waits for the test to open the gate. */
  @rpc({ bulkhead: { limit: 1 } })
  async narrow() {
    await this.held.wait;
    return 'done';
  }

  @rpc async wide() {
    await this.held.wait;
    return 'done';
  }
}

const at = (method: string) => `${SERVICE}.${method}`;
/** The client FlakyService.relay calls through: retries, a breaker and a hook declared for `deadline`. */
let relayClient: MeshClient;
const fast = { backoff: 1, maxBackoff: 5 };
const ASK = { maxWaitMs: 2000, silenceMs: 300 };

async function series(registry: Registry, name: string, procedure: string): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values as { value: number; labels: Record<string, unknown> }[] | undefined)?.find((v) => v.labels.procedure === procedure)?.value;
}

describe('resilience against a real failing instance', () => {
  let nc: NatsConnection;
  let service: FlakyService;
  let hosted: HostedService;
  const serviceCalls: string[] = [];
  const recording: CallHooks = {
    before: (call) => void serviceCalls.push(`before ${call.procedure}`),
    after: (call, result) => void serviceCalls.push(`after ${call.procedure} ${String(result)}`),
    error: (call, error) => void serviceCalls.push(`error ${call.procedure} ${error.code}`),
  };

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    service = new FlakyService();
    hosted = await hostService(service, { nc, logger: silentLogger, use: [recording] });
  });
  after(async () => {
    service.held.open();
    await hosted.stop();
    await nc.close();
  });

  it('retries an idempotent procedure that fails twice, and counts the retries', async () => {
    const metrics = new Registry();
    const client = createClient(nc, { procedures: { [at('read')]: { idempotent: true, retries: { max: 3, ...fast } } }, metrics });
    assert.deepEqual(await client.call(at('read'), ['a', 2]), [['read a'], {}]);
    assert.equal(service.seen.get('a'), 3);
    assert.equal(await series(metrics, 'mesh_resilience_retries_total', at('read')), 2);
  });

  it('gives up after max retries with the last error', async () => {
    const client = createClient(nc, { procedures: { [at('read')]: { idempotent: true, retries: { max: 1, ...fast } } } });
    await assert.rejects(client.call(at('read'), ['b', 5]), { code: 'UNAVAILABLE', message: 'warming up' });
    assert.equal(service.seen.get('b'), 2);
  });

  it('never retries a procedure not declared idempotent, and refuses such a declaration at once', async () => {
    assert.throws(() => createClient(nc, { procedures: { [at('write')]: { retries: { max: 3 } } } }), {
      name: 'ConfigError',
      message: `createClient: ${at('write')}.retries needs idempotent: true (a call that is not idempotent is never tried again)`,
    });
    const client = createClient(nc, { procedures: { [at('write')]: { breaker: { failures: 10 } } } });
    await assert.rejects(client.call(at('write'), ['c']), { code: 'UNAVAILABLE' });
    assert.equal(service.seen.get('c'), 1);
  });

  it('does not retry an error another attempt cannot cure', async () => {
    const client = createClient(nc, { procedures: { [at('check')]: { idempotent: true, retries: { max: 3, ...fast } } } });
    await assert.rejects(client.call(at('check'), ['d']), { code: 'INVALID_ARGUMENT' });
    assert.equal(service.seen.get('d'), 1);
  });

  it('tries a slow attempt again within the call’s deadline', async () => {
    const client = createClient(nc, { procedures: { [at('slow')]: { idempotent: true, retries: { max: 2, attemptMs: 200, ...fast } } } });
    assert.deepEqual(await client.call(at('slow'), ['e'], {}, { timeoutMs: 10_000 }), [['slow e'], {}]);
    assert.equal(service.seen.get('e'), 2);
  });

  it('retries a call made inside a handler within the handler’s own deadline, which every attempt carries on', async () => {
    const hooked: string[] = [];
    relayClient = createClient(nc, {
      use: [{ after: (call) => void hooked.push(`after ${call.procedure}`) }],
      procedures: { [at('deadline')]: { idempotent: true, retries: { max: 2, ...fast }, breaker: { failures: 5 } } },
    });
    const [[[inner, outer]]] = (await createClient(nc).call(at('relay'), ['n'], {}, { timeoutMs: 5000 })) as [[[number, number]], object];
    assert.equal(service.seen.get('n'), 2);
    assert.equal(typeof outer, 'number');
    assert.equal(inner, outer);
    assert.deepEqual(hooked, [`after ${at('deadline')}`]);
  });

  it('stops retrying when the next attempt would pass the overall deadline', async () => {
    const client = createClient(nc, { procedures: { [at('read')]: { idempotent: true, retries: { max: 5, backoff: 60_000, maxBackoff: 60_000 } } } });
    await assert.rejects(client.call(at('read'), ['f', 5], {}, { timeoutMs: 5000 }), { code: 'UNAVAILABLE' });
    assert.equal(service.seen.get('f'), 1);
  });

  it('opens the circuit of a procedure that is down, then refuses at once with CIRCUIT_OPEN', async () => {
    const metrics = new Registry();
    const down = `${uniqueName('down')}.get`;
    const client = createClient(nc, { procedures: { [down]: { breaker: { failures: 2, coolDownMs: 600_000 } } }, metrics });
    for (let i = 0; i < 2; i++) await assert.rejects(client.call(down), { code: 'UNAVAILABLE', message: `no instance of '${down}' is reachable right now` });
    const refused = await client.call(down).catch((err: MeshError) => err);
    assert.ok(refused instanceof MeshError);
    assert.deepEqual([refused.code, refused.status], ['CIRCUIT_OPEN', 503]);
    assert.equal(await series(metrics, 'mesh_resilience_breaker_state', down), 2);
    assert.equal(await series(metrics, 'mesh_resilience_breaker_opened_total', down), 1);
    assert.equal(await series(metrics, 'mesh_resilience_breaker_refused_total', down), 1);
  });

  it('lets a trial call through after the cool-down, and closes the circuit when it answers', async () => {
    const metrics = new Registry();
    const client = createClient(nc, { procedures: { [at('read')]: { breaker: { failures: 1, coolDownMs: 1 } } }, metrics });
    await assert.rejects(client.call(at('read'), ['g', 1]), { code: 'UNAVAILABLE' });
    assert.equal(await series(metrics, 'mesh_resilience_breaker_state', at('read')), 2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await client.call(at('read'), ['g', 1]), [['read g'], {}]);
    assert.equal(await series(metrics, 'mesh_resilience_breaker_state', at('read')), 0);
  });

  it('answers with the fallback when the procedure is down or its circuit is open', async () => {
    const metrics = new Registry();
    const down = `${uniqueName('down')}.get`;
    const seen: string[] = [];
    const client = createClient(nc, {
      procedures: {
        [down]: { breaker: { failures: 1, coolDownMs: 600_000 }, fallback: (error, call) => (seen.push(`${call.procedure} ${error.code}`), [['cached'], {}]) },
        [at('write')]: { fallback: { args: ['later'] } },
      },
      metrics,
    });
    assert.deepEqual(await client.call(down), [['cached'], {}]);
    assert.deepEqual(await client.call(down), [['cached'], {}]);
    assert.deepEqual(seen, [`${down} UNAVAILABLE`, `${down} CIRCUIT_OPEN`]);
    assert.equal(await series(metrics, 'mesh_resilience_fallbacks_total', down), 2);
    assert.deepEqual(await client.call(at('write'), ['h']), [['later'], {}]);
    await assert.rejects(createClient(nc, { procedures: { [at('check')]: { fallback: { args: ['x'] } } } }).call(at('check'), ['i']), { code: 'INVALID_ARGUMENT' });
  });

  it('refuses calls past a client bulkhead at once with RESOURCE_EXHAUSTED', async () => {
    const metrics = new Registry();
    service.held = gate();
    const client = createClient(nc, { procedures: { [at('wide')]: { bulkhead: { limit: 1 } } }, metrics });
    const first = client.call(at('wide'));
    await assert.rejects(client.call(at('wide')), { code: 'RESOURCE_EXHAUSTED', message: `'${at('wide')}' has 1 calls in flight and 0 waiting, its limit; try again later` });
    service.held.open();
    assert.deepEqual(await first, [['done'], {}]);
    assert.equal(await series(metrics, 'mesh_resilience_bulkhead_refused_total', at('wide')), 1);
    assert.deepEqual(await client.call(at('wide')), [['done'], {}]);
  });

  it('queues a call behind a client bulkhead when it has a queue', async () => {
    service.held = gate();
    const client = createClient(nc, { procedures: { [at('wide')]: { bulkhead: { limit: 1, queue: 1 } } } });
    const calls = [client.call(at('wide')), client.call(at('wide'))];
    await assert.rejects(client.call(at('wide')), { code: 'RESOURCE_EXHAUSTED' });
    service.held.open();
    assert.deepEqual(await Promise.all(calls), [
      [['done'], {}],
      [['done'], {}],
    ]);
  });

  it('keeps a procedure’s own bulkhead on the instance, shown in $SRV.STATS and $SRV.INFO', async () => {
    service.held = gate();
    const client = createClient(nc);
    const first = client.call(at('narrow'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(client.call(at('narrow')), { code: 'RESOURCE_EXHAUSTED' });
    service.held.open();
    assert.deepEqual(await first, [['done'], {}]);
    const [stats] = await askServices(nc, 'STATS', SERVICE, ASK);
    const narrow = (stats as { endpoints: { name: string; data: { bulkhead: unknown; errors_by_code: unknown } }[] }).endpoints.find((e) => e.name === 'narrow')!;
    assert.deepEqual(narrow.data.bulkhead, { in_flight: 0, queued: 0, refused: 1 });
    assert.deepEqual(narrow.data.errors_by_code, { RESOURCE_EXHAUSTED: 1 });
    const [info] = await askServices(nc, 'INFO', SERVICE, ASK);
    const endpoints = (info as { endpoints: { name: string; metadata: Record<string, string> }[] }).endpoints;
    assert.equal(endpoints.find((e) => e.name === 'narrow')!.metadata.bulkhead, '{"limit":1,"queue":0}');
    assert.equal(endpoints.find((e) => e.name === 'read')!.metadata.idempotent, 'true');
    assert.equal(endpoints.find((e) => e.name === 'write')!.metadata.idempotent, undefined);
  });

  it('runs client hooks around every call, and a before hook may refuse it', async () => {
    const seen: string[] = [];
    const client = createClient(nc, {
      use: [
        {
          before(call: HookedCall) {
            seen.push(`before ${call.procedure} ${JSON.stringify(call.args)}`);
            if (call.args[0] === 'forbidden') throw new MeshError('PERMISSION_DENIED', 'not this key');
          },
          after: (call, result) => void seen.push(`after ${JSON.stringify(result)}`),
          error: (call, error) => void seen.push(`error ${error.code}`),
        },
      ],
    });
    await client.call(at('read'), ['j', 0]);
    await assert.rejects(client.call(at('check'), ['k']), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(client.call(at('read'), ['forbidden', 0]), { code: 'PERMISSION_DENIED' });
    assert.deepEqual(seen, [
      `before ${at('read')} ["j",0]`,
      'after [["read j"],{}]',
      `before ${at('check')} ["k"]`,
      'error INVALID_ARGUMENT',
      `before ${at('read')} ["forbidden",0]`,
      'error PERMISSION_DENIED',
    ]);
    assert.equal(service.seen.get('forbidden'), undefined);
  });

  it('runs service hooks around every request the host serves', async () => {
    serviceCalls.length = 0;
    const client = createClient(nc);
    await client.call(at('read'), ['l', 0]);
    await assert.rejects(client.call(at('check'), ['m']), { code: 'INVALID_ARGUMENT' });
    // The slow test's first attempt may still be running, given up by its caller: its hooks fire when it ends.
    assert.deepEqual(
      serviceCalls.filter((line) => !line.includes('.slow')),
      [`before ${at('read')}`, `after ${at('read')} read l`, `before ${at('check')}`, `error ${at('check')} INVALID_ARGUMENT`],
    );
  });

  it('refuses a bad hook or policy where it is declared, not at the first call, in the house wording', async () => {
    assert.throws(() => createClient(nc, { use: [{ befor: () => undefined } as CallHooks] }), { name: 'ConfigError', message: "createClient: use[0] has unknown key 'befor'" });
    assert.throws(() => createClient(nc, { use: [{}] }), { name: 'ConfigError', message: 'createClient: use[0] needs a before, after or error function' });
    assert.throws(() => createClient(nc, { procedures: { [at('read')]: { breaker: { failures: 0 } } } }), {
      name: 'ConfigError',
      message: `createClient: ${at('read')}.breaker.failures must be at least 1`,
    });
    assert.throws(() => createClient(nc, { procedures: { [at('read')]: { idempotent: true, retries: { max: 3, backof: 10 } as never } } }), {
      name: 'ConfigError',
      message: `createClient: ${at('read')}.retries has unknown key 'backof'`,
    });
    assert.throws(() => createClient(nc, { procedures: { 'no dot': {} } }), { name: 'ConfigError', message: 'createClient: no dot is not a procedure name such as greeting_service.hello' });
    class Bad extends Service {
      name = uniqueName('bad');
      @rpc async ok() {}
    }
    await assert.rejects(hostService(new Bad(), { nc, logger: silentLogger, use: [{ before: 'not a function' } as unknown as CallHooks] }), {
      name: 'ConfigError',
      message: /^bad_[0-9a-f]+: hosting: use\[0\]\.before must be a function$/,
    });
    // A service's own `use`, declared on its class, is checked when it is hosted, before it answers anything.
    class BadHooks extends Service {
      name = uniqueName('bad_hooks');
      use = [{ after: 42 }] as unknown as CallHooks[];
      @rpc async ok() {}
    }
    const badHooks = new BadHooks();
    await assert.rejects(hostService(badHooks, { nc, logger: silentLogger }), { name: 'ConfigError', message: `${badHooks.name}: hosting: use[0].after must be a function` });
    await assert.rejects(createClient(nc, { timeoutMs: 500 }).call(`${badHooks.name}.ok`), { code: 'UNKNOWN_PROCEDURE' });
    assert.throws(
      () => {
        class Narrow extends Service {
          name = 'narrow';
          @rpc({ bulkhead: { limit: 0 } }) async ok() {}
        }
        return new Narrow();
      },
      { name: 'ConfigError', message: "@rpc on 'ok': bulkhead.limit must be at least 1" },
    );
  });
});

describe('service hooks that may refuse', () => {
  it('refuse a request from a before hook, thrown at once or rejected later, and otherwise run the handler in its call context', async () => {
    const nc = await connect({ servers: NATS_URL });
    const name = uniqueName('guarded');
    class Guarded extends Service {
      name = name;
      @rpc async who(when: string) {
        return `${when} ${currentCall()?.deadline === undefined ? 'without its context' : 'in its context'}`;
      }
    }
    const gatekeeper: CallHooks = {
      before(call) {
        if (call.args[0] === 'now') throw new MeshError('PERMISSION_DENIED', 'not now');
        if (call.args[0] === 'later') return Promise.reject(new MeshError('PERMISSION_DENIED', 'not later'));
        if (call.args[0] === 'after a wait') return new Promise((resolve) => setTimeout(resolve, 5));
      },
    };
    const hosted = await hostService(new Guarded(), { nc, logger: silentLogger, use: [gatekeeper] });
    const client = createClient(nc);
    try {
      assert.deepEqual(await client.call(`${name}.who`, ['at once']), [['at once in its context'], {}]);
      assert.deepEqual(await client.call(`${name}.who`, ['after a wait']), [['after a wait in its context'], {}]);
      await assert.rejects(client.call(`${name}.who`, ['now']), { code: 'PERMISSION_DENIED', message: 'not now' });
      await assert.rejects(client.call(`${name}.who`, ['later']), { code: 'PERMISSION_DENIED', message: 'not later' });
    } finally {
      client.close();
      await hosted.stop();
      await nc.close();
    }
  });
});
