// Database fixtures for tests: a database of its own on the machine's Postgres, dropped after, a whole Postgres
// a test owns (initdb + pg_ctl on a free port) that it can stop and start again, and a thing_service data folder.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './helpers.ts';

const run = promisify(execFile);

/** The machine's Postgres (trust auth); TEST_POSTGRES_URL to change it. */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of its own on the machine's Postgres, created empty; `drop` removes it and ends its connections. */
export class TestDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  static async create(prefix = 'thing_test'): Promise<TestDatabase> {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    await adminQuery(POSTGRES_URL, `CREATE DATABASE "${name}"`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    return new TestDatabase(name, url.href);
  }

  async drop(): Promise<void> {
    await adminQuery(POSTGRES_URL, `DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
  }
}

/** Runs statements on one short-lived connection and answers the rows of the last one. */
export async function adminQuery(url: string, ...statements: string[]): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const statement of statements) rows = (await client.query(statement)).rows as Record<string, unknown>[];
    return rows;
  } finally {
    await client.end();
  }
}

/** A Postgres program: from PATH, else from Debian's /usr/lib/postgresql/<version>/bin. */
function postgresProgram(name: string): string {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder && existsSync(join(folder, name))) return join(folder, name);
  }
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const path = join('/usr/lib/postgresql', version, 'bin', name);
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} is not on PATH nor in /usr/lib/postgresql/*/bin`);
}

/** Postgres refuses to run as root: as root, run its programs as the `postgres` user. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(group.trim()) };
}

/** A Postgres this test owns, on a free port with its own data folder, that it can stop and start again. */
export class OwnPostgres {
  private constructor(
    private readonly folder: string,
    private readonly user: { uid: number; gid: number } | undefined,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<OwnPostgres> {
    const folder = mkdtempSync(join(tmpdir(), 'mesh-pg-'));
    const user = await postgresUser();
    if (user) chownSync(folder, user.uid, user.gid);
    const server = new OwnPostgres(folder, user, await freePort());
    await server.pg('initdb', ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await server.restart();
    return server;
  }

  private get dataDir(): string {
    return join(this.folder, 'data');
  }

  private async pg(program: string, args: string[]): Promise<void> {
    await run(postgresProgram(program), args, { cwd: this.folder, ...this.user });
  }

  async restart(): Promise<void> {
    const options = `-p ${this.port} -k ${this.folder} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await this.pg('pg_ctl', ['start', '-w', '-D', this.dataDir, '-l', join(this.folder, 'log'), '-o', options]);
  }

  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', this.dataDir]);
  }

  /** Stops the server if it runs and deletes its folder. */
  async remove(): Promise<void> {
    await this.stop().catch(() => undefined); // already stopped: nothing to stop
    rmSync(this.folder, { recursive: true, force: true });
  }
}

/** PGlite's version: the key of the embedded cluster the test runs share. */
const PGLITE_VERSION = (JSON.parse(readFileSync(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * A new data folder (`database.dataDir`, `DATA_DIR`) for a test where thing_service runs beside what it checks: its
 * embedded database is already created, empty, its migrations not run. Creating a PGlite cluster runs initdb in
 * WebAssembly (10 s of CPU); so it is created once per PGlite version, kept in the temporary folder, and copied
 * (about 1 s). The tests of the embedded database itself (test/services/thing.test.ts) start from an empty folder.
 */
export async function thingDataDir(prefix: string): Promise<string> {
  const cluster = join(tmpdir(), `nats-mesh-test-pglite-${PGLITE_VERSION}`);
  if (!existsSync(cluster)) {
    const { PGlite } = await import('@electric-sql/pglite');
    const fresh = mkdtempSync(`${cluster}-`);
    await (await PGlite.create(fresh)).close();
    try {
      renameSync(fresh, cluster);
    } catch {
      // another test file made it first: theirs is the same
      rmSync(fresh, { recursive: true, force: true });
    }
  }
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  // thing_service keeps its embedded database in <dataDir>/thing/postgres (services/thing/embedded.ts)
  cpSync(cluster, join(dataDir, 'thing', 'postgres'), { recursive: true });
  return dataDir;
}
