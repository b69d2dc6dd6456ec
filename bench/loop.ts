// The closed loop every caller-side benchmark uses: `inflight` loops, each awaiting one call after another
// until the time is up, measuring every call's latency.
import { percentile, type Measurement } from './stats.ts';

export async function measureLoop(call: () => Promise<unknown>, inflight: number, durationMs: number): Promise<Measurement> {
  await call();
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors };
}
