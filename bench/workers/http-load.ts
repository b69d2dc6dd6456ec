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
  /** The status class that counts as answered (2xx unless told, e.g. 4xx for unknown procedures); the others are errors. */
  expect?: '2xx' | '4xx';
}

async function load({ url, body, connections, durationMs, headers = {}, expect = '2xx' }: LoadMessage): Promise<Measurement> {
  const result = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    connections,
    duration: durationMs / 1000,
  });
  const answered = result[expect];
  const other = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'] - answered;
  return { rate: answered / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + other };
}

serve({}, (message) => load(message as unknown as LoadMessage));
