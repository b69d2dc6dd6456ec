// `mesh stats [service]`: per-procedure counters from `$SRV.STATS`, summed across instances, like `nats micro stats`.
// It reads the micro protocol's standard fields only; latency histograms are the metrics aggregator's business.
import type { NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../wire/micro.ts';
import { meshNamespace } from '../wire/namespace.ts';

export interface ProcedureStats {
  service: string;
  /** `<service>.<method>`: the subject less the namespace's prefix. */
  subject: string;
  instances: number;
  requests: number;
  errors: number;
  /** Total processing time over all instances, in milliseconds. */
  processingMs: number;
  /** processingMs / requests, 0 without requests. */
  averageMs: number;
}

/** Gathers `$SRV.STATS` (of one service, or all, in the namespace) for windowMs and sums the endpoints by subject. */
export async function gatherStats(nc: NatsConnection, service: string | undefined, namespace: string | null = null, maxWait = 1000): Promise<ProcedureStats[]> {
  const own = meshNamespace(namespace);
  const bySubject = new Map<string, ProcedureStats>();
  for (const stats of await askServices(nc, 'STATS', service, { maxWaitMs: maxWait, silenceMs: 300 })) {
    if (!own.owns(stats.metadata)) continue;
    for (const endpoint of stats.endpoints ?? []) {
      const subject = own.nameOf(endpoint.subject);
      if (subject === undefined) continue;
      const key = `${stats.name}\u0000${subject}`;
      let sum = bySubject.get(key);
      if (!sum) bySubject.set(key, (sum = { service: stats.name, subject, instances: 0, requests: 0, errors: 0, processingMs: 0, averageMs: 0 }));
      sum.instances++;
      sum.requests += endpoint.num_requests;
      sum.errors += endpoint.num_errors;
      // The micro protocol counts processing time in nanoseconds.
      sum.processingMs += endpoint.processing_time / 1e6;
    }
  }
  const rows = [...bySubject.values()].sort((a, b) => a.service.localeCompare(b.service) || a.subject.localeCompare(b.subject));
  for (const row of rows) row.averageMs = row.requests === 0 ? 0 : row.processingMs / row.requests;
  return rows;
}

/** A table: one row per procedure, then the totals. */
export function formatStats(rows: ProcedureStats[]): string {
  if (rows.length === 0) return 'no services answer $SRV.STATS\n';
  const header = ['PROCEDURE', 'INSTANCES', 'REQUESTS', 'ERRORS', 'AVERAGE', 'TOTAL'];
  const cells = rows.map((r) => [r.subject, String(r.instances), String(r.requests), String(r.errors), `${r.averageMs.toFixed(3)} ms`, `${r.processingMs.toFixed(3)} ms`]);
  const total = rows.reduce((t, r) => ({ requests: t.requests + r.requests, errors: t.errors + r.errors }), { requests: 0, errors: 0 });
  cells.push(['total', '', String(total.requests), String(total.errors), '', '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...cells.map(line)].join('\n')}\n`;
}
