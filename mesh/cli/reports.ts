// `mesh reports`: follows crash and slow-call reports live (`mesh.reports.>`), one line each, or JSON lines.
// It only reads what service hosts and gateways publish; making and sending reports is mesh/observability/reports.ts's.
import type { NatsConnection } from '@nats-io/transport-node';
import { jsonCodec } from '../wire/codec.ts';
import { REPORTS_SUBJECT, type Report } from '../observability/reports.ts';
import { meshNamespace } from '../wire/namespace.ts';

/** One report as a terminal line: time, kind, procedure, duration, caller, trace and error ids, then the message. */
export function reportLine(report: Partial<Report>): string {
  const parts = [
    report.at ?? new Date().toISOString(),
    (report.kind ?? '?').toUpperCase().padEnd(5),
    report.procedure ?? '?',
    `${report.duration_ms ?? '?'} ms`,
    report.threshold_ms === undefined ? undefined : `(threshold ${report.threshold_ms} ms)`,
    `caller=${report.caller ?? 'anonymous'}`,
    `trace=${report.trace_id ?? '-'}`,
    report.error_id === undefined ? undefined : `error=${report.error_id}`,
    report.message,
  ];
  const line = parts.filter((part) => part !== undefined).join(' ');
  const stack = report.stack?.split('\n').slice(1, 6).join('\n');
  return stack ? `${line}\n${stack}` : line;
}

/**
 * Prints every report of the namespace (none by default) until the connection closes. `write` (stdout in the CLI)
 * gets the reports only, so JSON lines pipe cleanly; `notice` (stderr) says once the subscription is in place.
 */
export async function followReports(nc: NatsConnection, options: { json?: boolean; namespace?: string | null; write: (text: string) => void; notice: (text: string) => void }): Promise<void> {
  const subject = meshNamespace(options.namespace).subject(`${REPORTS_SUBJECT}.>`);
  const subscription = nc.subscribe(subject);
  await nc.flush();
  options.notice(`following ${subject} (Ctrl-C to stop)\n`);
  for await (const msg of subscription) {
    let report: Partial<Report>;
    try {
      report = jsonCodec.decode(msg.data) as Partial<Report>;
    } catch {
      continue;
    }
    options.write(options.json ? `${JSON.stringify(report)}\n` : `${reportLine(report)}\n`);
  }
}
