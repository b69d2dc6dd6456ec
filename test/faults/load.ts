// What fault tests share: mesh processes started through the CLI, and a steady load of HTTP calls whose every
// outcome (status, error code, time taken) is kept, so a test can say what happened around a fault.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));

/** A `mesh` CLI process (e.g. `run services/greeting`) on the given NATS URLs. */
export function meshProcess(args: string[], natsUrls: string[]): ChildProcess {
  return spawn(process.execPath, [MESH, ...args], {
    env: { ...process.env, NATS_URL: natsUrls.join(','), LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
    stdio: 'ignore',
  });
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export interface Outcome {
  status: number;
  code?: string;
  /** When the call started and how long it took, in ms from the start of the load. */
  startedAt: number;
  ms: number;
}

export interface Load {
  /** ms since the load started. */
  now(): number;
  /** Stops starting calls and resolves with every outcome once the calls under way are answered. */
  finish(): Promise<Outcome[]>;
}

/** `concurrency` callers, each calling `url` with `body` again as soon as it is answered, until finish(). */
export function startLoad(url: string, body: string, concurrency = 64): Load {
  const started = performance.now();
  const now = () => performance.now() - started;
  const outcomes: Outcome[] = [];
  let running = true;
  const caller = async () => {
    while (running) {
      const startedAt = now();
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        const code = res.status === 200 ? undefined : (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        outcomes.push({ status: res.status, code, startedAt, ms: now() - startedAt });
      } catch {
        outcomes.push({ status: 0, code: 'NO_RESPONSE', startedAt, ms: now() - startedAt });
      }
    }
  };
  const callers = Array.from({ length: concurrency }, caller);
  return {
    now,
    async finish() {
      running = false;
      await Promise.all(callers);
      return outcomes;
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A short summary for an assertion message: counts by status and code, and the longest call. */
export function summary(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(`${o.status}${o.code ? ` ${o.code}` : ''}`, (counts.get(`${o.status}${o.code ? ` ${o.code}` : ''}`) ?? 0) + 1);
  const longest = Math.max(0, ...outcomes.map((o) => o.ms));
  return `${JSON.stringify(Object.fromEntries(counts))}, longest ${longest.toFixed(0)} ms`;
}
