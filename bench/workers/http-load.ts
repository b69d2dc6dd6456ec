// The HTTP load generator, in its own process: autocannon with a fixed number of connections.
import autocannon from 'autocannon';
import type { Measurement } from '../stats.ts';
import { serve } from './ipc.ts';

interface LoadMessage {
  url: string;
  body: string;
  connections: number;
  durationMs: number;
  /** More request headers, e.g. Authorization. */
  headers?: Record<string, string>;
}

async function load({ url, body, connections, durationMs, headers = {} }: LoadMessage): Promise<Measurement> {
  const result = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    connections,
    duration: durationMs / 1000,
  });
  const ok = result['2xx'];
  return { rate: ok / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + result.non2xx };
}

serve({}, (message) => load(message as unknown as LoadMessage));
