// Renders the mesh's `$SRV.STATS` figures in the Prometheus text format: per instance and per procedure. It
// renders what it is given; gathering is mesh-stats.ts's, and the gateway's own metrics are metrics.ts's.
import { summarize, type EndpointFigures, type ProcedureFigures } from './mesh-stats.ts';

type Labels = Record<string, string>;

/** A label value as the text format has it: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

class Text {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Labels, value: number): void {
    this.lines.push(`${name}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`);
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function bound(seconds: number): string {
  return String(seconds);
}

/**
 * The mesh-wide series: `mesh_endpoint_*` per instance (labels service, instance, procedure) and
 * `mesh_procedure_*` per procedure over its instances (labels service, procedure), plus how many instances answered.
 */
export function renderMeshMetrics(endpoints: readonly EndpointFigures[], gatherSeconds: number): string {
  const text = new Text();
  const instanceLabels = (e: EndpointFigures): Labels => ({ service: e.service, instance_id: e.instance, procedure: e.procedure });

  const perInstance = (name: string, type: 'counter' | 'gauge', help: string, value: (e: EndpointFigures) => number | undefined) => {
    text.family(name, type, help);
    for (const e of endpoints) {
      const v = value(e);
      if (v !== undefined) text.sample(name, instanceLabels(e), v);
    }
  };
  perInstance('mesh_endpoint_requests_total', 'counter', 'Requests an instance has handled since it started ($SRV.STATS num_requests).', (e) => e.requests);
  perInstance('mesh_endpoint_errors_total', 'counter', 'Requests an instance answered with an error ($SRV.STATS num_errors).', (e) => e.errors);
  perInstance('mesh_endpoint_processing_seconds_total', 'counter', 'Time an instance spent handling requests ($SRV.STATS processing_time).', (e) => e.processingS);
  perInstance('mesh_endpoint_average_processing_seconds', 'gauge', 'Average time per request ($SRV.STATS average_processing_time).', (e) => e.averageS);
  perInstance('mesh_endpoint_in_flight_requests', 'gauge', 'Requests an instance is handling now (nats-mesh hosts only).', (e) => e.inFlight);
  text.family('mesh_endpoint_errors_by_code_total', 'counter', 'Errors by MeshError code (nats-mesh hosts only).');
  for (const e of endpoints) {
    for (const [code, n] of Object.entries(e.errorsByCode ?? {})) text.sample('mesh_endpoint_errors_by_code_total', { ...instanceLabels(e), code }, n);
  }
  text.family('mesh_endpoint_duration_seconds', 'histogram', 'Time to handle a request (nats-mesh hosts only).');
  for (const e of endpoints) {
    if (!e.latency) continue;
    const labels = instanceLabels(e);
    e.latency.bucketsS.forEach((le, i) => text.sample('mesh_endpoint_duration_seconds_bucket', { ...labels, le: bound(le) }, e.latency!.counts[i]!));
    text.sample('mesh_endpoint_duration_seconds_bucket', { ...labels, le: '+Inf' }, e.requests);
    text.sample('mesh_endpoint_duration_seconds_sum', labels, e.latency.sumS);
    text.sample('mesh_endpoint_duration_seconds_count', labels, e.requests);
  }

  const procedures = summarize(endpoints);
  const perProcedure = (name: string, help: string, value: (p: ProcedureFigures) => number | undefined) => {
    text.family(name, 'gauge', help);
    for (const p of procedures) {
      const v = value(p);
      if (v !== undefined) text.sample(name, { service: p.service, procedure: p.procedure }, v);
    }
  };
  perProcedure('mesh_procedure_instances', 'Instances of the procedure that answered this scrape.', (p) => p.instances);
  perProcedure('mesh_procedure_requests', 'Requests over the instances answering now (falls when an instance leaves: rate() the per-instance counter).', (p) => p.requests);
  perProcedure('mesh_procedure_errors', 'Errors over the instances answering now.', (p) => p.errors);
  perProcedure('mesh_procedure_in_flight_requests', 'Requests in progress over all instances.', (p) => p.inFlight);
  perProcedure('mesh_procedure_p99_seconds', 'Estimated 99th percentile of the time to handle a request since the instances started.', (p) => (p.p99Ms === undefined ? undefined : p.p99Ms / 1000));

  text.family('mesh_stats_instances', 'gauge', 'Service instances that answered $SRV.STATS in this scrape.');
  text.sample('mesh_stats_instances', {}, new Set(endpoints.map((e) => `${e.service}/${e.instance}`)).size);
  text.family('mesh_stats_gather_seconds', 'gauge', 'How long this scrape waited for $SRV.STATS replies.');
  text.sample('mesh_stats_gather_seconds', {}, gatherSeconds);
  return text.toString();
}

/** One scrape of the mesh: gather `$SRV.STATS` (or share a gather just made), then render. */
export async function scrapeMesh(gather: () => Promise<EndpointFigures[]>): Promise<string> {
  const started = performance.now();
  const endpoints = await gather();
  return renderMeshMetrics(endpoints, (performance.now() - started) / 1000);
}
