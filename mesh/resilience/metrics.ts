// A client's resilience figures as Prometheus series in a prom-client registry: retries, fallbacks, the breaker's
// state and openings, bulkhead refusals, by procedure. It reads the figures at scrape time; counting is guard.ts's.
import { Counter, Gauge, type Registry } from 'prom-client';
import { BREAKER_STATE_VALUE } from './breaker.ts';
import type { ResilienceFigures } from './guard.ts';

type Read = (figures: ResilienceFigures) => number | undefined;

/** Registers the series in `registry`; each scrape reads `figures()` once per series. */
export function registerResilienceMetrics(registry: Registry, figures: () => readonly ResilienceFigures[]): void {
  const series = (Kind: typeof Counter | typeof Gauge, name: string, help: string, read: Read) =>
    new Kind({
      name,
      help,
      labelNames: ['procedure'],
      registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset();
        for (const figure of figures()) {
          const value = read(figure);
          if (value === undefined) continue;
          if (this instanceof Gauge) this.set({ procedure: figure.procedure }, value);
          else this.inc({ procedure: figure.procedure }, value);
        }
      },
    });
  series(Counter, 'mesh_resilience_retries_total', 'Attempts a client made again after a retryable error, by procedure.', (f) => f.retries);
  series(Counter, 'mesh_resilience_fallbacks_total', 'Calls answered by their fallback instead of the procedure.', (f) => f.fallbacks);
  series(Gauge, 'mesh_resilience_breaker_state', 'Circuit breaker state by procedure: 0 closed, 1 half-open, 2 open.', (f) => f.breaker && BREAKER_STATE_VALUE[f.breaker.state]);
  series(Counter, 'mesh_resilience_breaker_opened_total', 'Times the circuit breaker opened, by procedure.', (f) => f.breaker?.opened);
  series(Counter, 'mesh_resilience_breaker_refused_total', 'Calls refused at once (CIRCUIT_OPEN) while the circuit was open.', (f) => f.breaker?.refused);
  series(Counter, 'mesh_resilience_bulkhead_refused_total', 'Calls refused (RESOURCE_EXHAUSTED) because the bulkhead and its queue were full.', (f) => f.bulkhead?.refused);
  series(Gauge, 'mesh_resilience_bulkhead_in_flight', 'Calls in flight through the bulkhead, by procedure.', (f) => f.bulkhead?.inFlight);
}
