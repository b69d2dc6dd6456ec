// Renders the mesh's `$SRV.STATS` figures in the Prometheus text format, through prom-client: per instance and per
// procedure. It renders what it is given; gathering is mesh-stats.ts's, and the gateway's own metrics are metrics.ts's.
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { summarize, type EndpointFigures, type LatencyHistogram, type ProcedureFigures, type TaskFigures } from './mesh-stats.ts';

const INSTANCE_LABELS = ['service', 'instance_id', 'procedure'] as const;
type InstanceLabel = (typeof INSTANCE_LABELS)[number];
type Labels = Record<string, string>;

/** A value the text format takes: the figures are checked when read, but a sum or a ratio could still overflow. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

function instanceLabels(e: EndpointFigures): Record<InstanceLabel, string> {
  return { service: e.service, instance_id: e.instance, procedure: e.procedure };
}

/**
 * The per-instance latency histograms as one prom-client metric. Each instance sends its own cumulative counts and
 * bounds, which prom-client's Histogram cannot be given (it only observes), so the family is handed to prom-client
 * in its JSON form (as a cluster worker's would be) and rendered by its registry.
 */
function histograms(name: string, help: string, series: readonly { labels: Labels; histogram: LatencyHistogram; count: number }[]): Registry {
  const values: { metricName: string; labels: Labels; value: number }[] = [];
  for (const { labels, histogram, count } of series) {
    histogram.bucketsS.forEach((le, i) => values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: histogram.counts[i]! }));
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
    values.push({ metricName: `${name}_sum`, labels, value: finite(histogram.sumS) });
    values.push({ metricName: `${name}_count`, labels, value: count });
  }
  return AggregatorRegistry.aggregate([[{ name, help, type: 'histogram', aggregator: 'first', values }]]);
}

function durationHistograms(endpoints: readonly EndpointFigures[]): Registry {
  const series = endpoints.flatMap((e) => (e.latency ? [{ labels: instanceLabels(e), histogram: e.latency, count: e.requests }] : []));
  return histograms('mesh_endpoint_duration_seconds', 'Time to handle a request (nats-mesh hosts only).', series);
}

const TASK_LABELS = ['service', 'instance_id', 'task'] as const;

/** One counter or gauge in `registry`, with a value per item that has one (a counter is incremented to it). */
function series<T>(registry: Registry, labelNames: readonly string[], items: readonly T[], labelsOf: (item: T) => Labels) {
  return (type: typeof Counter | typeof Gauge, name: string, help: string, value: (item: T) => number | undefined) => {
    const metric = new type({ name, help, labelNames, registers: [registry] });
    for (const item of items) {
      const v = value(item);
      if (v === undefined) continue;
      if (metric instanceof Counter) metric.inc(labelsOf(item), finite(v));
      else metric.set(labelsOf(item), finite(v));
    }
  };
}

/**
 * The `mesh_task_*` series of @task endpoints, per instance (labels service, instance_id, task): what its worker
 * did since it started, and the queue as it read it (the same on every instance: aggregate it with max, not sum).
 */
function taskMetrics(endpoints: readonly EndpointFigures[]): Registry[] {
  const tasks = endpoints.filter((e) => e.task);
  const labels = (e: EndpointFigures) => ({ service: e.service, instance_id: e.instance, task: e.procedure });
  const registry = new Registry();
  const taskSeries = series(registry, TASK_LABELS, tasks, labels);
  const add = (type: typeof Counter | typeof Gauge, name: string, help: string, value: (t: TaskFigures) => number | undefined) => taskSeries(type, name, help, (e) => value(e.task!));
  add(Gauge, 'mesh_task_queued', 'Tasks in the work stream: waiting, running or waiting out a retry (the same on every instance).', (t) => t.queued);
  add(Gauge, 'mesh_task_oldest_seconds', 'Age of the oldest task in the work stream.', (t) => t.oldestS);
  add(Gauge, 'mesh_task_dead_letters', 'Dead tasks kept in the dead-letter stream.', (t) => t.deadLetters);
  add(Gauge, 'mesh_task_running', 'Attempts this instance runs now.', (t) => t.running);
  add(Counter, 'mesh_task_succeeded_total', 'Tasks this instance ran to success.', (t) => t.succeeded);
  add(Counter, 'mesh_task_failed_total', 'Attempts that failed on this instance (each retried or buried).', (t) => t.failed);
  add(Counter, 'mesh_task_retried_total', 'Failed attempts this instance scheduled a retry for.', (t) => t.retried);
  add(Counter, 'mesh_task_dead_total', 'Tasks this instance buried in the dead-letter stream.', (t) => t.dead);
  const durations = tasks.flatMap((e) => (e.task!.duration ? [{ labels: labels(e), histogram: e.task!.duration, count: e.task!.succeeded + e.task!.failed }] : []));
  return [registry, histograms('mesh_task_duration_seconds', 'Time an attempt ran, succeeded or failed.', durations)];
}

/**
 * The mesh-wide series: `mesh_endpoint_*` per instance (labels service, instance, procedure) and
 * `mesh_procedure_*` per procedure over its instances (labels service, procedure), plus how many instances answered.
 */
export function renderMeshMetrics(endpoints: readonly EndpointFigures[], gatherSeconds: number): Promise<string> {
  const perInstance = new Registry();
  const instanceSeries = series(perInstance, INSTANCE_LABELS, endpoints, instanceLabels);
  instanceSeries(Counter, 'mesh_endpoint_requests_total', 'Requests an instance has handled since it started ($SRV.STATS num_requests).', (e) => e.requests);
  instanceSeries(Counter, 'mesh_endpoint_errors_total', 'Requests an instance answered with an error ($SRV.STATS num_errors).', (e) => e.errors);
  instanceSeries(Counter, 'mesh_endpoint_processing_seconds_total', 'Time an instance spent handling requests ($SRV.STATS processing_time).', (e) => e.processingS);
  instanceSeries(Gauge, 'mesh_endpoint_average_processing_seconds', 'Average time per request ($SRV.STATS average_processing_time).', (e) => e.averageS);
  instanceSeries(Gauge, 'mesh_endpoint_in_flight_requests', 'Requests an instance is handling now (nats-mesh hosts only).', (e) => e.inFlight);
  const byCode = new Counter({
    name: 'mesh_endpoint_errors_by_code_total',
    help: 'Errors by MeshError code (nats-mesh hosts only).',
    labelNames: [...INSTANCE_LABELS, 'code'],
    registers: [perInstance],
  });
  for (const e of endpoints) {
    for (const [code, n] of Object.entries(e.errorsByCode ?? {})) byCode.inc({ ...instanceLabels(e), code }, finite(n));
  }

  const perProcedure = new Registry();
  const procedures = summarize(endpoints);
  const procedureSeries = (name: string, help: string, value: (p: ProcedureFigures) => number | undefined) => {
    const gauge = new Gauge({ name, help, labelNames: ['service', 'procedure'], registers: [perProcedure] });
    for (const p of procedures) {
      const v = value(p);
      if (v !== undefined) gauge.set({ service: p.service, procedure: p.procedure }, finite(v));
    }
  };
  procedureSeries('mesh_procedure_instances', 'Instances of the procedure that answered this scrape.', (p) => p.instances);
  procedureSeries('mesh_procedure_requests', 'Requests over the instances answering now (falls when an instance leaves: rate() the per-instance counter).', (p) => p.requests);
  procedureSeries('mesh_procedure_errors', 'Errors over the instances answering now.', (p) => p.errors);
  procedureSeries('mesh_procedure_in_flight_requests', 'Requests in progress over all instances.', (p) => p.inFlight);
  procedureSeries('mesh_procedure_p99_seconds', 'Estimated 99th percentile of the time to handle a request since the instances started.', (p) => (p.p99Ms === undefined ? undefined : p.p99Ms / 1000));
  const instances = new Gauge({ name: 'mesh_stats_instances', help: 'Service instances that answered $SRV.STATS in this scrape.', registers: [perProcedure] });
  instances.set(new Set(endpoints.map((e) => `${e.service}/${e.instance}`)).size);
  const gather = new Gauge({ name: 'mesh_stats_gather_seconds', help: 'How long this scrape waited for $SRV.STATS replies.', registers: [perProcedure] });
  gather.set(finite(gatherSeconds));

  return Registry.merge([perInstance, durationHistograms(endpoints), perProcedure, ...taskMetrics(endpoints)]).metrics();
}

/** One scrape of the mesh: gather `$SRV.STATS` (or share a gather just made), then render. */
export async function scrapeMesh(gather: () => Promise<EndpointFigures[]>): Promise<string> {
  const started = performance.now();
  const endpoints = await gather();
  return renderMeshMetrics(endpoints, (performance.now() - started) / 1000);
}
