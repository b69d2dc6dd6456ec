// Trace context, error ids and reports across real processes: an HTTP call with a traceparent goes through the
// gateway to a service that calls another; logs, spans (at a local OTLP/HTTP receiver) and reports are checked.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Report } from '../../mesh/gateway.ts';
import { ERROR_ID, freePort, NATS_URL, uniqueName } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./fixtures/relay.ts', import.meta.url));

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

/** A small OTLP/HTTP receiver: keeps every span posted as JSON to /v1/traces, with its resource's service.name. */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: (OtlpSpan & { service: string })[] }> {
  const spans: (OtlpSpan & { service: string })[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
        const data = JSON.parse(body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const { resource, scopeSpans } of data.resourceSpans) {
          const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

interface Child {
  process: ChildProcess;
  lines: () => Record<string, unknown>[];
}

function meshProcess(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [MESH, ...args], {
    env: { ...process.env, NATS_URL, LOG_LEVEL: 'debug', LOG_FORMAT: 'json', OTEL_BSP_SCHEDULE_DELAY: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return {
    process: child,
    lines: () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The next report on the subject whose procedure is the given one. */
async function nextReport(subscription: Subscription, procedure: string): Promise<Report> {
  for await (const msg of subscription) {
    const report = msg.json<Report>();
    if (report.procedure === procedure) return report;
  }
  throw new Error('subscription closed');
}

describe('trace context, error ids and reports across processes', () => {
  const FRONT = uniqueName('front');
  const BACK = uniqueName('back');
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let children: Child[];
  let gateway: Child;
  let front: Child;
  let back: Child;
  let url: string;
  let nc: NatsConnection;

  const post = (procedure: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/${procedure}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

  before(async () => {
    receiver = await otlpReceiver();
    const port = await freePort();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    back = meshProcess(['run', RELAY], { ...otel, RELAY_NAME: BACK });
    front = meshProcess(['run', RELAY], { ...otel, RELAY_NAME: FRONT, RELAY_NEXT: BACK });
    gateway = meshProcess(['gateway', 'http', '--port', String(port), '--host', '127.0.0.1'], otel);
    children = [gateway, front, back];
    url = `http://127.0.0.1:${port}`;
    nc = await connect({ servers: NATS_URL });
    await until(async () => (await post(`${FRONT}.relay`, '[["ping"]]').catch(() => undefined))?.status === 200, 'the relay chain to answer');
  });

  after(async () => {
    await nc.drain();
    for (const child of children) child.process.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.process.exitCode === null ? once(child.process, 'exit') : undefined)));
    receiver.server.close();
  });

  it("keeps the caller's trace id in every log line and span of all three processes, with correct parent links", async () => {
    const res = await post(`${FRONT}.relay`, '[["hi"]]', { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [[`${FRONT}>${BACK}:hi`], {}]);
    assert.equal(res.headers.get('trace-id'), TRACE_ID);
    assert.match(res.headers.get('traceparent') ?? '', new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));

    // Every request log line of the call (its trace id is the caller's), in each of the three processes.
    const requestLines = (child: Child) => child.lines().filter((line) => line.trace_id === TRACE_ID);
    await until(() => children.every((child) => requestLines(child).length > 0), 'request log lines in every process');
    for (const child of children) {
      for (const line of requestLines(child)) assert.match(String(line.request_id), /^[0-9a-f]{16}$/);
      const others = child.lines().filter((line) => line.msg === 'request' && String(line.subject).startsWith(FRONT) && line.trace_id !== TRACE_ID);
      assert.equal(others.filter((line) => line.trace_id === undefined).length, 0, 'no request line without a trace id');
    }

    // Spans: gateway server -> gateway client -> front server -> front client -> back server.
    const spans = await until(() => {
      const found = receiver.spans.filter((span) => span.traceId === TRACE_ID);
      return found.length >= 5 && found;
    }, 'five spans of the trace at the OTLP receiver');
    const byParent = (parent: string | undefined) => spans.filter((span) => (span.parentSpanId || undefined) === parent);
    const [gatewayServer] = byParent(CALLER_SPAN);
    assert.equal(gatewayServer?.service, 'gateway-http');
    assert.equal(gatewayServer.name, `POST /${FRONT}.relay`);
    const [gatewayClient] = byParent(gatewayServer.spanId);
    assert.deepEqual([gatewayClient?.service, gatewayClient?.name], ['gateway-http', `${FRONT}.relay`]);
    const [frontServer] = byParent(gatewayClient!.spanId);
    assert.deepEqual([frontServer?.name, frontServer?.kind], [`${FRONT}.relay`, 2]);
    const [frontClient] = byParent(frontServer!.spanId);
    assert.deepEqual([frontClient?.name, frontClient?.kind], [`${BACK}.relay`, 3]);
    const [backServer] = byParent(frontClient!.spanId);
    assert.deepEqual([backServer?.name, backServer?.kind], [`${BACK}.relay`, 2]);
    assert.equal(frontServer!.service, frontClient!.service);
    assert.notEqual(frontServer!.service, gatewayServer.service);
  });

  it('replaces a malformed traceparent with a fresh trace, never an error', async () => {
    for (const bad of ['garbage', `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`, `ff-${TRACE_ID}-${CALLER_SPAN}-01`, `00-${TRACE_ID.toUpperCase()}-${CALLER_SPAN}-01`]) {
      const res = await post(`${FRONT}.relay`, '[["x"]]', { traceparent: bad });
      assert.equal(res.status, 200, bad);
      const traceId = res.headers.get('trace-id') ?? '';
      assert.match(traceId, /^[0-9a-f]{32}$/, bad);
      assert.notEqual(traceId, TRACE_ID, bad);
      assert.notEqual(traceId, '0'.repeat(32), bad);
      await until(() => back.lines().some((line) => line.trace_id === traceId), `the fresh trace ${traceId} in the back service's logs`);
    }
  });

  it('answers a crash with a 500 carrying an id, logs it with the stack and publishes a crash report', async () => {
    const reports = nc.subscribe('mesh.reports.crash');
    await nc.flush();
    const res = await post(`${FRONT}.crash`, '[]');
    assert.equal(res.status, 500);
    const body = (await res.json()) as { error: { code: string; message: string; status: number; id: string } };
    assert.equal(body.error.code, 'INTERNAL');
    assert.equal(body.error.message, 'internal error');
    assert.match(body.error.id, ERROR_ID);
    const report = await nextReport(reports, `${FRONT}.crash`);
    reports.unsubscribe();
    assert.equal(report.kind, 'crash');
    assert.equal(report.error_id, body.error.id);
    assert.equal(report.service, FRONT);
    assert.equal(report.trace_id, res.headers.get('trace-id'));
    assert.match(report.stack ?? '', /the relay broke[\s\S]*relay\.ts/);
    const logged = await until(() => front.lines().find((line) => line.error_id === body.error.id && line.level === 50), 'the crash log line');
    assert.match(String((logged.err as { stack?: string } | undefined)?.stack), /Error: the relay broke/);
    assert.equal(logged.trace_id, res.headers.get('trace-id'));
  });

  it('publishes a slow-call report for a call slower than its threshold', async () => {
    const reports = nc.subscribe('mesh.reports.slow');
    await nc.flush();
    const res = await post(`${FRONT}.nap`, '[]');
    assert.equal(res.status, 200);
    const report = await nextReport(reports, `${FRONT}.nap`);
    reports.unsubscribe();
    assert.equal(report.kind, 'slow');
    assert.equal(report.threshold_ms, 50);
    assert.ok(report.duration_ms >= 100, `took ${report.duration_ms} ms`);
    assert.equal(report.trace_id, res.headers.get('trace-id'));
  });
});
