// Fuzzes what a service or a caller declares about resilience, tasks and routes: `@rpc` and `@task` options,
// createClient's hooks and policies, the `resilience` config section and GET route patterns. Each is accepted only
// when every value is valid, and refused with a ConfigError naming where, in the house wording; never another
// exception, never ignored.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError, createClient, event, loadConfig, parseRoute, RESERVED_ROUTE_SEGMENTS, resilienceSettings, rpc, task, z, type CallHooks } from '../../mesh/gateway.ts';
import { tasksOf } from '../../mesh/service/task.ts';
import { NATS_URL } from '../helpers.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = 300;

/** zod's own phrases, which must never reach a user: the house wording replaces them. */
const ZOD_WORDING = /Invalid input|Too small|Too big|Unrecognized key|expected (string|number|boolean|object|array)|Invalid option/;

/** A value of any kind, now and then one that is valid somewhere. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -1, 1, 1.5, 2 ** 53, NaN, Infinity, -Infinity, '', 'x', '/things/:id', [], {}, () => undefined),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)), { maxKeys: 3 }),
);

/** A valid value or anything, for one field. */
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: anything, weight: 1 });

const bulkhead = field(fc.record({ limit: field(fc.integer({ min: 1, max: 64 })), queue: field(fc.integer({ min: 0, max: 64 })) }, { requiredKeys: ['limit'] }));
const routeText = fc.oneof(
  fc.constantFrom('/things', '/things/:uuid', '/a/b/:c/d', '/:x', '/tasks/:id', '/metrics', '/things/:id/:id', '/things.json', 'things', '/', '//', '/a//b', '/a/:', '/a/:1x', '/a/~_-'),
  fc
    .array(fc.oneof(fc.constantFrom('things', ':id', ':x', 'docs', '', '.', '..', '%2F', 'é', ':__proto__', 'a b'), fc.string({ maxLength: 5 })), { maxLength: 5 })
    .map((parts) => `/${parts.join('/')}`),
  fc.string({ maxLength: 20 }),
);

const rpcOptions: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      idempotent: field(fc.boolean()),
      bulkhead,
      slowMs: field(fc.integer({ min: 1, max: 10_000 })),
      roles: field(fc.array(fc.constantFrom('admin', 'reader'), { minLength: 1, maxLength: 2 })),
      description: field(fc.string({ maxLength: 10 })),
      http: field(fc.record({ get: field(routeText) }, { requiredKeys: ['get'] })),
      variadic: field(fc.boolean()),
    },
    { requiredKeys: [] },
  )
  .chain((options) =>
    fc.oneof({ arbitrary: fc.constant(options), weight: 4 }, { arbitrary: fc.constantFrom('retries', 'breaker', 'idempotant', 'fallback', 'use').map((key) => ({ ...options, [key]: 1 })), weight: 1 }),
  );

const taskOptions: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      concurrency: field(fc.integer({ min: 1, max: 100 })),
      retries: field(
        fc.record({ max: field(fc.integer({ min: 0, max: 10 })), backoff: field(fc.integer({ min: 0, max: 1000 })), maxBackoff: field(fc.integer({ min: 0, max: 60_000 })) }, { requiredKeys: [] }),
      ),
      timeout: field(fc.integer({ min: 1, max: 600_000 })),
      claim: field(fc.integer({ min: 1, max: 60_000 })),
      every: field(fc.constantFrom('30s', '5m', '1h', '1d', '1500ms', 1000, 60_000)),
      cron: field(fc.constantFrom('* * * * *', '*/5 * * * *', '0 0 * * *', '0 * * * * *')),
      missed: field(fc.constantFrom('skip', 'once')),
      description: field(fc.string({ maxLength: 10 })),
      ignoreResult: field(fc.boolean()),
    },
    { requiredKeys: [] },
  )
  .chain((options) =>
    fc.oneof(
      { arbitrary: fc.constant(options), weight: 4 },
      { arbitrary: fc.constantFrom('retry', 'idempotent', 'bulkhead', 'schedule', 'timeoutMs').map((key) => ({ ...options, [key]: 1 })), weight: 1 },
    ),
  );

const hooks: fc.Arbitrary<unknown> = field(
  fc.array(field(fc.record({ before: field(fc.constant(() => undefined)), after: field(fc.constant(() => undefined)), error: field(fc.constant(() => undefined)) }, { requiredKeys: [] })), {
    maxLength: 3,
  }),
);

const policy: fc.Arbitrary<unknown> = field(
  fc.record(
    {
      idempotent: field(fc.boolean()),
      retries: field(
        fc.record({ max: field(fc.integer({ min: 1, max: 10 })), backoff: field(fc.integer({ min: 0, max: 100 })), attemptMs: field(fc.integer({ min: 1, max: 100 })) }, { requiredKeys: ['max'] }),
      ),
      breaker: field(fc.record({ failures: field(fc.integer({ min: 1, max: 10 })), windowMs: field(fc.integer({ min: 1, max: 100 })) }, { requiredKeys: ['failures'] })),
      bulkhead,
      fallback: field(fc.oneof(fc.constant((() => [[], {}]) as unknown), fc.record({ args: field(fc.array(fc.integer(), { maxLength: 2 })) }, { requiredKeys: [] }))),
    },
    { requiredKeys: [] },
  ),
);
const policies = fc.dictionary(fc.oneof(fc.constantFrom('thing_service.get_thing', 'a.b', 'greeting_service.hello'), fc.string({ maxLength: 10 })), policy, { maxKeys: 3 });

/** Runs `declare`; it either succeeds or throws a ConfigError starting with `where` in the house wording. Says which. */
function judge(where: string, declare: () => unknown): 'accepted' | 'refused' {
  try {
    declare();
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.ok(err.message.startsWith(where), `does not say where: ${err.message}`);
    assert.doesNotMatch(err.message, ZOD_WORDING);
    return 'refused';
  }
}

describe(`hostile declarations (seed ${SEED})`, () => {
  let nc: NatsConnection;
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-declarations-'));
  before(async () => (nc = await connect({ servers: NATS_URL })));
  after(async () => {
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts @rpc options only when each is valid, and refuses the rest naming the method', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(rpcOptions, (options) => {
        const outcome = judge("@rpc on 'get'", () => {
          class Declared {
            name = 'declared';
            @rpc(options as never) async get(id: string) {
              return id;
            }
          }
          return new Declared();
        });
        seen.add(outcome);
        if (outcome === 'accepted') {
          for (const key of ['idempotent', 'variadic']) assert.ok(options[key] === undefined || typeof options[key] === 'boolean', `${key} accepted as ${String(options[key])}`);
          assert.ok(options.bulkhead === undefined || (typeof (options.bulkhead as { limit?: unknown }).limit === 'number' && (options.bulkhead as { limit: number }).limit >= 1), 'bulkhead accepted');
          assert.ok(options.slowMs === undefined || (typeof options.slowMs === 'number' && options.slowMs > 0), 'slowMs accepted');
          assert.deepEqual(
            Object.keys(options).filter((key) => !['idempotent', 'bulkhead', 'slowMs', 'roles', 'description', 'http', 'variadic'].includes(key)),
            [],
          );
        }
      }),
      { seed: SEED, numRuns: RUNS, examples: [[{}], [{ idempotent: 'yes' }]] },
    );
    assert.deepEqual([...seen].sort(), ['accepted', 'refused']);
  });

  it('accepts @task options only when each is valid, and refuses the rest naming the method', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(taskOptions, (options) => {
        let declared: object | undefined;
        const outcome = judge("@task on 'run'", () => {
          class Declared {
            name = 'declared';
            @task(options as never) async run() {}
          }
          declared = new Declared();
        });
        seen.add(outcome);
        if (outcome === 'accepted') {
          const { concurrency, retries, timeoutMs, claimMs, schedule, ignoreResult } = tasksOf(declared!).get('run')!;
          assert.equal(ignoreResult, options.ignoreResult === true, `ignoreResult accepted as ${String(options.ignoreResult)}`);
          assert.ok(Number.isInteger(concurrency) && concurrency >= 1, `concurrency accepted as ${concurrency}`);
          assert.ok(Number.isInteger(retries.max) && retries.max >= 0, `retries.max accepted as ${retries.max}`);
          for (const ms of [retries.backoff, retries.maxBackoff]) assert.ok(Number.isFinite(ms) && ms >= 0, `a backoff accepted as ${ms}`);
          for (const ms of [timeoutMs, claimMs]) assert.ok(Number.isFinite(ms) && ms > 0, `a time accepted as ${ms}`);
          assert.equal(schedule === undefined, options.every === undefined && options.cron === undefined);
          assert.ok(options.every === undefined || options.cron === undefined, 'both every and cron accepted');
          assert.deepEqual(
            Object.keys(options).filter((key) => !['concurrency', 'retries', 'timeout', 'claim', 'every', 'cron', 'missed', 'description', 'ignoreResult'].includes(key)),
            [],
          );
        }
      }),
      { seed: SEED, numRuns: RUNS, examples: [[{}], [{ ignoreResult: true }], [{ ignoreResult: 'yes' }]] },
    );
    assert.deepEqual([...seen].sort(), ['accepted', 'refused']);
  });

  it('refuses @rpc, @task and @event on anything but a method named by a string, as a ConfigError', () => {
    const prototype = class {}.prototype;
    const fieldContext = { kind: 'field', name: 'count', addInitializer() {} } as never;
    const unnamed = { kind: 'method', name: Symbol('run'), addInitializer() {} } as never;
    for (const [name, decorator] of [
      ['@rpc', rpc({})],
      ['@task', task()],
      ['@event', event('orders.placed')],
    ] as const) {
      assert.throws(() => decorator(prototype, 'count', { value: 42 }), { name: 'ConfigError', message: `${name} can only mark methods, not 'count'` });
      assert.throws(() => decorator(() => undefined, fieldContext), { name: 'ConfigError', message: `${name} can only mark methods, not 'count'` });
      assert.throws(() => decorator(() => undefined, unnamed), { name: 'ConfigError', message: `${name} can only mark methods, not 'Symbol(run)'` });
    }
  });

  it('names a number that is not finite by its value, not as "got number"', () => {
    const declare = (decorator: (prototype: object, method: string, descriptor: PropertyDescriptor) => void) => () => decorator(class {}.prototype, 'run', { value: async () => {} });
    assert.throws(declare(task({ timeout: Infinity })), { name: 'ConfigError', message: "@task on 'run': timeout must be a number, got Infinity" });
    assert.throws(declare(rpc({ slowMs: -Infinity })), { name: 'ConfigError', message: "@rpc on 'run': slowMs must be a number, got -Infinity" });
  });

  it('accepts a client’s hooks and policies only when each is valid', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(hooks, policies, (use, procedures) => {
        let client: { close(): void } | undefined;
        seen.add(judge('createClient: ', () => (client = createClient(nc, { use: use as CallHooks[], procedures: procedures as never }))));
        client?.close();
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.deepEqual([...seen].sort(), ['accepted', 'refused']);
  });

  it('accepts the resilience config section only when it is valid, and names the setting', () => {
    const seen = new Set<string>();
    const file = join(dir, 'mesh.config.json');
    fc.assert(
      fc.property(policies, (calls) => {
        // Functions have no JSON form: a config file never holds one.
        writeFileSync(file, JSON.stringify({ resilience: { calls } }));
        seen.add(judge('invalid configuration', () => resilienceSettings.of(loadConfig({ env: {}, file }))));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.deepEqual([...seen].sort(), ['accepted', 'refused']);
  });

  it('reads a GET route pattern only when it keeps the grammar, and says why otherwise', () => {
    fc.assert(
      fc.property(routeText, (text) => {
        const route = parseRoute(text);
        if (typeof route === 'string') {
          assert.ok(route.length > 0);
          return;
        }
        assert.equal(`/${route.segments.map((s) => ('param' in s ? `:${s.param}` : s.literal)).join('/')}`, text);
        assert.ok(route.segments.every((s) => ('param' in s ? /^[A-Za-z_]\w*$/.test(s.param) : /^[\w~-]+$/.test(s.literal))));
        const first = route.segments[0]!;
        assert.ok('literal' in first && !RESERVED_ROUTE_SEGMENTS.has(first.literal));
        assert.equal(new Set(route.params).size, route.params.length);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // A contract's parameter named in the route must exist: the declaration says which.
    assert.throws(() => rpc({ params: z.object({ id: z.string() }), http: { get: '/things/:uuid' } })(class {}.prototype, 'get', { value: async () => {} }), {
      name: 'ConfigError',
      message: "@rpc on 'get': http.get names :uuid, which is not one of its parameters (id)",
    });
  });
});
