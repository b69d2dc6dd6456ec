// Declared contracts on a real nats-server: @rpc({ params, result }) with zod binds, validates and coerces
// [args, kwargs] before the handler runs, and publishes JSON Schema in $SRV.INFO for a raw NATS client to read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createClient, hostService, MeshError, rpc, z, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName, withoutErrorId } from '../helpers.ts';

const SERVICE = uniqueName('contract_test');

class ContractService {
  name = SERVICE;
  version = '1.2.0';
  description = 'declared contracts under test';
  handled = 0;

  @rpc({
    params: z.object({ first_name: z.string(), last_name: z.string().default('') }),
    result: z.string(),
    description: 'Greets someone by name',
  })
  async hello(first_name: string, last_name: string) {
    this.handled++;
    return `Hello, ${first_name} ${last_name}`.trim();
  }

  @rpc({
    params: z.object({
      s: z.string(),
      n: z.number(),
      i: z.int(),
      b: z.boolean(),
      a: z.array(z.number()),
      o: z.object({ x: z.number() }),
      nothing: z.null(),
    }),
  })
  async types(...values: unknown[]) {
    this.handled++;
    return values;
  }

  @rpc({ params: z.object({ count: z.coerce.number().int(), name: z.string().trim().min(1, 'must not be empty') }) })
  async coerced(count: number, name: string) {
    this.handled++;
    return { count, name };
  }

  @rpc({
    params: z.object({
      age: z.number().min(0),
      code: z.string().min(2).max(4),
      tags: z.array(z.string()).max(1),
      size: z.enum(['S', 'M']),
      email: z.email(),
      step: z.number().multipleOf(5),
      options: z.strictObject({ city: z.string() }),
    }),
  })
  async bounded(...values: unknown[]) {
    this.handled++;
    return values;
  }

  @rpc async plain(a: number, b = 2) {
    this.handled++;
    return a + b;
  }
}

const VALID = { s: 'text', n: 1.5, i: 3, b: true, a: [1, 2], o: { x: 1 }, nothing: null } as const;

/** One value of every JSON type, and what each field of `types` says it expected. */
const JSON_VALUES: Record<string, unknown> = { string: 'x', number: 2.5, boolean: false, null: null, array: [1], object: { x: 1 } };
const EXPECTED: Record<keyof typeof VALID, { phrase: string; accepts: string[] }> = {
  s: { phrase: 'a string', accepts: ['string'] },
  n: { phrase: 'a number', accepts: ['number'] },
  i: { phrase: 'a number', accepts: ['number'] },
  b: { phrase: 'a boolean', accepts: ['boolean'] },
  a: { phrase: 'an array', accepts: ['array'] },
  o: { phrase: 'an object', accepts: ['object'] },
  nothing: { phrase: 'null', accepts: ['null'] },
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('declared contracts', () => {
  let nc: NatsConnection;
  let service: ContractService;
  let hosted: HostedService;

  /** A raw NATS request: the decoded reply body, whatever it is. */
  async function request(method: string, payload: unknown): Promise<unknown> {
    const msg = await nc.request(`${SERVICE}.${method}`, encoder.encode(JSON.stringify(payload)), { timeout: 5000 });
    return JSON.parse(decoder.decode(msg.data));
  }

  /** Asserts the call is refused as INVALID_ARGUMENT with this body, and that the handler did not run. */
  async function refused(method: string, payload: unknown, message: string, details?: { field: string; message: string }[]) {
    const before = service.handled;
    const error: Record<string, unknown> = { code: 'INVALID_ARGUMENT', message, status: 400 };
    if (details) error.details = details;
    assert.deepEqual(withoutErrorId(await request(method, payload)), { error });
    assert.equal(service.handled, before, 'the handler must not be called');
  }

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    service = new ContractService();
    hosted = await hostService(service, { nc, logger: silentLogger });
  });

  after(async () => {
    await hosted.stop();
    await nc.drain();
  });

  it('binds positional arguments in key order, keyword arguments by name, and applies defaults', async () => {
    assert.deepEqual(await request('hello', [['Bob', 'Ross'], {}]), [['Hello, Bob Ross'], {}]);
    assert.deepEqual(await request('hello', [['Bob'], { last_name: 'Ross' }]), [['Hello, Bob Ross'], {}]);
    assert.deepEqual(await request('hello', [[], { last_name: 'Ross', first_name: 'Bob' }]), [['Hello, Bob Ross'], {}]);
    assert.deepEqual(await request('hello', [['Bob']]), [['Hello, Bob'], {}]);
    assert.deepEqual(await request('types', [[], VALID]), [[Object.values(VALID)], {}]);
  });

  it('refuses every JSON type where another is declared, naming the field', async () => {
    let checked = 0;
    for (const [field, { phrase, accepts }] of Object.entries(EXPECTED)) {
      for (const [type, value] of Object.entries(JSON_VALUES)) {
        if (accepts.includes(type)) continue;
        await refused('types', [[], { ...VALID, [field]: value }], `${field} must be ${phrase}, got ${type}`, [{ field, message: `must be ${phrase}, got ${type}` }]);
        checked++;
      }
    }
    assert.equal(checked, 7 * 6 - 7);
    await refused('types', [[], { ...VALID, i: 2.5 }], 'i must be an integer, got number', [{ field: 'i', message: 'must be an integer, got number' }]);
  });

  it('refuses a missing argument, and null where a default exists (null is a value, not an absence)', async () => {
    await refused('hello', [[], {}], 'first_name is required', [{ field: 'first_name', message: 'is required' }]);
    await refused('hello', [], 'first_name is required', [{ field: 'first_name', message: 'is required' }]);
    await refused('hello', [['Bob', null]], 'last_name must be a string, got null', [{ field: 'last_name', message: 'must be a string, got null' }]);
  });

  it('reports every failing field, in order, with a dotted path into nested values', async () => {
    await refused('types', [[], { ...VALID, s: 1, o: { x: 'one' }, a: [1, 'two'] }], 's must be a string, got number; a.1 must be a number, got string; o.x must be a number, got string', [
      { field: 's', message: 'must be a string, got number' },
      { field: 'a.1', message: 'must be a number, got string' },
      { field: 'o.x', message: 'must be a number, got string' },
    ]);
  });

  it('refuses unknown keyword arguments, extra positional ones and two values for one parameter', async () => {
    await refused('hello', [[], { first_name: 'Bob', middle_name: 'X' }], `${SERVICE}.hello got an unknown keyword argument 'middle_name'`);
    await refused('hello', [[], { first_name: 'Bob', ['__proto__']: 1 }], `${SERVICE}.hello got an unknown keyword argument '__proto__'`);
    await refused('hello', [['a', 'b', 'c']], `${SERVICE}.hello takes at most 2 positional arguments, got 3`);
    await refused('hello', [['Bob'], { first_name: 'Bob' }], `${SERVICE}.hello got multiple values for argument 'first_name'`);
  });

  it("words every check zod leaves to its defaults the house way, none of zod's own phrasing", async () => {
    const valid = { age: 1, code: 'ab', tags: [], size: 'S', email: 'a@b.org', step: 10, options: { city: 'Rome' } };
    assert.deepEqual(await request('bounded', [[], valid]), [[[1, 'ab', [], 'S', 'a@b.org', 10, { city: 'Rome' }]], {}]);
    const details = [
      { field: 'age', message: 'must be at least 0' },
      { field: 'code', message: 'must have at most 4 characters' },
      { field: 'tags', message: 'must have at most 1 item' },
      { field: 'size', message: 'must be one of "S", "M"' },
      { field: 'email', message: 'must be an email address' },
      { field: 'step', message: 'must be a multiple of 5' },
      { field: 'options', message: "has unknown key 'town'" },
    ];
    const bad = { age: -1, code: 'abcde', tags: ['a', 'b'], size: 'XL', email: 'nobody', step: 7, options: { city: 'Rome', town: 'x' } };
    await refused('bounded', [[], bad], details.map((d) => `${d.field} ${d.message}`).join('; '), details);
    await refused('bounded', [[], { ...valid, code: 'a' }], 'code must have at least 2 characters', [{ field: 'code', message: 'must have at least 2 characters' }]);
  });

  it('coerces only where the schema says so: z.coerce and trim', async () => {
    assert.deepEqual(await request('coerced', [['12', '  Bob ']]), [[{ count: 12, name: 'Bob' }], {}]);
    await refused('coerced', [['twelve', 'Bob']], 'count must be a number', [{ field: 'count', message: 'must be a number' }]);
    await refused('coerced', [[12, '   ']], 'name must not be empty', [{ field: 'name', message: 'must not be empty' }]);
    await refused('hello', [[42]], 'first_name must be a string, got number', [{ field: 'first_name', message: 'must be a string, got number' }]);
  });

  it('validates MessagePack requests the same way', async () => {
    const h = headers();
    h.set('Content-Type', 'application/msgpack');
    const before = service.handled;
    const msg = await nc.request(`${SERVICE}.hello`, encode([[7], {}]), { timeout: 5000, headers: h });
    assert.equal(msg.headers?.get('Nats-Service-Error-Code'), '400');
    assert.equal(service.handled, before);
  });

  it('keeps the details when a client reads the error', async () => {
    const client = createClient(nc, { timeoutMs: 5000 });
    try {
      await assert.rejects(client.call(`${SERVICE}.hello`, [42]), (err: unknown) => {
        assert.ok(err instanceof MeshError);
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.deepEqual(err.details, [{ field: 'first_name', message: 'must be a string, got number' }]);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('publishes the JSON Schemas, the description and the version in $SRV.INFO, for any NATS client', async () => {
    const msg = await nc.request(`$SRV.INFO.${SERVICE}`, new Uint8Array(0), { timeout: 5000 });
    const info = JSON.parse(decoder.decode(msg.data)) as {
      version: string;
      description: string;
      endpoints: { name: string; subject: string; metadata: Record<string, string> }[];
    };
    assert.equal(info.version, '1.2.0');
    assert.equal(info.description, 'declared contracts under test');
    const hello = info.endpoints.find((e) => e.name === 'hello')!;
    assert.equal(hello.subject, `${SERVICE}.hello`);
    assert.equal(hello.metadata.description, 'Greets someone by name');
    assert.equal(hello.metadata.parameters, 'first_name, last_name?');
    assert.deepEqual(JSON.parse(hello.metadata.params_schema!), {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { first_name: { type: 'string' }, last_name: { type: 'string', default: '' } },
      required: ['first_name'],
    });
    assert.deepEqual(JSON.parse(hello.metadata.result_schema!), { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'string' });
    const plain = info.endpoints.find((e) => e.name === 'plain')!;
    assert.equal(plain.metadata.parameters, 'a, b?');
    assert.equal(plain.metadata.params_schema, undefined);
    assert.equal(plain.metadata.result_schema, undefined);
  });

  it('refuses a procedure that is both variadic and declares params', () => {
    assert.throws(() => rpc({ variadic: true, params: z.object({}) })(class {}.prototype, 'both', { value: async () => {} }), /cannot be both variadic and declare params/);
  });
});
