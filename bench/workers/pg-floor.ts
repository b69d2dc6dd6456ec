// The database floor for thing_service, in its own process: the same INSERT and SELECT the service makes,
// done with `pg` directly on a pool of the same size, no NATS and no ORM in between.
import pg from 'pg';
import { measureLoop } from '../loop.ts';
import { serve } from './ipc.ts';

const [databaseUrl, poolSize] = process.argv.slice(2) as [string, string];
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolSize) });
const json = (row: { uuid: string; name: string; is_created_at: Date }) => ({ uuid: row.uuid, name: row.name, is_created_at: row.is_created_at.toISOString() });

const queries = {
  create: async () => json((await pool.query('INSERT INTO "thing" ("name") VALUES ($1) RETURNING "uuid", "name", "is_created_at"', ['bench'])).rows[0]),
  list: async () =>
    (await pool.query('SELECT "uuid", "name", "is_created_at" FROM "thing" ORDER BY "is_created_at" ASC, "uuid" ASC LIMIT 100 OFFSET 0')).rows.map(json),
};

serve({}, async (message) => {
  const { query, inflight, durationMs } = message as { query: keyof typeof queries; inflight: number; durationMs: number };
  return measureLoop(queries[query], inflight, durationMs);
}, () => pool.end());
