// `mesh top`: the procedures on the mesh with rate, errors, in flight, p50 and p99 from `$SRV.STATS`, and the task
// queues with their dead tasks from JetStream (else as the task workers report them in `$SRV.STATS`), redrawn every interval with plain ANSI escapes. It reads and prints.
import type { NatsConnection } from '@nats-io/transport-node';
import { gatherStats, summarize, type EndpointFigures, type ProcedureFigures } from '../observability/mesh-stats.ts';
import type { Logger } from '../process/logger.ts';
import { listQueues, type TaskQueue } from '../tasks/queues.ts';
import { taskStore } from '../tasks/store.ts';
import { meshNamespace } from '../wire/namespace.ts';

export interface TopOptions {
  /** Where a stats reply that could not be read is logged. */
  logger: Logger;
  intervalMs: number;
  /** How long each gather waits for replies. */
  waitMs: number;
  /** Print one table and return. */
  once: boolean;
  out: NodeJS.WritableStream;
  /** Only the services of this namespace (`nats.namespace`); none by default. */
  namespace?: string | null;
}

interface Snapshot {
  at: number;
  requests: Map<string, number>;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';
const COLUMNS = ['PROCEDURE', 'INST', 'REQ/S', 'REQUESTS', 'ERRORS', 'IN FLIGHT', 'P50 MS', 'P99 MS', 'ERROR CODES'];

function ms(value: number | undefined): string {
  return value === undefined ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0);
}

function errorCodes(figures: ProcedureFigures): string {
  return Object.entries(figures.errorsByCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}:${n}`)
    .join(' ');
}

/** The table, one row per procedure; the rate is over the time since the previous snapshot (none the first time). */
export function renderTop(procedures: readonly ProcedureFigures[], previous: Snapshot | undefined, now: number): string {
  const rows = procedures.map((p) => {
    const before = previous?.requests.get(p.procedure);
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    const rate = before === undefined || seconds <= 0 ? '-' : (Math.max(0, p.requests - before) / seconds).toFixed(1);
    const p50 = p.p50Ms ?? (p.requests ? p.averageMs : undefined);
    return [p.procedure, String(p.instances), rate, String(p.requests), String(p.errors), String(p.inFlight), ms(p50), ms(p.p99Ms), errorCodes(p)];
  });
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const body = rows.length ? rows.map(line).join('\n') : 'no service answers $SRV.STATS';
  return `${line(COLUMNS)}\n${body}\n`;
}

const QUEUE_COLUMNS = ['TASK', 'QUEUED', 'CLAIMED', 'OLDEST S', 'DEAD'];

/**
 * The task queues as their workers report them in `$SRV.STATS` (one row per task; instances report the same queue):
 * what a user that may not read JetStream, such as a gateway's generated one, still sees.
 */
export function queuesFromStats(endpoints: readonly EndpointFigures[]): TaskQueue[] {
  const queues = new Map<string, TaskQueue>();
  for (const { procedure, task } of endpoints) {
    if (task?.queued === undefined) continue;
    queues.set(procedure, { task: procedure, queued: task.queued, claimed: task.claimed ?? 0, oldest_ms: (task.oldestS ?? 0) * 1000, dead: task.deadLetters ?? 0 });
  }
  return [...queues.values()].sort((a, b) => a.task.localeCompare(b.task));
}

/** The task queues, one row per task; `reported` when they come from the workers' `$SRV.STATS` (JetStream was not readable, for `why`). */
export function renderQueues(queues: readonly TaskQueue[], reported?: { why: string }): string {
  const note = reported ? `task queues as their workers report them ($SRV.STATS; JetStream itself: ${reported.why})\n` : '';
  if (queues.length === 0) return `${note}no task queue\n`;
  const rows = queues.map((q) => [q.task, String(q.queued), String(q.claimed), q.queued ? (q.oldest_ms / 1000).toFixed(1) : '-', String(q.dead)]);
  const widths = QUEUE_COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${note}${line(QUEUE_COLUMNS)}\n${rows.map(line).join('\n')}\n`;
}

function snapshotOf(procedures: readonly ProcedureFigures[], at: number): Snapshot {
  return { at, requests: new Map(procedures.map((p) => [p.procedure, p.requests])) };
}

/** Runs until the process is interrupted, or once. */
export async function runTop(nc: NatsConnection, { logger, intervalMs, waitMs, once, out, namespace }: TopOptions): Promise<void> {
  let previous: Snapshot | undefined;
  const store = taskStore(nc, meshNamespace(namespace));
  for (;;) {
    const started = Date.now();
    const [endpoints, queues] = await Promise.all([gatherStats(nc, { logger, waitMs, namespace }), listQueues(store).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))]);
    const procedures = summarize(endpoints);
    const now = Date.now();
    const shown = queues instanceof Error ? renderQueues(queuesFromStats(endpoints), { why: queues.message }) : renderQueues(queues);
    const table = `${renderTop(procedures, previous, now)}\n${shown}`;
    if (once) {
      out.write(table);
      return;
    }
    out.write(`${CLEAR_SCREEN}mesh top: ${procedures.length} procedures, every ${intervalMs} ms (Ctrl-C to stop)\n\n${table}`);
    previous = snapshotOf(procedures, now);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - started))));
  }
}
