// thing_service: the example of a service with persistence, things kept by TypeORM in Postgres or an embedded PGlite.
// Its arguments are declared (arguments.ts) and checked by the host; its database is a dependency the host opens
// and closes (database.ts says where the data lives and how faults are told apart).
import { enqueueFrom, MeshError, provide, rpc, z, type ProcessContext } from '../../mesh/index.ts';
import { createThingParams, getThingsParams, thingJson, uuidParams } from './arguments.ts';
import { databaseSettings } from './config.ts';
import { databaseFingerprint, thingDatabase } from './database.ts';
import { thingToJson, type Thing, type ThingJson } from './thing.ts';

/** Its section of the configuration (`database.*`), for `mesh config` to show. */
export { databaseSettings as settings };

/**
 * The statements of the hot paths, written once: TypeORM's repository and query builder build the same SQL on
 * every call and hydrate entities, about 100 µs more per get_things(100) and more per insert (measured, docs/thing-service.md).
 */
const SQL = {
  insert: 'INSERT INTO thing (name) VALUES ($1) RETURNING uuid, name, is_created_at',
  page: 'SELECT uuid, name, is_created_at FROM thing ORDER BY is_created_at, uuid LIMIT $1 OFFSET $2',
  one: 'SELECT uuid, name, is_created_at FROM thing WHERE uuid = $1',
  delete: 'DELETE FROM thing WHERE uuid = $1 RETURNING uuid, name, is_created_at',
} as const;

export default class ThingService {
  name = 'thing_service';
  /** create_thing's welcome mail: its NATS user may publish this task's subject and read its status. */
  enqueues = ['mailer.send_email'];
  /** Opened by the host before the first request, closed after the last; a test may assign a fake instead. */
  database = provide(thingDatabase);
  private readonly context: ProcessContext;

  constructor(context: ProcessContext) {
    this.context = context;
  }

  /** Which database this instance serves (fingerprint.ts): instances on different ones refuse to share requests. */
  get fingerprint(): string {
    return databaseFingerprint(databaseSettings.of(this.context.config));
  }

  @rpc({ params: createThingParams, result: thingJson, description: 'Creates a thing; the database sets its uuid and creation time' })
  async create_thing(name: string): Promise<ThingJson> {
    const [inserted] = await this.database.query<Thing>(SQL.insert, [name]);
    const thing = thingToJson(inserted!);
    await this.sendWelcome(thing);
    return thing;
  }

  /** Enqueues a welcome mail (mailer.send_email) and goes on; without a mailer the thing is made all the same. */
  private async sendWelcome(thing: ThingJson): Promise<void> {
    const mail = { to: 'owner@example.com', subject: `Welcome, ${thing.name}`, body: `Your thing ${thing.uuid} is ready.` };
    await enqueueFrom(this, 'mailer.send_email', [], mail).catch((err: unknown) => this.context.logger.warn({ err, thing: thing.uuid }, 'could not enqueue the welcome mail'));
  }

  @rpc({ params: getThingsParams, result: z.array(thingJson), description: 'Lists things, oldest first', http: { get: '/things' } })
  async get_things(take: number, skip: number): Promise<ThingJson[]> {
    const found = await this.database.query<Thing>(SQL.page, [take, skip]);
    return found.map(thingToJson);
  }

  @rpc({ params: uuidParams, result: thingJson, description: 'One thing by its uuid', http: { get: '/things/:uuid' } })
  async get_thing(id: string): Promise<ThingJson> {
    const [found] = await this.database.query<Thing>(SQL.one, [id]);
    if (!found) throw notFound(id);
    return thingToJson(found);
  }

  @rpc({ params: uuidParams, result: thingJson, description: 'Deletes a thing and answers it as it was' })
  async delete_thing(id: string): Promise<ThingJson> {
    const [deleted] = await this.database.query<Thing>(SQL.delete, [id]);
    if (!deleted) throw notFound(id);
    return thingToJson(deleted);
  }
}

function notFound(uuid: string): MeshError {
  return new MeshError('NOT_FOUND', `no thing with uuid ${uuid}`);
}
