// Crash and slow-call reports: published on NATS (`mesh.reports.crash`, `mesh.reports.slow`, under the namespace), logged, and handed
// to the configured reporter hook through a bounded queue with a timeout. It never slows or fails the call.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { jsonCodec } from '../wire/codec.ts';
import { MeshError } from '../wire/errors.ts';
import type { MeshConfig } from '../process/config.ts';
import type { Logger } from '../process/logger.ts';
import { meshNamespace, type Namespace } from '../wire/namespace.ts';

/** Reports go out on `mesh.reports.<kind>`: three tokens, so never a `<service>.<method>` procedure subject. */
export const REPORTS_SUBJECT = 'mesh.reports';

export type ReportKind = 'crash' | 'slow';

export interface Report {
  kind: ReportKind;
  service: string;
  /** `<service>.<method>`. */
  procedure: string;
  /** The verified caller's id, or undefined for an anonymous call. */
  caller: string | undefined;
  duration_ms: number;
  trace_id: string;
  /** The error id of a crash (the reply and the log line carry it too). */
  error_id?: string;
  /** The slow-call threshold that was passed. */
  threshold_ms?: number;
  message?: string;
  stack?: string;
  /** ISO time the call ended. */
  at: string;
}

/** What a reporter module exports (`reports.reporter`): called once per report; may be async. */
export interface Reporter {
  report(report: Report): unknown;
}

export interface ReportSettings {
  slowMs: number;
  reporter?: Reporter;
  /** Reports waiting for the reporter at most; more are dropped (and counted). */
  queueSize: number;
  /** How long the reporter may take with one report before it is given up (and counted as dropped). */
  timeoutMs: number;
}

export interface Reports {
  /** The global slow-call threshold, in ms. */
  readonly slowMs: number;
  /** Publishes, logs and queues a report for the reporter; returns at once. */
  send(report: Report): void;
  /** Reports this instance did not get through the reporter: queue full, reporter threw, or timed out. */
  readonly dropped: number;
}

let droppedTotal = 0;

/** Reports dropped by every reporter in this process (for the metrics). */
export function droppedReports(): number {
  return droppedTotal;
}

export function reportSubject(kind: ReportKind): string {
  return `${REPORTS_SUBJECT}.${kind}`;
}

/** Loads a reporter module by path (relative to the working directory): it must export `report(report)`. */
export async function loadReporter(path: string): Promise<Reporter> {
  const loaded = (await import(pathToFileURL(resolve(path)).href)) as { report?: unknown; default?: { report?: unknown } };
  const report = loaded.report ?? loaded.default?.report;
  if (typeof report !== 'function') throw new Error(`reporter ${path} must export a function report(report)`);
  return { report: report as Reporter['report'] };
}

/** The settings from the configuration, the reporter module loaded when one is named. */
export async function reportSettings(config: MeshConfig['reports']): Promise<ReportSettings> {
  return {
    slowMs: config.slowMs,
    reporter: config.reporter === null ? undefined : await loadReporter(config.reporter),
    queueSize: config.reporterQueue,
    timeoutMs: config.reporterTimeoutMs,
  };
}

export const DEFAULT_REPORT_SETTINGS: ReportSettings = { slowMs: 1000, queueSize: 100, timeoutMs: 1000 };

class ReportQueue implements Reports {
  private readonly waiting: Report[] = [];
  private running = false;
  dropped = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly settings: ReportSettings,
    private readonly namespace: Namespace,
  ) {}

  get slowMs(): number {
    return this.settings.slowMs;
  }

  send(report: Report): void {
    const level = report.kind === 'crash' ? 'error' : 'warn';
    this.logger[level]({ report }, `${report.kind} report: ${report.procedure} in ${report.duration_ms} ms`);
    try {
      if (!this.nc.isClosed()) this.nc.publish(this.namespace.subject(reportSubject(report.kind)), jsonCodec.encode(report));
    } catch (err) {
      this.logger.warn({ err }, 'could not publish a report');
    }
    if (!this.settings.reporter) return;
    if (this.waiting.length >= this.settings.queueSize) return this.drop('the reporter queue is full');
    this.waiting.push(report);
    if (!this.running) void this.drain();
  }

  private drop(reason: string): void {
    this.dropped++;
    droppedTotal++;
    this.logger.warn({ dropped: this.dropped, reason }, 'report dropped');
  }

  /** Hands reports to the reporter one at a time; each gets timeoutMs, then the next one goes. */
  private async drain(): Promise<void> {
    this.running = true;
    const reporter = this.settings.reporter!;
    for (let report = this.waiting.shift(); report; report = this.waiting.shift()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((done) => (timer = setTimeout(() => done('timeout'), this.settings.timeoutMs).unref()));
      try {
        const outcome = await Promise.race([Promise.resolve().then(() => reporter.report(report)), timeout]);
        if (outcome === 'timeout') this.drop(`the reporter took over ${this.settings.timeoutMs} ms`);
      } catch (err) {
        this.drop(`the reporter threw: ${(err as Error)?.message ?? String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.running = false;
  }
}

/** Reports published under the namespace (`nats.namespace`), or none. */
export function createReports(nc: NatsConnection, logger: Logger, settings: ReportSettings = DEFAULT_REPORT_SETTINGS, namespace?: string | null): Reports {
  return new ReportQueue(nc, logger, settings, meshNamespace(namespace));
}

/** An INTERNAL error a gateway made itself: an unexpected exception there, not an error a service answered. */
export interface GatewayCrash {
  /** The gateway, the report's `service`: `gateway-http`, `gateway-wamp`. */
  gateway: string;
  /** The procedure called, or the route when the request names none the gateway knows. */
  procedure: string;
  caller: string | undefined;
  durationMs: number;
  /** The span of the request: its trace id and request id go in the log line and the report. */
  hop: { readonly traceId: string; readonly spanId: string };
  /** The error answered, with its id. */
  error: MeshError;
  /** What was thrown. */
  cause: unknown;
}

/**
 * Logs a gateway's own INTERNAL error once under its error id, with the cause and its stack, and sends its crash
 * report (without `reports`, it is only logged). An error a service answered was reported by that service.
 */
export function reportGatewayCrash(reports: Reports | undefined, logger: Logger, crash: GatewayCrash): void {
  const { error, cause, hop } = crash;
  const { thrown, fields } = crashOf(error, cause);
  logger.error({ err: thrown, procedure: crash.procedure, error_id: error.id, trace_id: hop.traceId, request_id: hop.spanId }, 'unexpected gateway error');
  reports?.send({
    ...fields,
    service: crash.gateway,
    procedure: crash.procedure,
    caller: crash.caller,
    duration_ms: Number(crash.durationMs.toFixed(3)),
    trace_id: hop.traceId,
    at: new Date().toISOString(),
  });
}

/**
 * What a crash adds to a report: its error's id and message, and the stack of what was thrown. `thrown` is the
 * value to log: the cause a MeshError wraps, else the cause itself.
 */
export function crashOf(error: MeshError, cause: unknown): { thrown: unknown; fields: Pick<Report, 'kind' | 'error_id' | 'message' | 'stack'> } {
  const thrown = cause instanceof MeshError && cause.cause !== undefined ? cause.cause : cause;
  return { thrown, fields: { kind: 'crash', error_id: error.id, message: error.message, stack: thrown instanceof Error ? thrown.stack : undefined } };
}
