// thing_service: the example of a service with persistence, things kept by TypeORM in Postgres or an embedded PGlite.
// It checks arguments and shapes replies; where the data lives and how faults are told apart is in database.ts.
import { MeshError, rpc, type ProcessContext } from '../../mesh/index.ts';
import { parseLimit, parseName, parseOffset, parseUuid } from './arguments.ts';
import { databaseFingerprint, openThingDatabase, type ThingDatabase } from './database.ts';
import { thingToJson, type Thing, type ThingJson } from './thing.ts';

const COLUMNS = ['uuid', 'name', 'is_created_at'];

export default class ThingService {
  name = 'thing_service';
  private readonly context: ProcessContext;
  private database: ThingDatabase | undefined;

  constructor(context: ProcessContext) {
    this.context = context;
  }

  /** Which database this instance serves (fingerprint.ts): instances on different ones refuse to share requests. */
  get fingerprint(): string {
    return databaseFingerprint(this.context.config.database);
  }

  async onStart() {
    this.database = await openThingDatabase(this.context.config.database, this.context.logger);
  }

  async onStop() {
    await this.database?.close();
  }

  @rpc
  async create_thing(name: string): Promise<ThingJson> {
    const values = { name: parseName(name) };
    const inserted = await this.db().use((things) => things.createQueryBuilder().insert().values(values).returning(COLUMNS).execute());
    return thingToJson(inserted.raw[0] as Thing);
  }

  @rpc
  async get_things(limit = 100, offset = 0): Promise<ThingJson[]> {
    const take = parseLimit(limit);
    const skip = parseOffset(offset);
    const found = await this.db().use((things) => things.find({ order: { is_created_at: 'ASC', uuid: 'ASC' }, take, skip }));
    return found.map(thingToJson);
  }

  @rpc
  async get_thing(uuid: string): Promise<ThingJson> {
    const id = parseUuid(uuid);
    const found = await this.db().use((things) => things.findOneBy({ uuid: id }));
    if (!found) throw notFound(id);
    return thingToJson(found);
  }

  /** Deletes the thing and answers it as it was. */
  @rpc
  async delete_thing(uuid: string): Promise<ThingJson> {
    const id = parseUuid(uuid);
    const deleted = await this.db().use((things) =>
      things.createQueryBuilder().delete().where('uuid = :id', { id }).returning(COLUMNS).execute(),
    );
    const row = (deleted.raw as Thing[])[0];
    if (!row) throw notFound(id);
    return thingToJson(row);
  }

  private db(): ThingDatabase {
    if (!this.database) throw new MeshError('UNAVAILABLE', 'thing_service has not started');
    return this.database;
  }
}

function notFound(uuid: string): MeshError {
  return new MeshError('NOT_FOUND', `no thing with uuid ${uuid}`);
}
