// Spans around each hop (gateway request, NATS request, handler) through @opentelemetry/api, exported over
// OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT is set; without it no SDK is loaded and a hop is two ids.
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import type { MeshError } from '../wire/errors.ts';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER, type Forwarded } from '../wire/propagation.ts';
import { cleanTracestate, formatTraceparent, newSpanId, newTraceId, parseTraceparent, SAMPLED, type TraceContext } from './trace-context.ts';

/** One hop's span: its context is what the next hop is a child of. */
export interface Hop {
  readonly traceId: string;
  readonly spanId: string;
  /** This span as a `traceparent` header value, for the request it makes next (or the response). */
  readonly traceparent: string;
  readonly tracestate: string | undefined;
  /** Ends the span (a no-op without an exporter); an error marks it failed with the error's code and id. */
  end(error?: MeshError): void;
}

export type HopKind = 'server' | 'client' | 'producer' | 'consumer';

const KINDS: Record<HopKind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** Set by startTracing when an exporter is configured; undefined means no span objects at all. */
let tracer: Tracer | undefined;
/** False when the configuration turns tracing off (`tracing.enabled`): no spans, and no trace headers of this process's own. */
let traced = true;
let shutdown: (() => Promise<void>) | undefined;

/**
 * A hop without an exporter: the ids only, from the parent (or a fresh trace). They are drawn when first read, so
 * a request that logs nothing and calls nothing costs no random ids and no strings.
 */
class BareHop implements Hop {
  private ownTraceId: string | undefined;
  private ownSpanId: string | undefined;
  private ownTraceparent: string | undefined;

  constructor(
    private readonly parent: TraceContext | undefined,
    readonly tracestate: string | undefined,
  ) {}

  get traceId(): string {
    return this.parent?.traceId ?? (this.ownTraceId ??= newTraceId());
  }

  get spanId(): string {
    return (this.ownSpanId ??= newSpanId());
  }

  get traceparent(): string {
    return (this.ownTraceparent ??= formatTraceparent({ traceId: this.traceId, spanId: this.spanId, flags: this.parent?.flags ?? SAMPLED }));
  }

  end(): void {}
}

function recordedHop(active: Tracer, name: string, kind: HopKind, parent: TraceContext | undefined, tracestate: string | undefined, attributes?: Attributes): Hop {
  const parentContext = parent
    ? trace.setSpanContext(ROOT_CONTEXT, {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: Number.parseInt(parent.flags, 16),
        isRemote: true,
        traceState: tracestate === undefined ? undefined : createTraceState(tracestate),
      })
    : ROOT_CONTEXT;
  const span = active.startSpan(name, { kind: KINDS[kind], attributes }, parentContext);
  const { traceId, spanId, traceFlags } = span.spanContext();
  return {
    traceId,
    spanId,
    traceparent: formatTraceparent({ traceId, spanId, flags: traceFlags.toString(16).padStart(2, '0') }),
    tracestate,
    end(error) {
      if (error) {
        span.setAttributes({ 'mesh.error.code': error.code, 'mesh.error.id': error.id ?? '' });
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      }
      span.end();
    },
  };
}

/**
 * Starts a span as a child of the `traceparent` received (a malformed or absent one starts a fresh trace, never
 * an error). `parent` may also be the Hop this one nests in.
 */
export function startHop(name: string, kind: HopKind, parent: string | Hop | undefined, tracestate?: string, attributes?: Attributes): Hop {
  const parentContext = typeof parent === 'string' || parent === undefined ? parseTraceparent(parent) : { traceId: parent.traceId, spanId: parent.spanId, flags: parent.traceparent.slice(-2) };
  const state = parentContext ? cleanTracestate(tracestate) : undefined;
  return tracer ? recordedHop(tracer, name, kind, parentContext, state, attributes) : new BareHop(parentContext, state);
}

/**
 * Whether this process takes part in traces: makes spans and sends its own on. When off, received trace headers pass
 * through unchanged, and a hop's ids (the received trace id, else fresh ones) serve only its log lines.
 */
export function tracingOn(): boolean {
  return traced;
}

/**
 * Takes the configured switch, and loads the OpenTelemetry SDK and an OTLP/HTTP (JSON) exporter when tracing is on
 * and OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise loads nothing and costs nothing. The exporter reads the usual
 * OTEL_EXPORTER_OTLP_* variables itself.
 */
export async function startTracing(serviceName: string, settings: { enabled: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  traced = settings.enabled;
  if (!traced || !env.OTEL_EXPORTER_OTLP_ENDPOINT || tracer) return tracer !== undefined;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  const processor = new BatchSpanProcessor(new OTLPTraceExporter(), Number.isFinite(delay) && delay > 0 ? { scheduledDelayMillis: delay } : {});
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [processor],
  });
  tracer = provider.getTracer('nats-mesh');
  shutdown = () => provider.shutdown();
  return true;
}

/** Exports what is buffered and stops recording; called when the process drains. */
export async function stopTracing(): Promise<void> {
  const stop = shutdown;
  tracer = undefined;
  shutdown = undefined;
  await stop?.();
}

/** Starts the hop a received request or event is, from the headers it forwards (a child of its `traceparent`, or a fresh trace). */
export function hopFrom(name: string, kind: HopKind, forwarded: Forwarded): Hop {
  return startHop(name, kind, forwarded[TRACEPARENT_HEADER], forwarded[TRACESTATE_HEADER]);
}
