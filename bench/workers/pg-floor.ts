// The in-process database reference for thing_service, in its own process: the same INSERT and SELECT the service
// makes, done with `pg` directly on a pool of the same size, no NATS and no ORM in between; each result checked.
import { THING_CALLS, thingQueries, type ThingCallName } from '../baselines/thing.ts';
import { measureLoop } from '../loop.ts';
import { serve } from './ipc.ts';

const [databaseUrl, poolSize] = process.argv.slice(2) as [string, string];
const queries = thingQueries(databaseUrl, Number(poolSize));

const calls: Record<ThingCallName, () => Promise<void>> = {
  create: async () => THING_CALLS.create.check(await queries.create('bench')),
  list: async () => THING_CALLS.list.check(await queries.list(100, 0)),
};

serve(
  {},
  async (message) => {
    const { query, inflight, durationMs } = message as { query: ThingCallName; inflight: number; durationMs: number };
    return measureLoop(calls[query], inflight, durationMs);
  },
  () => queries.end(),
);
