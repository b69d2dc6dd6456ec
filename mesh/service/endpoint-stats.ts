// What a service host counts per endpoint for `$SRV.STATS`: requests, errors by code, in flight, and a latency
// histogram with fixed buckets, so one aggregator can render real histograms. It counts; it neither sends nor renders.
import type { Bulkhead } from '../resilience/bulkhead.ts';

/** Upper bounds of the latency buckets, in seconds (Prometheus's defaults, plus 1 ms): the same for every endpoint. */
export const LATENCY_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface EndpointCounters {
  requests: number;
  errors: number;
  inFlight: number;
  totalMs: number;
  /** Errors by MeshError code. */
  errorsByCode: Record<string, number>;
  /** Requests per latency bucket, not cumulative; the last one counts those over the largest bound. */
  buckets: number[];
}

/** The `data` of an endpoint in a `$SRV.STATS` reply, as nats-mesh hosts send it. */
export interface EndpointStatsData {
  requests: number;
  errors: number;
  in_flight: number;
  average_ms: number;
  errors_by_code: Record<string, number>;
  latency: { buckets_s: readonly number[]; counts: number[]; sum_s: number };
  /** Times the instance's NATS connection was made again since it started. */
  nats_reconnects: number;
  /** The procedure's bulkhead (`@rpc({ bulkhead })`), when it declares one: requests running, waiting, refused. */
  bulkhead?: { in_flight: number; queued: number; refused: number };
}

export function newEndpointCounters(): EndpointCounters {
  return { requests: 0, errors: 0, inFlight: 0, totalMs: 0, errorsByCode: {}, buckets: new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0) };
}

/** Counts one finished request: its duration and, when it failed, its error code. */
export function countRequest(counters: EndpointCounters, ms: number, errorCode: string | undefined): void {
  counters.totalMs += ms;
  const seconds = ms / 1000;
  let i = 0;
  while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]!) i++;
  counters.buckets[i]!++;
  if (errorCode !== undefined) counters.errorsByCode[errorCode] = (counters.errorsByCode[errorCode] ?? 0) + 1;
}

/** The endpoint's `data` in `$SRV.STATS`; bucket counts are cumulative, as Prometheus's `le` buckets are. */
export function statsData(c: EndpointCounters, natsReconnects: number, bulkhead?: Bulkhead): EndpointStatsData {
  const average = c.requests ? c.totalMs / c.requests : 0;
  let running = 0;
  const counts = c.buckets.map((n) => (running += n));
  const data: EndpointStatsData = {
    requests: c.requests,
    errors: c.errors,
    in_flight: c.inFlight,
    average_ms: Number(average.toFixed(3)),
    errors_by_code: { ...c.errorsByCode },
    latency: { buckets_s: LATENCY_BUCKETS_S, counts, sum_s: c.totalMs / 1000 },
    nats_reconnects: natsReconnects,
  };
  if (bulkhead) data.bulkhead = { in_flight: bulkhead.inFlight, queued: bulkhead.queued, refused: bulkhead.refused };
  return data;
}
