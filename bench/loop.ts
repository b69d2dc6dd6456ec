// The closed loop every caller-side benchmark uses: `inflight` loops, each awaiting one call after another
// until the time is up, measuring every call's latency. A call that fails counts as an error; one whose reply is
// wrong (WrongReply) stops every loop and fails the measurement, as does a round in which no call succeeded.
import { WrongReply } from './replies.ts';
import { percentile, type Measurement } from './stats.ts';

export async function measureLoop(call: () => Promise<unknown>, inflight: number, durationMs: number): Promise<Measurement> {
  await call();
  const latencies: number[] = [];
  let errors = 0;
  let wrong: WrongReply | undefined;
  let firstError: unknown;
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async () => {
    while (!wrong && performance.now() < deadline) {
      const t = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch (err) {
        if (err instanceof WrongReply) wrong = err;
        else if (errors++ === 0) firstError = err;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  if (wrong) throw wrong;
  if (latencies.length === 0) throw new WrongReply(`no call succeeded in ${durationMs} ms (${errors} failed, the first with ${String(firstError)})`);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors };
}
