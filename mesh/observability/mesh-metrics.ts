// Renders the mesh's `$SRV.STATS` figures in the Prometheus text format, through prom-client: per instance and per
// procedure. It renders what it is given; gathering is mesh-stats.ts's, and the gateway's own metrics are metrics.ts's.
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { summarize, type EndpointFigures, type ProcedureFigures } from './mesh-stats.ts';

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
function durationHistograms(endpoints: readonly EndpointFigures[]): Registry {
  const name = 'mesh_endpoint_duration_seconds';
  const values: { metricName: string; labels: Labels; value: number }[] = [];
  for (const e of endpoints) {
    if (!e.latency) continue;
    const labels = instanceLabels(e);
    e.latency.bucketsS.forEach((le, i) => values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: e.latency!.counts[i]! }));
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: e.requests });
    values.push({ metricName: `${name}_sum`, labels, value: finite(e.latency.sumS) });
    values.push({ metricName: `${name}_count`, labels, value: e.requests });
  }
  const family = { name, help: 'Time to handle a request (nats-mesh hosts only).', type: 'histogram', aggregator: 'first', values };
  return AggregatorRegistry.aggregate([[family]]);
}

/**
 * The mesh-wide series: `mesh_endpoint_*` per instance (labels service, instance, procedure) and
 * `mesh_procedure_*` per procedure over its instances (labels service, procedure), plus how many instances answered.
 */
export function renderMeshMetrics(endpoints: readonly EndpointFigures[], gatherSeconds: number): Promise<string> {
  const perInstance = new Registry();
  const instanceSeries = (type: typeof Counter | typeof Gauge, name: string, help: string, value: (e: EndpointFigures) => number | undefined) => {
    const metric = new type({ name, help, labelNames: INSTANCE_LABELS, registers: [perInstance] });
    for (const e of endpoints) {
      const v = value(e);
      if (v === undefined) continue;
      if (metric instanceof Counter) metric.inc(instanceLabels(e), finite(v));
      else metric.set(instanceLabels(e), finite(v));
    }
  };
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

  return Registry.merge([perInstance, durationHistograms(endpoints), perProcedure]).metrics();
}

/** One scrape of the mesh: gather `$SRV.STATS` (or share a gather just made), then render. */
export async function scrapeMesh(gather: () => Promise<EndpointFigures[]>): Promise<string> {
  const started = performance.now();
  const endpoints = await gather();
  return renderMeshMetrics(endpoints, (performance.now() - started) / 1000);
}
