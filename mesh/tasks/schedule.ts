// When a scheduled @task is due: `every` (an interval, ticks at its multiples since the epoch, so every instance
// agrees) or `cron` (croner's five or six fields), and what a restart does about ticks nobody ran. Time only: the
// host enqueues each tick under a key made from the task and the tick, so of all instances' tries one lands.
import { Cron } from 'croner';
import { ConfigError } from '../process/config.ts';

/** skip: ticks missed while no instance ran are not run; once: the last one missed is run once at start. */
export type MissedTicks = 'skip' | 'once';

export interface ScheduleOptions {
  /** An interval: `'30s'`, `'5m'`, `'1h'`, `'1d'`, `'500ms'`, or a number of ms; at least 1 second. */
  every?: string | number;
  /** A cron expression (`'*\/5 * * * *'`; six fields for seconds), in UTC. */
  cron?: string;
  /** What happens to ticks missed while no instance ran: `'skip'` (the default) or `'once'`. */
  missed?: MissedTicks;
}

export interface Schedule {
  /** The next tick strictly after `after` (ms since the epoch). */
  next(after: number): number | undefined;
  /** The last tick at or before `at`. */
  previous(at: number): number | undefined;
  readonly missed: MissedTicks;
  /** As declared, for messages: `every 5m`, `cron 0 * * * *`. */
  readonly text: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const INTERVAL = /^(\d+)(ms|s|m|h|d)$/;
/** Ticks closer than this would outrun the work stream's dedupe of the instances' tries. */
const MIN_INTERVAL_MS = 1_000;

function intervalMs(where: string, every: unknown): number {
  const match = typeof every === 'string' ? INTERVAL.exec(every) : null;
  const ms = typeof every === 'number' ? every : match ? Number(match[1]) * UNITS[match[2]!]! : NaN;
  if (!Number.isSafeInteger(ms) || ms < MIN_INTERVAL_MS) {
    throw new ConfigError(`${where}: every: ${JSON.stringify(every)} is not an interval of at least 1 s (a whole number of ms, or a number with ms, s, m, h or d: '30s', '5m')`);
  }
  return ms;
}

function everySchedule(ms: number, missed: MissedTicks, text: string): Schedule {
  return { next: (after) => (Math.floor(after / ms) + 1) * ms, previous: (at) => Math.floor(at / ms) * ms, missed, text };
}

function cronSchedule(where: string, pattern: string, missed: MissedTicks): Schedule {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, timezone: 'Etc/UTC' });
  } catch (err) {
    throw new ConfigError(`${where}: cron: ${JSON.stringify(pattern)} is not a cron expression: ${(err as Error).message}`, { cause: err });
  }
  if (!cron.nextRun()) throw new ConfigError(`${where}: cron: ${JSON.stringify(pattern)} never fires`);
  return {
    next: (after) => cron.nextRun(new Date(after))?.getTime(),
    previous: (at) => cron.previousRuns(1, new Date(at + 1))[0]?.getTime(),
    missed,
    text: `cron ${pattern}`,
  };
}

/** The schedule `@task` declares, or undefined for a task that only runs when enqueued; a ConfigError starting with `where` names a bad value. */
export function scheduleOf(where: string, options: { readonly every?: unknown; readonly cron?: unknown; readonly missed?: unknown }): Schedule | undefined {
  const { every, cron, missed = 'skip' } = options;
  if (every === undefined && cron === undefined) {
    if (options.missed !== undefined) throw new ConfigError(`${where}: missed: only a task with every or cron has ticks to miss`);
    return undefined;
  }
  if (every !== undefined && cron !== undefined) throw new ConfigError(`${where}: declare every or cron, not both`);
  if (missed !== 'skip' && missed !== 'once') throw new ConfigError(`${where}: missed: ${JSON.stringify(missed)} is not 'skip' or 'once'`);
  if (cron !== undefined) {
    if (typeof cron !== 'string') throw new ConfigError(`${where}: cron: ${JSON.stringify(cron)} is not a string`);
    return cronSchedule(where, cron, missed);
  }
  return everySchedule(intervalMs(where, every), missed, `every ${String(every)}`);
}

/** The enqueue key of a task's tick: the same on every instance, so JetStream stores one of their tries. */
export function tickKey(task: string, tick: number): string {
  return `tick:${task}:${tick}`;
}

/** setTimeout's longest delay; a later tick is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fire` at each tick from now on, one after the other, until stopped. `fire` must not throw. */
export function runSchedule(schedule: Schedule, fire: (tick: number) => Promise<void>): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (tick: number | undefined) => {
    if (stopped || tick === undefined) return;
    const wait = tick - Date.now();
    if (wait > MAX_TIMER_MS) return void (timer = setTimeout(() => arm(tick), MAX_TIMER_MS));
    timer = setTimeout(() => void fire(tick).then(() => arm(schedule.next(Math.max(tick, Date.now())))), Math.max(0, wait));
  };
  arm(schedule.next(Date.now()));
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
