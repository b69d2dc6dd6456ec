// thing_service's two hot statements done plainly with `pg`, for its floors: the same SQL the service sends
// (services/thing/index.ts) on a pool of the same size, rows turned into the same JSON. No ORM, no schema, no NATS.
import pg from 'pg';
import { expectThing, expectThings } from '../replies.ts';

const INSERT = 'INSERT INTO thing (name) VALUES ($1) RETURNING uuid, name, is_created_at';
const PAGE = 'SELECT uuid, name, is_created_at FROM thing ORDER BY is_created_at, uuid LIMIT $1 OFFSET $2';

interface ThingRow {
  uuid: string;
  name: string;
  is_created_at: Date;
}

const toJson = (row: ThingRow) => ({ uuid: row.uuid, name: row.name, is_created_at: row.is_created_at.toISOString() });

export interface ThingQueries {
  create(name: string): Promise<ReturnType<typeof toJson>>;
  list(limit: number, offset: number): Promise<ReturnType<typeof toJson>[]>;
  end(): Promise<void>;
}

export function thingQueries(databaseUrl: string, poolSize: number): ThingQueries {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  return {
    create: async (name) => toJson((await pool.query<ThingRow>(INSERT, [name])).rows[0]!),
    list: async (limit, offset) => (await pool.query<ThingRow>(PAGE, [limit, offset])).rows.map(toJson),
    end: () => pool.end(),
  };
}

export type ThingCallName = 'create' | 'list';

/** The calls the thing benchmarks make: the procedure, what is sent, and the check of what comes back. */
export const THING_CALLS: Record<ThingCallName, { procedure: string; args: unknown[]; kwargs: Record<string, unknown>; check(value: unknown): void }> = {
  create: { procedure: 'create_thing', args: ['bench'], kwargs: {}, check: (value) => expectThing(value, 'bench') },
  list: { procedure: 'get_things', args: [], kwargs: { limit: 100 }, check: (value) => expectThings(value, 100) },
};
