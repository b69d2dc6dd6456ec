// The figures of every service on the mesh, from one scatter-gather of `$SRV.STATS` (the NATS micro protocol, so
// services in any language count): per instance and per procedure, of the services in its own namespace (`$SRV` is
// shared by every namespace). It gathers and summarizes; rendering is elsewhere.
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_MAX_NAME_BYTES, nameProblem } from '../wire/names.ts';
import { meshNamespace, NO_NAMESPACE, type Namespace } from '../wire/namespace.ts';
import type { Logger } from '../process/logger.ts';
import { inboxPrefixOf } from '../process/connection.ts';
import { subscribe } from '../process/nats-callbacks.ts';

export const SERVICE_STATS_SUBJECT = '$SRV.STATS';
const STATS_RESPONSE_TYPE = 'io.nats.micro.v1.stats_response';

/** How long a gateway answers the last gather again instead of asking the mesh anew. */
export const STATS_REUSE_MS = 500;

/** Replies one gather reads at most, and endpoints one reply may list: a rogue service cannot grow the output. */
const MAX_REPLIES = 10_000;
const MAX_ENDPOINTS_PER_REPLY = 1000;

/** A latency histogram with cumulative counts per upper bound (seconds); the count over all is `requests`. */
export interface LatencyHistogram {
  bucketsS: number[];
  counts: number[];
  sumS: number;
}

/** One endpoint of one instance, as its `$SRV.STATS` reply has it. */
export interface EndpointFigures {
  service: string;
  instance: string;
  /** `<service>.<method>`: the subject less the namespace's prefix. */
  procedure: string;
  requests: number;
  errors: number;
  /** Seconds spent in the handler, all requests together. */
  processingS: number;
  averageS: number;
  /** Known only for services that report them (nats-mesh hosts do, in the endpoint's `data`). */
  inFlight?: number;
  errorsByCode?: Record<string, number>;
  latency?: LatencyHistogram;
  /** Times the instance's NATS connection was made again, for hosts that report it. */
  natsReconnects?: number;
  /** For a @task's endpoint (nats-mesh hosts): what this instance's worker did, and the task's queue now. */
  task?: TaskFigures;
}

export interface TaskFigures {
  running: number;
  succeeded: number;
  failed: number;
  retried: number;
  dead: number;
  /** The queue, as the instance read it: the same on every instance of the task. */
  queued?: number;
  /** Of those, delivered and not acknowledged (running, or waiting out a retry's backoff). */
  claimed?: number;
  oldestS?: number;
  deadLetters?: number;
  duration?: LatencyHistogram;
}

/** One procedure over all its instances, for `mesh top` and the dashboard. */
export interface ProcedureFigures {
  procedure: string;
  service: string;
  instances: number;
  requests: number;
  errors: number;
  inFlight: number;
  errorsByCode: Record<string, number>;
  averageMs: number;
  /** NATS reconnects of the instances that serve it, summed. */
  natsReconnects: number;
  /** Estimated from the histogram; undefined when no instance sends one. */
  p50Ms?: number;
  p99Ms?: number;
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CODE = /^[A-Z_]{1,64}$/;

function parseErrorsByCode(value: unknown): Record<string, number> | undefined {
  if (!isTree(value)) return undefined;
  const out: Record<string, number> = {};
  for (const [code, n] of Object.entries(value).slice(0, 64)) if (CODE.test(code)) out[code] = count(n);
  return out;
}

/** A task endpoint's figures in its `data` (succeeded, queued, ...), or undefined when it is no task's. */
function parseTask(value: unknown): TaskFigures | undefined {
  if (!isTree(value) || typeof value.succeeded !== 'number') return undefined;
  const figures: TaskFigures = { running: count(value.running), succeeded: count(value.succeeded), failed: count(value.failed), retried: count(value.retried), dead: count(value.dead) };
  if (typeof value.queued === 'number') figures.queued = count(value.queued);
  if (typeof value.claimed === 'number') figures.claimed = count(value.claimed);
  if (typeof value.oldest_ms === 'number') figures.oldestS = count(value.oldest_ms) / 1000;
  if (typeof value.dead_letters === 'number') figures.deadLetters = count(value.dead_letters);
  figures.duration = parseLatency(value.duration);
  return figures;
}

function parseLatency(value: unknown): LatencyHistogram | undefined {
  if (!isTree(value) || !Array.isArray(value.buckets_s) || !Array.isArray(value.counts)) return undefined;
  const bucketsS = value.buckets_s.map(count);
  const counts = value.counts.map(count);
  if (bucketsS.length === 0 || bucketsS.length > 64 || counts.length !== bucketsS.length + 1) return undefined;
  for (let i = 1; i < bucketsS.length; i++) if (bucketsS[i]! <= bucketsS[i - 1]! || counts[i]! < counts[i - 1]!) return undefined;
  return { bucketsS, counts: counts.slice(0, -1), sumS: count(value.sum_s) };
}

/** The endpoints of one `$SRV.STATS` reply, or undefined when it is not one; none when it is another namespace's. */
export function parseStatsReply(data: Uint8Array, maxNameBytes = DEFAULT_MAX_NAME_BYTES, namespace: Namespace = NO_NAMESPACE): EndpointFigures[] | undefined {
  let reply: unknown;
  try {
    reply = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (!isTree(reply) || reply.type !== STATS_RESPONSE_TYPE || !Array.isArray(reply.endpoints)) return undefined;
  const { name: service, id: instance } = reply;
  if (typeof service !== 'string' || !ID.test(service) || typeof instance !== 'string' || !ID.test(instance)) return undefined;
  if (!namespace.owns(reply.metadata)) return [];
  const out: EndpointFigures[] = [];
  // A subject listed twice would be a duplicate series, which makes Prometheus refuse the whole scrape.
  const subjects = new Set<string>();
  for (const endpoint of reply.endpoints.slice(0, MAX_ENDPOINTS_PER_REPLY)) {
    if (!isTree(endpoint) || typeof endpoint.subject !== 'string') continue;
    const procedure = namespace.nameOf(endpoint.subject);
    if (procedure === undefined || nameProblem(procedure, maxNameBytes) || subjects.has(procedure)) continue;
    subjects.add(procedure);
    const requests = count(endpoint.num_requests);
    const figures: EndpointFigures = {
      service,
      instance,
      procedure,
      requests,
      errors: count(endpoint.num_errors),
      // The micro protocol reports times in nanoseconds.
      processingS: count(endpoint.processing_time) / 1e9,
      averageS: count(endpoint.average_processing_time) / 1e9,
    };
    const data = endpoint.data;
    if (isTree(data)) {
      // A nats-mesh host counts errors and time itself (nats.js times only a handler's synchronous part).
      if (typeof data.errors === 'number') figures.errors = Math.min(count(data.errors), requests);
      if (typeof data.in_flight === 'number') figures.inFlight = count(data.in_flight);
      if (typeof data.nats_reconnects === 'number') figures.natsReconnects = count(data.nats_reconnects);
      figures.errorsByCode = parseErrorsByCode(data.errors_by_code);
      const task = parseTask(data);
      if (task) figures.task = task;
      const latency = parseLatency(data.latency);
      if (latency) {
        figures.latency = { ...latency, counts: latency.counts.map((n) => Math.min(n, requests)) };
        figures.processingS = latency.sumS;
        figures.averageS = requests ? latency.sumS / requests : 0;
      }
    }
    out.push(figures);
  }
  return out;
}

export interface GatherOptions {
  /** Where a reply that could not be read is logged. */
  logger: Logger;
  /** How long to collect replies: the bounded wait of one scrape. */
  waitMs: number;
  maxNameBytes?: number;
  inboxPrefix?: string;
  /** The namespace (`nats.namespace`) whose services count; none by default. */
  namespace?: string | null;
}

/** One scatter-gather of `$SRV.STATS`: every instance that answers within waitMs, one entry per endpoint. */
export async function gatherStats(nc: NatsConnection, { logger, waitMs, maxNameBytes, inboxPrefix, namespace }: GatherOptions): Promise<EndpointFigures[]> {
  const own = meshNamespace(namespace);
  const found: EndpointFigures[] = [];
  const seen = new Set<string>();
  const inbox = createInbox(inboxPrefix ?? inboxPrefixOf(nc));
  const sub = subscribe(nc, inbox, { max: MAX_REPLIES }, { logger, about: { query: SERVICE_STATS_SUBJECT } }, (msg) => {
    const endpoints = parseStatsReply(msg.data, maxNameBytes, own);
    if (!endpoints?.length) return;
    // An instance answers once; a second reply with its id (a replay, a rogue) is not counted twice.
    const key = `${endpoints[0]!.service}/${endpoints[0]!.instance}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push(...endpoints);
  });
  try {
    nc.publish(SERVICE_STATS_SUBJECT, undefined, { reply: inbox });
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  } finally {
    if (!sub.isClosed()) sub.unsubscribe();
  }
  return found.sort((a, b) => a.procedure.localeCompare(b.procedure) || a.instance.localeCompare(b.instance));
}

/** Adds histograms with the same bounds; undefined when the bounds differ or none is there. */
function addHistograms(a: LatencyHistogram | undefined, b: LatencyHistogram): LatencyHistogram | undefined {
  if (!a) return { bucketsS: [...b.bucketsS], counts: [...b.counts], sumS: b.sumS };
  if (a.bucketsS.length !== b.bucketsS.length || a.bucketsS.some((bound, i) => bound !== b.bucketsS[i])) return undefined;
  return { bucketsS: a.bucketsS, counts: a.counts.map((n, i) => n + b.counts[i]!), sumS: a.sumS + b.sumS };
}

/**
 * The q-quantile of a cumulative histogram in milliseconds, interpolated within its bucket as Prometheus's
 * histogram_quantile does; the largest bound when it falls over all of them.
 */
export function quantileMs(histogram: LatencyHistogram, total: number, q: number): number | undefined {
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < histogram.bucketsS.length; i++) {
    const upper = histogram.bucketsS[i]!;
    const cumulative = histogram.counts[i]!;
    if (cumulative >= rank) {
      const inBucket = cumulative - below;
      const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
      return (lower + (upper - lower) * fraction) * 1000;
    }
    lower = upper;
    below = cumulative;
  }
  return lower * 1000;
}

/** Endpoint figures summed per procedure (over instances), with p50/p99 where histograms are known. */
export function summarize(endpoints: readonly EndpointFigures[]): ProcedureFigures[] {
  const byProcedure = new Map<string, { figures: ProcedureFigures; processingS: number; histogram?: LatencyHistogram; complete: boolean }>();
  for (const e of endpoints) {
    let entry = byProcedure.get(e.procedure);
    if (!entry) {
      const figures: ProcedureFigures = { procedure: e.procedure, service: e.service, instances: 0, requests: 0, errors: 0, inFlight: 0, errorsByCode: {}, averageMs: 0, natsReconnects: 0 };
      entry = { figures, processingS: 0, complete: true };
      byProcedure.set(e.procedure, entry);
    }
    const f = entry.figures;
    f.instances++;
    f.requests += e.requests;
    f.errors += e.errors;
    f.inFlight += e.inFlight ?? 0;
    f.natsReconnects += e.natsReconnects ?? 0;
    for (const [code, n] of Object.entries(e.errorsByCode ?? {})) f.errorsByCode[code] = (f.errorsByCode[code] ?? 0) + n;
    entry.processingS += e.processingS;
    if (e.latency && entry.complete) entry.histogram = addHistograms(entry.histogram, e.latency);
    if (!e.latency || !entry.histogram) entry.complete = false;
  }
  return [...byProcedure.values()].map(({ figures, processingS, histogram, complete }) => {
    figures.averageMs = figures.requests ? (processingS / figures.requests) * 1000 : 0;
    if (complete && histogram) {
      figures.p50Ms = quantileMs(histogram, figures.requests, 0.5);
      figures.p99Ms = quantileMs(histogram, figures.requests, 0.99);
    }
    return figures;
  });
}

/**
 * Gathers on demand, shared: callers during a gather wait for that one, and a result younger than `reuseMs` is
 * answered again, so a flood of scrapes or dashboard calls sends at most one `$SRV.STATS` per reuseMs to the mesh.
 */
export function createStatsGatherer(nc: NatsConnection, options: GatherOptions & { reuseMs: number }): () => Promise<EndpointFigures[]> {
  let running: Promise<EndpointFigures[]> | undefined;
  let last: { at: number; endpoints: EndpointFigures[] } | undefined;
  return () => {
    if (last && performance.now() - last.at < options.reuseMs) return Promise.resolve(last.endpoints);
    running ??= gatherStats(nc, options).then(
      (endpoints) => {
        last = { at: performance.now(), endpoints };
        running = undefined;
        return endpoints;
      },
      (err: unknown) => {
        running = undefined;
        throw err;
      },
    );
    return running;
  };
}
