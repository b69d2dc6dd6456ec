// A gateway process's own Prometheus metrics (prom-client, one registry per process): requests by procedure and
// status, latency, connections, NATS reconnects, refusals by code, process figures. Mesh-wide figures are mesh-metrics.ts's.
import type { NatsConnection } from '@nats-io/transport-node';
import { natsEvents } from '../process/connection.ts';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../wire/errors.ts';
import type { RateLimiter } from './rate-limit.ts';

/** The one label value for every name no service advertises: client input never becomes a label value. */
export const UNKNOWN_PROCEDURE_LABEL = '(unknown)';

/** Latency buckets of gateway requests, in seconds: the same bounds the service hosts use. */
const GATEWAY_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Procedures whose label children are kept at hand for the next request. */
const MAX_CACHED_PROCEDURES = 10_000;

/** prom-client's default gauges whose names end in `_total`, as only counters' may. */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * What one request costs: an increment of a plain number, and a histogram observation on a label child made once.
 * The counter takes the numbers when it is read (its collect), rather than hashing its labels at every request.
 */
interface RequestSeries {
  /** Requests not yet added to the counter. */
  pending: number;
  count: { inc(value: number): void };
  duration: { observe(seconds: number): void };
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts one finished request; `procedure` must be a registry name or UNKNOWN_PROCEDURE_LABEL. */
  request(procedure: string, status: number, seconds: number): void;
  /** Wraps a rate limiter so that each refusal is counted. */
  countRefusals(limiter: RateLimiter): RateLimiter;
  /** Counts one client error the gateway refused, by its code: every one, whether its log line was written or not. */
  refusal(code: ErrorCode): void;
  /** Reads a gauge's value at scrape time, e.g. open connections or WAMP sessions. */
  gauge(name: string, help: string, read: () => number): void;
  /** Counts the connection's disconnects, reconnects and stale connections (as connectNats saw them) at each scrape. */
  watchNats(nc: NatsConnection): void;
  /** The text format, for GET /metrics. */
  render(): Promise<string>;
}

/** Metrics for a gateway (`gateway` is http or wamp, a constant label so two gateways' series never mix). */
export function createGatewayMetrics(gateway: string): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ gateway });
  collectDefaultMetrics({ register: registry });
  // Gauges prom-client names with a counter's `_total` suffix, which Prometheus's lint refuses.
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  const requests = new Counter({
    name: 'mesh_gateway_requests_total',
    help: 'Requests the gateway answered, by procedure and status (HTTP status, or ok / the error code over WAMP).',
    labelNames: ['procedure', 'status'],
    registers: [registry],
    collect: () => addPending(),
  });
  const duration = new Histogram({
    name: 'mesh_gateway_request_duration_seconds',
    help: 'Time from the request to its answer at the gateway, by procedure.',
    labelNames: ['procedure'],
    buckets: GATEWAY_BUCKETS_S,
    registers: [registry],
  });
  const refused = new Counter({ name: 'mesh_gateway_rate_limited_total', help: 'Requests refused by the rate limit.', registers: [registry] });
  const refusals = new Counter({
    name: 'mesh_gateway_refusals_total',
    help: 'Client errors the gateway refused, by error code, whether logged or not (log.refusalsPerSecond).',
    labelNames: ['code'],
    registers: [registry],
  });
  /** Counters that follow a connection's event counts: each scrape adds what happened since the last. */
  function followed(name: string, help: string, read: () => number): void {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read();
        this.inc(now - seen);
        seen = now;
      },
    });
  }
  /**
   * Label children by procedure, then status: two Map hits and no allocation once a pair has been seen. Bounded:
   * past MAX_CACHED_PROCEDURES (procedures come and go) it starts again; children made again count into the same series.
   */
  const series = new Map<string, Map<number, RequestSeries>>();

  /** Adds the requests counted since the last time to the counter. */
  function addPending(): void {
    for (const byStatus of series.values()) {
      for (const s of byStatus.values()) {
        if (s.pending === 0) continue;
        s.count.inc(s.pending);
        s.pending = 0;
      }
    }
  }

  function seriesOf(procedure: string, status: number): RequestSeries {
    let byStatus = series.get(procedure);
    if (!byStatus) {
      if (series.size >= MAX_CACHED_PROCEDURES) {
        addPending();
        series.clear();
      }
      series.set(procedure, (byStatus = new Map()));
    }
    let found = byStatus.get(status);
    if (!found) {
      const observer = byStatus.values().next().value?.duration ?? duration.labels(procedure);
      found = { pending: 0, count: requests.labels(procedure, String(status)), duration: observer };
      byStatus.set(status, found);
    }
    return found;
  }

  return {
    registry,
    request(procedure, status, seconds) {
      const s = seriesOf(procedure, status);
      s.pending++;
      s.duration.observe(seconds);
    },
    countRefusals(limiter) {
      return {
        get enabled() {
          return limiter.enabled;
        },
        async take(caller) {
          const refusal = await limiter.take(caller);
          if (refusal) refused.inc();
          return refusal;
        },
      };
    },
    refusal(code) {
      refusals.labels(code).inc();
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    watchNats(nc) {
      followed('mesh_gateway_nats_reconnects_total', 'Times the NATS connection was made again.', () => natsEvents(nc).reconnects);
      followed('mesh_gateway_nats_disconnects_total', 'Times the NATS connection was lost.', () => natsEvents(nc).disconnects);
      followed('mesh_gateway_nats_stale_total', 'Times the NATS server stopped answering pings and the connection was given up.', () => natsEvents(nc).stale);
    },
    render: () => registry.metrics(),
  };
}

/** The content type of the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A label's value in a sample line of the text format (`name{a="x",procedure="y"} 1`), unescaped; undefined when absent. */
function labelValue(line: string, label: string): string | undefined {
  const start = line.indexOf(`${label}="`);
  if (start < 0 || line.startsWith('#') || (start > 0 && line[start - 1] !== '{' && line[start - 1] !== ',')) return undefined;
  let value = '';
  for (let i = start + label.length + 2; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') return value;
    if (c === '\\') value += line[++i] === 'n' ? '\n' : line[i];
    else value += c;
  }
  return undefined;
}

/** The metrics text without the samples whose `procedure` label names a procedure the viewer may not see. */
export function withVisibleProcedures(text: string, visible: (procedure: string) => boolean): string {
  return text
    .split('\n')
    .filter((line) => {
      const procedure = labelValue(line, 'procedure');
      return procedure === undefined || procedure === UNKNOWN_PROCEDURE_LABEL || visible(procedure);
    })
    .join('\n');
}
