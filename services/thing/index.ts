// thing_service: the example of a service with persistence, things kept by TypeORM in Postgres or an embedded PGlite.
// Its arguments are declared (arguments.ts) and checked by the host; where the data lives and how faults are told apart is in database.ts.
import { MeshError, rpc, z, type ProcessContext } from '../../mesh/index.ts';
import { createThingParams, getThingsParams, thingJson, uuidParams } from './arguments.ts';
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

  @rpc({ params: createThingParams, result: thingJson, description: 'Creates a thing; the database sets its uuid and creation time' })
  async create_thing(name: string): Promise<ThingJson> {
    const values = { name };
    const inserted = await this.db().use((things) => things.createQueryBuilder().insert().values(values).returning(COLUMNS).execute());
    return thingToJson(inserted.raw[0] as Thing);
  }

  @rpc({ params: getThingsParams, result: z.array(thingJson), description: 'Lists things, oldest first' })
  async get_things(take: number, skip: number): Promise<ThingJson[]> {
    const found = await this.db().use((things) => things.find({ order: { is_created_at: 'ASC', uuid: 'ASC' }, take, skip }));
    return found.map(thingToJson);
  }

  @rpc({ params: uuidParams, result: thingJson, description: 'One thing by its uuid' })
  async get_thing(id: string): Promise<ThingJson> {
    const found = await this.db().use((things) => things.findOneBy({ uuid: id }));
    if (!found) throw notFound(id);
    return thingToJson(found);
  }

  @rpc({ params: uuidParams, result: thingJson, description: 'Deletes a thing and answers it as it was' })
  async delete_thing(id: string): Promise<ThingJson> {
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
