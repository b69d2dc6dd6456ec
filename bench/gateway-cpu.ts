// The CPU time an HTTP server process spends per request (`node --import tsx bench/gateway-cpu.ts`): bare Koa with
// the lean caller, gateway-http with metrics and tracing off, with one of them on, as configured by default (both on),
// and checking a JWT and a policy. CPU per request moves much less than throughput on a busy 2-core machine, so it
// shows what each gateway layer costs.
import { randomBytes } from 'node:crypto';
import { REQUEST_JSON } from './baselines/greeting.ts';
import { GREETING_REPLY_JSON } from './replies.ts';
import type { Measurement } from './stats.ts';
import { benchToken } from './token.ts';
import { startWorker, type Worker } from './worker.ts';

const DURATION_MS = 4000;
/** 64 by default; `CONNECTIONS=1` shows what a single call costs. */
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);
const service = `gateway_cpu_${randomBytes(3).toString('hex')}`;
const secret = randomBytes(32).toString('base64');
const token = await benchToken(secret);

const workers: Worker<Record<string, unknown>>[] = [];
try {
  workers.push(await startWorker('responder', ['mesh', service, secret]));
  const load = await startWorker('http-load');
  workers.push(load);
  const servers: [string, string[], Record<string, string>][] = [
    ['bare Koa + lean caller', ['koa-lean', service], {}],
    ['gateway-http, metrics and tracing off', ['gateway-unobserved', service], {}],
    ['gateway-http, metrics only', ['gateway-metrics-only', service], {}],
    ['gateway-http, tracing only', ['gateway-tracing-only', service], {}],
    ['gateway-http', ['gateway', service], {}],
    ['gateway-http, JWT + policy', ['gateway-auth', service, secret], { authorization: `Bearer ${token}` }],
  ];
  for (const [label, args, headers] of servers) {
    const server = await startWorker<{ url: string }>('http-server', args);
    workers.push(server as Worker<Record<string, unknown>>);
    const request = { url: `${server.info.url}/${service}.hello`, body: REQUEST_JSON, answer: { equals: GREETING_REPLY_JSON }, connections: CONNECTIONS, headers };
    await load.request<Measurement>({ ...request, durationMs: 1000 });
    const before = await server.request<number>({ cpu: true });
    const measured = await load.request<Measurement>({ ...request, durationMs: DURATION_MS });
    const used = (await server.request<number>({ cpu: true })) - before;
    const requests = measured.rate * (DURATION_MS / 1000);
    process.stdout.write(
      `${label.padEnd(40)} ${(used / requests).toFixed(1).padStart(6)} µs of server CPU per request (${measured.rate.toFixed(0)}/s, p50 ${measured.p50Ms} ms, ${measured.errors} errors)\n`,
    );
  }
} finally {
  await Promise.all(workers.map((w) => w.stop()));
}
