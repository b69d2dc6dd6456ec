// thing_service's database: TypeORM on Postgres at database.url, or on the embedded PGlite when there is none.
// It migrates at start under an advisory lock, reconnects by itself, and answers UNAVAILABLE while it cannot reach
// the database; it knows nothing about procedures or arguments.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import { DataSource, MigrationExecutor, type DataSourceOptions } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { MeshError, type Logger, type Provider } from '../../mesh/index.ts';
import { databaseSettings, type DatabaseSettings } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { databaseFault, isDatabaseUnavailable } from './faults.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { Thing } from './thing.ts';

export interface ThingDatabase {
  /** Runs one statement and answers its rows; an unreachable database becomes a MeshError UNAVAILABLE. */
  query<Row>(sql: string, parameters: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** How long a new connection to a real Postgres may take, and so how long a call waits for a free one. */
const CONNECT_TIMEOUT_MS = 5000;
/** Waits between attempts to connect while the database is unreachable at start. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 5000];
/** The advisory lock (two int4 keys) that makes instances starting together run migrations one at a time. */
const MIGRATION_LOCK = [0x7468696e, 0x67] as const;

/** Where to connect: a postgres:// URL, or the embedded database. */
type Target = { url: string; poolSize: number } | EmbeddedPostgres;

function dataSourceOptions(target: Target, logger: Logger): DataSourceOptions {
  // The embedded server takes one connection and lives in this process: one pooled client, kept open, and no
  // connect timeout, since a call waits there for its turn rather than for a network.
  const connection =
    'url' in target
      ? { url: target.url, poolSize: target.poolSize, connectTimeoutMS: CONNECT_TIMEOUT_MS }
      : { host: target.socketDir, port: target.port, username: 'postgres', database: 'postgres', poolSize: 1, extra: { idleTimeoutMillis: 0 } };
  return {
    type: 'postgres',
    ...connection,
    applicationName: 'thing_service',
    entities: [Thing],
    migrations: MIGRATIONS,
    migrationsTableName: 'thing_migrations',
    synchronize: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    logging: false,
    poolErrorHandler: (err: unknown) => logger.warn({ err }, 'an idle database connection failed'),
  };
}

async function migrate(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'all';
    await executor.executePendingMigrations();
    await runner.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]);
  } finally {
    // Releasing the connection also ends the lock if an error skipped the unlock.
    await runner.release();
  }
}

/**
 * The `pg` pool TypeORM opened, for the statements of the calls: pg's pool.query checks a connection out, runs the
 * statement and releases it in pg's own callback. TypeORM's query() (a query runner per call) awaits the statement
 * and releases after, and so does `await pool.connect()` with pg alone: each call's garbage then outlived the next
 * young-generation collection and was promoted, so every scavenge took 10 to 25 ms instead of under 1 ms
 * (`--trace-gc`, get_things(limit=100) at 1 in flight; docs/performance.md).
 */
function poolOf(dataSource: DataSource): pg.Pool {
  return (dataSource.driver as PostgresDriver).master as pg.Pool;
}

async function connectAndMigrate(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  try {
    await migrate(dataSource);
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}

/** The database as a dependency of thing_service: opened before its first request, closed after its last. */
export const thingDatabase: Provider<ThingDatabase> = {
  name: 'the thing database',
  open: ({ config, logger }) => openThingDatabase(databaseSettings.of(config), logger),
  close: (database) => database.close(),
};

/**
 * Opens the database and runs pending migrations. If Postgres cannot be reached yet, it still returns and keeps
 * trying in the background; any other failure (a wrong password, a migration that fails) throws.
 */
export async function openThingDatabase(settings: DatabaseSettings, logger: Logger): Promise<ThingDatabase> {
  const target: Target = settings.url ? { url: settings.url, poolSize: settings.poolSize } : await startEmbeddedPostgres(join(settings.dataDir, 'thing'));
  const embedded = 'url' in target ? undefined : target;
  if (embedded) logger.info({ dataDir: embedded.dataDir }, 'embedded database open');
  const options = dataSourceOptions(target, logger);
  let dataSource: DataSource | undefined;
  let pool: pg.Pool | undefined;
  let retry: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let reachable = true;

  const connect = async (attempt: number): Promise<void> => {
    try {
      const opened = await connectAndMigrate(options);
      if (closed) return void (await opened.destroy());
      dataSource = opened;
      pool = poolOf(opened);
      logger.info({ embedded: Boolean(embedded) }, 'database ready');
    } catch (err) {
      if (closed) return;
      if (attempt === 0 && !isDatabaseUnavailable(err)) throw err;
      const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
      logger.warn({ err, retryInMs: delay }, 'cannot open the database yet');
      retry = setTimeout(() => {
        connecting = connect(attempt + 1);
      }, delay);
    }
  };

  try {
    await connect(0);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }

  return {
    async query<Row>(sql: string, parameters: unknown[]): Promise<Row[]> {
      if (!pool) throw new MeshError('UNAVAILABLE', 'the database is not reachable yet, try again later');
      try {
        const { rows } = await pool.query(sql, parameters);
        if (!reachable) logger.info('database reachable again');
        reachable = true;
        return rows as Row[];
      } catch (err) {
        const fault = databaseFault(err);
        if (fault instanceof MeshError && fault.code === 'UNAVAILABLE' && reachable) {
          reachable = false;
          logger.warn({ err }, 'database unreachable');
        }
        throw fault;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      await connecting;
      try {
        await dataSource?.destroy();
      } finally {
        await embedded?.stop();
      }
    },
  };
}

/**
 * A short hash naming the database a configuration points at, never its password: host, port and database of
 * DATABASE_URL, or this machine and the absolute path of the embedded data directory.
 */
export function databaseFingerprint(settings: DatabaseSettings): string {
  let identity: string;
  if (settings.url) {
    const url = new URL(settings.url);
    identity = `postgres://${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } else {
    identity = `embedded://${hostname()}${resolve(settings.dataDir)}`;
  }
  return createHash('sha256').update(identity).digest('hex').slice(0, 16);
}
