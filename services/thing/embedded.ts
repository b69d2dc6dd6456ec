// The embedded database: PGlite (Postgres compiled to WebAssembly) in this process, kept in a folder and served
// over the Postgres wire protocol on a private unix socket, so TypeORM talks to it with the same `pg` driver.
// PGlite has a single session: the socket server takes one connection at a time, so callers pool exactly one.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { takePidLock } from './pid-lock.ts';

/** How to reach an embedded database with node-postgres: a socket folder and the port in the socket's name. */
export interface EmbeddedPostgres {
  readonly dataDir: string;
  readonly socketDir: string;
  readonly port: number;
  stop(): Promise<void>;
}

const SOCKET_PORT = 5432;

/** Opens (or creates) the database in `dataDir` and serves it until `stop`. */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const folder = resolve(dataDir);
  mkdirSync(folder, { recursive: true });
  const lock = takePidLock(join(folder, 'owner.pid'), `the embedded database in ${folder}`);
  const socketDir = mkdtempSync(join(tmpdir(), 'thing-pg-'));
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  const stop = async () => {
    try {
      await server?.stop();
      await db?.close();
    } finally {
      rmSync(socketDir, { recursive: true, force: true });
      lock.release();
    }
  };
  try {
    db = await PGlite.create(join(folder, 'postgres'));
    server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`), maxConnections: 1 });
    await server.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { dataDir: folder, socketDir, port: SOCKET_PORT, stop };
}
