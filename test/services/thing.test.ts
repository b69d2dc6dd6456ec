// thing_service through gateway-http, as a user calls it, on both databases it runs on: a database of its own
// on the machine's Postgres, and the embedded PGlite in a folder of its own. Each suite starts from nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { start } from '../../gateway-http/index.ts';
import { hostService, type HostedService, type MeshConfig } from '../../mesh/gateway.ts';
import ThingService from '../../services/thing/index.ts';
import { startEmbeddedPostgres } from '../../services/thing/embedded.ts';
import { Thing } from '../../services/thing/thing.ts';
import { TestDatabase } from '../databases.ts';
import { silentLogger, testConfig, uniqueName, withoutErrorId } from '../helpers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ThingJson {
  uuid: string;
  name: string;
  is_created_at: string;
}

interface ErrorJson {
  error: { code: string; message: string; status: number };
}

/** thing_service under a name of its own, so suites running side by side never share a queue group. */
function thingService(name: string) {
  return class extends ThingService {
    override name = name;
  };
}

/** What a fresh database is for a suite: settings for thing_service, a way to look at its schema, and cleanup. */
interface Backend {
  config: MeshConfig;
  /** Connection options to read the schema with; only valid while no service holds the database. */
  openForInspection(): Promise<{ options: Partial<DataSourceOptions>; close(): Promise<void> }>;
  remove(): Promise<void>;
}

async function postgresBackend(): Promise<Backend & { database: TestDatabase }> {
  const database = await TestDatabase.create();
  return {
    database,
    config: testConfig({ 'database.url': database.url }),
    openForInspection: async () => ({ options: { url: database.url }, close: async () => undefined }),
    remove: () => database.drop(),
  };
}

async function embeddedBackend(): Promise<Backend & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'thing-data-'));
  return {
    dataDir,
    config: testConfig({ 'database.dataDir': dataDir }),
    async openForInspection() {
      const embedded = await startEmbeddedPostgres(join(dataDir, 'thing'));
      const options = { host: embedded.socketDir, port: embedded.port, username: 'postgres', database: 'postgres', poolSize: 1 };
      return { options, close: () => embedded.stop() };
    },
    remove: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** The migrations a database has run, and what TypeORM would still change to make it match the entity. */
async function inspectSchema(backend: Backend): Promise<{ migrations: string[]; drift: string[] }> {
  const target = await backend.openForInspection();
  const dataSource = new DataSource({ ...target.options, type: 'postgres', entities: [Thing], installExtensions: false, uuidExtension: 'pgcrypto' } as DataSourceOptions);
  try {
    await dataSource.initialize();
    const rows = (await dataSource.query('SELECT name FROM thing_migrations ORDER BY id')) as { name: string }[];
    const drift = (await dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
    return { migrations: rows.map((r) => r.name), drift };
  } finally {
    await dataSource.destroy();
    await target.close();
  }
}

async function post(url: string, body?: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
}

function behaviour(label: string, makeBackend: () => Promise<Backend>) {
  describe(`thing_service on ${label}`, () => {
    const SERVICE = uniqueName('thing');
    const Things = thingService(SERVICE);
    let backend: Backend;
    let nc: NatsConnection;
    let hosted: HostedService;
    let gateway: Awaited<ReturnType<typeof start>>;

    const call = (procedure: string, body?: string) => post(`${gateway.url}/${SERVICE}.${procedure}`, body);

    async function ok<T>(procedure: string, body?: string): Promise<T> {
      const res = await call(procedure, body);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const [[value], kwargs] = res.json as [[T], object];
      assert.deepEqual(kwargs, {});
      return value;
    }

    async function allThings(): Promise<ThingJson[]> {
      const things: ThingJson[] = [];
      for (;;) {
        const page = await ok<ThingJson[]>('get_things', JSON.stringify([[], { limit: 1000, offset: things.length }]));
        things.push(...page);
        if (page.length < 1000) return things;
      }
    }

    const create = (name: string) => ok<ThingJson>('create_thing', JSON.stringify([[], { name }]));

    before(async () => {
      backend = await makeBackend();
      nc = await connect({ servers: backend.config.nats.url });
      hosted = await hostService(new Things({ config: backend.config, logger: silentLogger }), { nc, logger: silentLogger, config: backend.config });
      gateway = await start({ config: backend.config, logger: silentLogger });
    });

    after(async () => {
      try {
        await gateway?.stop();
        await hosted?.stop();
        await nc?.drain();
      } finally {
        await backend?.remove();
      }
    });

    it('creates a thing as the README\'s curl does: [[], {"name": "Alice"}]', async () => {
      const res = await call('create_thing', '[[], {"name": "Alice"}]');
      assert.equal(res.status, 200);
      const [[thing], kwargs] = res.json as [[ThingJson], object];
      assert.deepEqual(kwargs, {});
      assert.deepEqual(Object.keys(thing), ['uuid', 'name', 'is_created_at']);
      assert.match(thing.uuid, UUID);
      assert.equal(thing.name, 'Alice');
      assert.equal(new Date(thing.is_created_at).toISOString(), thing.is_created_at);
      assert.deepEqual(await ok('get_thing', JSON.stringify([[thing.uuid]])), thing);
    });

    it('trims names and takes up to 255 characters, counted as Postgres counts them', async () => {
      assert.equal((await create('  Bob \n')).name, 'Bob');
      assert.equal((await create('x'.repeat(255))).name.length, 255);
      const emoji = '\u{1F600}'.repeat(255);
      assert.equal((await create(emoji)).name, emoji);
    });

    it('lists things oldest first with no body, and pages by limit and offset', async () => {
      const made = [];
      for (const name of ['first', 'second', 'third']) made.push(await create(name));
      const res = await call('get_things');
      assert.equal(res.status, 200);
      const [[listed]] = res.json as [[ThingJson[]]];
      assert.deepEqual(listed.slice(-3), made);
      const times = listed.map((t) => t.is_created_at);
      assert.deepEqual(times, [...times].sort());
      const total = listed.length;
      assert.deepEqual(await ok('get_things', JSON.stringify([[2, total - 3]])), made.slice(0, 2));
      assert.deepEqual(await ok('get_things', JSON.stringify([[], { offset: total - 1 }])), made.slice(2));
      assert.deepEqual(await ok('get_things', JSON.stringify([[], { offset: total }])), []);
    });

    it('gets and deletes a thing by uuid; once deleted it is NOT_FOUND', async () => {
      const thing = await create('short-lived');
      assert.deepEqual(await ok('get_thing', JSON.stringify([[], { uuid: thing.uuid }])), thing);
      assert.deepEqual(await ok('delete_thing', JSON.stringify([[thing.uuid]])), thing);
      for (const procedure of ['get_thing', 'delete_thing']) {
        const res = await call(procedure, JSON.stringify([[thing.uuid]]));
        assert.deepEqual({ ...res, json: withoutErrorId(res.json) }, { status: 404, json: { error: { code: 'NOT_FOUND', message: `no thing with uuid ${thing.uuid}`, status: 404 } } });
      }
      assert.ok(!(await allThings()).some((t) => t.uuid === thing.uuid));
    });

    it('answers NOT_FOUND for an unknown uuid and INVALID_ARGUMENT for a malformed one', async () => {
      const unknown = '123e4567-e89b-12d3-a456-426614174000';
      for (const procedure of ['get_thing', 'delete_thing']) {
        const res = await call(procedure, JSON.stringify([[unknown]]));
        assert.equal(res.status, 404);
        assert.equal((res.json as ErrorJson).error.code, 'NOT_FOUND');
        for (const bad of ['nope', '123e4567-e89b-12d3-a456-42661417400', `${unknown}0`, 42, null, '']) {
          const malformed = await call(procedure, JSON.stringify([[bad]]));
          assert.equal(malformed.status, 400, `${procedure} ${JSON.stringify(bad)}`);
          assert.deepEqual((withoutErrorId(malformed.json) as ErrorJson).error, {
            code: 'INVALID_ARGUMENT',
            message: 'uuid must be a UUID such as 123e4567-e89b-12d3-a456-426614174000',
            status: 400,
            details: [{ field: 'uuid', message: 'must be a UUID such as 123e4567-e89b-12d3-a456-426614174000' }],
          });
        }
      }
    });

    it('answers INVALID_ARGUMENT naming the field for every bad argument, and writes nothing', async () => {
      const before = (await allThings()).length;
      const cases: [string, string, string][] = [
        ['create_thing', '[[], {}]', 'name is required'],
        ['create_thing', '[]', 'name is required'],
        ['create_thing', '[[], {"name": ""}]', 'name must not be empty'],
        ['create_thing', '[[], {"name": "  \\t "}]', 'name must not be empty'],
        ['create_thing', '[[], {"name": 42}]', 'name must be a string'],
        ['create_thing', '[[], {"name": null}]', 'name must be a string'],
        ['create_thing', '[[], {"name": ["Alice"]}]', 'name must be a string'],
        ['create_thing', JSON.stringify([[], { name: 'x'.repeat(256) }]), 'name must be at most 255 characters'],
        ['create_thing', JSON.stringify([[], { name: 'a\u0000b' }]), 'name must not contain NUL characters'],
        ['create_thing', '[[], {"name": "Alice", "colour": "red"}]', `${SERVICE}.create_thing got an unknown keyword argument 'colour'`],
        ['create_thing', '[["Alice", "Bob"]]', `${SERVICE}.create_thing takes at most 1 positional argument, got 2`],
        ['get_things', '[[], {"page": 2}]', `${SERVICE}.get_things got an unknown keyword argument 'page'`],
        ['get_thing', '[[], {}]', 'uuid is required'],
        ['delete_thing', '[[], {"id": "x"}]', `${SERVICE}.delete_thing got an unknown keyword argument 'id'`],
      ];
      for (const limit of [-1, 0, 1001, 1e12, 1.5, '10', null, true]) {
        cases.push(['get_things', JSON.stringify([[], { limit }]), 'limit must be an integer from 1 to 1000']);
      }
      for (const offset of [-1, 0.5, '0', null, 2 ** 53]) {
        cases.push(['get_things', JSON.stringify([[], { offset }]), 'offset must be an integer from 0']);
      }
      for (const [procedure, body, message] of cases) {
        const res = await call(procedure, body);
        // A schema's refusal names its field in details ("name must not be empty": field name); the binder's has none.
        const [field, ...rest] = message.split(' ');
        const details = message.startsWith(SERVICE) ? {} : { details: [{ field, message: rest.join(' ') }] };
        assert.deepEqual({ ...res, json: withoutErrorId(res.json) }, { status: 400, json: { error: { code: 'INVALID_ARGUMENT', message, status: 400, ...details } } }, `${procedure} ${body}`);
      }
      assert.equal((await allThings()).length, before);
    });

    it('creates exactly 1000 things from 1000 concurrent calls through the gateway', async () => {
      const before = new Set((await allThings()).map((t) => t.uuid));
      const names = Array.from({ length: 1000 }, (_, i) => `concurrent ${i}`);
      const replies = await Promise.all(names.map((name) => call('create_thing', JSON.stringify([[name]]))));
      assert.deepEqual(
        replies.filter((r) => r.status !== 200),
        [],
      );
      const created = replies.map((r) => (r.json as [[ThingJson]])[0][0]);
      assert.deepEqual(created.map((t) => t.name).sort(), [...names].sort());
      assert.equal(new Set(created.map((t) => t.uuid)).size, 1000);
      const after = await allThings();
      assert.equal(after.length, before.size + 1000);
      const added = after.filter((t) => !before.has(t.uuid));
      assert.deepEqual(added.map((t) => t.uuid).sort(), created.map((t) => t.uuid).sort());
    });

    it('keeps its data over a restart, in a schema made by the migrations alone', async () => {
      const kept = await create('survivor');
      const count = (await allThings()).length;
      await hosted.stop();
      assert.deepEqual(await inspectSchema(backend), { migrations: ['CreateThing1763900000000'], drift: [] });
      hosted = await hostService(new Things({ config: backend.config, logger: silentLogger }), { nc, logger: silentLogger, config: backend.config });
      assert.deepEqual(await ok('get_thing', JSON.stringify([[kept.uuid]])), kept);
      assert.equal((await allThings()).length, count);
    });
  });
}

behaviour("the machine's Postgres", postgresBackend);
behaviour('the embedded PGlite', embeddedBackend);

describe('thing_service instances', () => {
  it('starting together on an empty Postgres, migrate it once and both serve', async () => {
    const backend = await postgresBackend();
    const nc = await connect({ servers: backend.config.nats.url });
    const Things = thingService(uniqueName('thing'));
    try {
      const both = await Promise.allSettled([1, 2].map(() => hostService(new Things({ config: backend.config, logger: silentLogger }), { nc, logger: silentLogger, config: backend.config })));
      await Promise.all(both.map((h) => h.status === 'fulfilled' && h.value.stop()));
      assert.deepEqual(
        both.filter((h) => h.status === 'rejected'),
        [],
      );
      assert.deepEqual(await inspectSchema(backend), { migrations: ['CreateThing1763900000000'], drift: [] });
    } finally {
      await nc.drain();
      await backend.remove();
    }
  });

  it('refuse to share one embedded data folder, which would corrupt it', async () => {
    const backend = await embeddedBackend();
    const nc = await connect({ servers: backend.config.nats.url });
    const Things = thingService(uniqueName('thing'));
    try {
      const first = await hostService(new Things({ config: backend.config, logger: silentLogger }), { nc, logger: silentLogger, config: backend.config });
      await assert.rejects(hostService(new Things({ config: backend.config, logger: silentLogger }), { nc, logger: silentLogger, config: backend.config }), {
        message: new RegExp(`the embedded database in ${backend.dataDir}/thing is in use by process ${process.pid}`),
      });
      await first.stop();
      const again = await hostService(new Things({ config: backend.config, logger: silentLogger }), { nc, logger: silentLogger, config: backend.config });
      await again.stop();
    } finally {
      await nc.drain();
      await backend.remove();
    }
  });
});
