// Many concurrent HTTP connections in its own process: Debian's wrk (C, two threads) holding `connections` open
// against one URL, POSTing a fixed body. Reports requests/s, p50/p99 latency, errors and timeouts; a 200 whose body
// is not the one expected fails the measurement (WrongReply).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WrongReply } from '../replies.ts';
import type { Measurement } from '../stats.ts';
import { serve } from './ipc.ts';

interface LoadMessage {
  url: string;
  body: string;
  /** The body every 200 must have. */
  expected: string;
  connections: number;
  durationMs: number;
}

/** A request slower than this is a timeout, as wrk counts it. */
const TIMEOUT_S = 2;

/**
 * wrk's Lua hooks: each thread counts the 200s whose body is not `expected`, and `done` prints the summary with their
 * sum as one JSON line after wrk's own report.
 */
function script(body: string, expected: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-wrk-')), 'post.lua');
  writeFileSync(
    file,
    `wrk.method = "POST"
wrk.body = ${JSON.stringify(body)}
wrk.headers["Content-Type"] = "application/json"
expected = ${JSON.stringify(expected)}
wrong = 0
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
response = function(status, headers, body)
  if status == 200 and body ~= expected then wrong = wrong + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local wrongs = 0
  for _, thread in ipairs(threads) do wrongs = wrongs + thread:get("wrong") end
  io.write(string.format('SUMMARY {"requests":%d,"us":%d,"p50":%d,"p99":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"wrong":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout, wrongs))
end
`,
  );
  return file;
}

export interface ConnectionsMeasurement extends Measurement {
  timeouts: number;
}

async function load({ url, body, expected, connections, durationMs }: LoadMessage): Promise<ConnectionsMeasurement> {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const wrk = spawn('wrk', ['-t', '2', '-c', String(connections), '-d', `${seconds}s`, '--timeout', `${TIMEOUT_S}s`, '-s', script(body, expected), url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  wrk.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = await once(wrk, 'exit');
  const line = /SUMMARY (\{.*\})/.exec(output)?.[1];
  if (code !== 0 || !line) throw new Error(`wrk exited with ${code}: ${output}`);
  const s = JSON.parse(line) as Record<'requests' | 'us' | 'p50' | 'p99' | 'connect' | 'read' | 'write' | 'status' | 'timeout' | 'wrong', number>;
  if (s.wrong > 0) throw new WrongReply(`${s.wrong} answers with status 200 had another body than ${expected}`);
  const errors = s.connect + s.read + s.write + s.status + s.timeout;
  return { rate: (s.requests - s.status) / (s.us / 1e6), p50Ms: s.p50 / 1000, p99Ms: s.p99 / 1000, errors, timeouts: s.timeout };
}

serve({}, (message) => load(message as unknown as LoadMessage));
