// Where a get_things(limit=100) call's cost goes, thing_service against its floor (the bench's bare nats.js responder
// doing the same SELECT with `pg` on a pool of the same size): instructions per call in the responder's or the
// caller's process (callgrind, steady heap), or µs per call by module (V8 CPU profile), IN_FLIGHT calls at a time.
// `node --import tsx bench/thing-cost.ts instructions|profile [side:kind,...]`; kinds: floor (the floor's responder
// and lean caller) or mesh (thing_service and the mesh client); sides: responder or caller, the process measured.
// It makes a database of its own on BENCH_POSTGRES_URL's server, with the bench's 1,000 rows, and drops it after.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { createClient, createLogger } from '../mesh/gateway.ts';
import { openThingDatabase } from '../services/thing/database.ts';
import { THING_CALLS } from './baselines/thing.ts';
import { leanCaller } from './baselines/lean-caller.ts';
import { counted, launch, perCall } from './callgrind.ts';
import { moduleTable, nowMicros, perModule, PROFILED } from './cpu-profile.ts';
import { BENCH_POOL_SIZE } from './workers/ipc.ts';

const WARMUP = Number(process.env.WARMUP ?? 3_000);
const CALLS = Number(process.env.CALLS ?? 2_000);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 1);
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_PAIRS = 'responder:floor,responder:mesh,caller:floor,caller:mesh';
const RESPONDER = fileURLToPath(new URL('./workers/responder.ts', import.meta.url));
const { procedure, args, kwargs, check } = THING_CALLS.list;

type Kind = 'floor' | 'mesh';
type Measured = 'instructions' | 'profile';

/** A get_things call as the bench makes it: the lean caller with JSON.parse for the floor, the mesh client for thing_service. */
function thingCaller(kind: Kind, nc: NatsConnection, subject: string): () => Promise<void> {
  if (kind === 'floor') {
    const lean = leanCaller(nc);
    const body = Buffer.from(JSON.stringify([args, kwargs]));
    return async () => check((JSON.parse(Buffer.from((await lean(subject, body)).data).toString()) as [[unknown]])[0][0]);
  }
  const client = createClient(nc, { timeoutMs: 60_000 });
  return async () => check((await client.call(subject, args, kwargs))[0][0]);
}

/** Makes `count` calls, IN_FLIGHT at a time; a wrong reply throws. */
async function thingCalls(call: () => Promise<void>, count: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent++ < count) await call();
    }),
  );
}

/** A database of the run's own on the server, migrated as thing_service migrates it, holding the bench's 1,000 rows. */
async function seededDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `thing_cost_${process.pid}`;
  const run = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  await run(POSTGRES_URL, `CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  await (await openThingDatabase({ url: url.href, dataDir: '.data', poolSize: 1 }, createLogger({ level: 'silent', format: 'json' }, 'thing-cost'))).close();
  await run(url.href, `INSERT INTO "thing" ("name") SELECT 'seed ' || n FROM generate_series(1, 1000) AS n`);
  return { url: url.href, drop: () => run(POSTGRES_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** A child's options: under callgrind or profiled, writing into `dir`, or as it is when `dir` is undefined. */
function started(how: Measured, dir: string | undefined): { execPath?: string; execArgv: string[] } {
  if (how === 'instructions' || !dir) return launch(how === 'instructions' ? dir : undefined);
  return { execArgv: ['--import', 'tsx', ...PROFILED(dir)] };
}

/** Measures one process of a kind's pair: its instructions per call, or its µs per call by module. */
async function measure(how: Measured, side: string, kind: Kind, databaseUrl: string): Promise<number | Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'thing-cost-'));
  const children: ChildProcess[] = [];
  try {
    const name = `thing_cost_${kind}_${process.pid}`;
    const responder = fork(RESPONDER, [kind === 'mesh' ? 'thing' : 'thing-floor', name, databaseUrl], started(how, side === 'responder' ? dir : undefined));
    children.push(responder);
    await once(responder, 'message');
    const subject = `${name}.${procedure}`;
    let window: [number, number];
    if (side === 'caller') {
      const caller = fork(fileURLToPath(import.meta.url), ['call', how, kind, subject], started(how, dir));
      children.push(caller);
      [window] = (await once(caller, 'message')) as [[number, number]];
      if (how === 'profile') await once(caller, 'exit');
    } else {
      const nc = await connect();
      const call = thingCaller(kind, nc, subject);
      await thingCalls(call, WARMUP);
      const from = nowMicros();
      if (how === 'instructions') await counted(responder.pid!, () => thingCalls(call, CALLS));
      else await thingCalls(call, CALLS);
      window = [from, nowMicros()];
      await nc.close();
      if (how === 'profile') {
        responder.kill('SIGTERM');
        await once(responder, 'exit');
      }
    }
    return how === 'instructions' ? perCall(dir, CALLS) : perModule(dir, window, CALLS);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

if (process.argv[2] === 'call') {
  // The caller measured, in a process of its own: it counts or profiles its calls, sends the window, and exits.
  const [, , , how, kind, subject] = process.argv as [string, string, string, Measured, Kind, string];
  const call = thingCaller(kind, await connect(), subject);
  await thingCalls(call, WARMUP);
  const from = nowMicros();
  if (how === 'instructions') await counted(process.pid, () => thingCalls(call, CALLS));
  else await thingCalls(call, CALLS);
  process.send!([from, nowMicros()]);
  if (how === 'profile') process.exit(0);
} else {
  const how = process.argv[2] as Measured;
  if (how !== 'instructions' && how !== 'profile') throw new Error('thing-cost.ts instructions|profile [side:kind,...]');
  const pairs = (process.argv[3] ?? DEFAULT_PAIRS).split(',').map((pair) => pair.split(':') as [string, Kind]);
  for (const [side, kind] of pairs) {
    if ((side !== 'caller' && side !== 'responder') || (kind !== 'floor' && kind !== 'mesh')) throw new Error(`${side}:${kind}: responder or caller, floor or mesh`);
  }
  const database = await seededDatabase();
  try {
    const what = how === 'instructions' ? 'instructions per call (callgrind)' : 'µs per call by module (V8 CPU profile)';
    process.stdout.write(`get_things(limit=100), ${what}, ${CALLS} calls at ${IN_FLIGHT} in flight after ${WARMUP}, pool of ${BENCH_POOL_SIZE}\n`);
    const profiles = new Map<string, Map<string, number>>();
    for (const [side, kind] of pairs) {
      const measured = await measure(how, side, kind, database.url);
      if (typeof measured === 'number') process.stdout.write(`${`${side}:${kind}`.padEnd(16)} ${Math.round(measured)}\n`);
      else profiles.set(`${side}:${kind}`, measured);
    }
    if (how === 'profile') process.stdout.write(`\n${moduleTable(profiles)}`);
  } finally {
    await database.drop();
  }
  process.exit(0);
}
