// The HTTP load generator, in its own process: autocannon with a fixed number of connections. Every answer's body
// is checked; one that is wrong fails the measurement (WrongReply) rather than counting.
import autocannon from 'autocannon';
import { WrongReply } from '../replies.ts';
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
  /** The body every answer must have (exactly), or a text it must contain. */
  answer: { equals: string } | { includes: string };
}

async function load({ url, body, connections, durationMs, headers = {}, expect = '2xx', answer }: LoadMessage): Promise<Measurement> {
  let firstWrong: string | undefined;
  const verifyBody = (body: string | Buffer | undefined) => {
    const text = String(body ?? '');
    const right = 'equals' in answer ? text === answer.equals : text.includes(answer.includes);
    if (!right) firstWrong ??= text.slice(0, 200);
    return right;
  };
  const result = await autocannon({
    verifyBody,
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    connections,
    duration: durationMs / 1000,
  });
  if (result.mismatches > 0) throw new WrongReply(`${result.mismatches} answers had another body than ${JSON.stringify(answer)}, the first ${JSON.stringify(firstWrong)}`);
  const answered = result[expect];
  const other = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'] - answered;
  return { rate: answered / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + other };
}

serve({}, (message) => load(message as unknown as LoadMessage));
