// Many concurrent HTTP connections in its own process: Debian's wrk (C, two threads) holding `connections` open
// against one URL, POSTing a fixed body. Reports requests/s, p50/p99 latency, errors and timeouts; judges nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Measurement } from '../stats.ts';
import { serve } from './ipc.ts';

interface LoadMessage {
  url: string;
  body: string;
  connections: number;
  durationMs: number;
}

/** A request slower than this is a timeout, as wrk counts it. */
const TIMEOUT_S = 2;

/** wrk's Lua hook prints the summary as one JSON line after its own report. */
function script(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-wrk-')), 'post.lua');
  writeFileSync(
    file,
    `wrk.method = "POST"
wrk.body = ${JSON.stringify(body)}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('SUMMARY {"requests":%d,"us":%d,"p50":%d,"p99":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
`,
  );
  return file;
}

export interface ConnectionsMeasurement extends Measurement {
  timeouts: number;
}

async function load({ url, body, connections, durationMs }: LoadMessage): Promise<ConnectionsMeasurement> {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const wrk = spawn('wrk', ['-t', '2', '-c', String(connections), '-d', `${seconds}s`, '--timeout', `${TIMEOUT_S}s`, '-s', script(body), url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  wrk.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = await once(wrk, 'exit');
  const line = /SUMMARY (\{.*\})/.exec(output)?.[1];
  if (code !== 0 || !line) throw new Error(`wrk exited with ${code}: ${output}`);
  const s = JSON.parse(line) as Record<'requests' | 'us' | 'p50' | 'p99' | 'connect' | 'read' | 'write' | 'status' | 'timeout', number>;
  const errors = s.connect + s.read + s.write + s.status + s.timeout;
  return { rate: (s.requests - s.status) / (s.us / 1e6), p50Ms: s.p50 / 1000, p99Ms: s.p99 / 1000, errors, timeouts: s.timeout };
}

serve({}, (message) => load(message as unknown as LoadMessage));
