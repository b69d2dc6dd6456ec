// Crash reports from the gateways themselves: an INTERNAL error a gateway makes (not one a service answered) is
// answered with an id, logged once under it with the stack, and published on mesh.reports.crash with that id.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { addMicroService } from '../../mesh/service/micro-service.ts';
import { pino } from 'pino';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createGatewayAuth, type Authenticator } from '../../mesh/auth/index.ts';
import { createReports, hostService, type HostedService, type Report } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { ERROR_ID, NATS_URL, reportWithId as reportedWithId, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession } from '../gateway-wamp/raw-client.ts';
import { serveHttpApp } from '../gateway-http/serve-app.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** A real pino logger whose JSON lines the test reads. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A user directory that is down: every credential it is asked about throws, as an unexpected exception. */
const brokenDirectory: Authenticator = {
  configured: true,
  peek: () => undefined,
  authenticate: () => Promise.reject(new TypeError('the user directory is down')),
};

describe('crash reports from the gateways', () => {
  let nc: NatsConnection;
  let greeting: GreetingService;
  let hosted: HostedService;
  /** A procedure of a bare nats.js service whose answer is not [args, kwargs] in any codec. */
  const GARBLED = `${uniqueName('garbled')}.read`;
  let crashes: Subscription;
  const reported: Report[] = [];

  /** The crash report published with the given error id. */
  const reportWithId = (errorId: string) => reportedWithId(reported, errorId);

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    greeting = new GreetingService();
    greeting.name = uniqueName('crash_greeting');
    hosted = await hostService(greeting, { nc, logger: silentLogger });
    const bare = addMicroService(nc, { name: GARBLED.split('.')[0]!, logger: silentLogger, version: '0.0.1' });
    bare.addEndpoint('read', { subject: GARBLED, queue: 'q', handler: (msg) => void msg.respond('<html>oops</html>') });
    crashes = nc.subscribe('mesh.reports.crash', { callback: (_err, msg) => void reported.push(msg.json<Report>()) });
    await nc.flush();
  });

  after(async () => {
    crashes.unsubscribe();
    await hosted.stop();
    await nc.drain();
  });

  /** The HTTP gateway's app with the given logger, reports and auth; stopped after the test. */
  async function serveHttp(t: TestContext, options: Parameters<typeof serveHttpApp>[1]): Promise<string> {
    const served = await serveHttpApp(nc, options);
    t.after(() => served.stop());
    return served.url;
  }

  it('gateway-http: an authenticator that throws gives a 500 with an id, one log line under it and a crash report', async (t) => {
    const { logger, lines } = capturingLogger();
    // The reporter hook throws too: the request is still answered, and the report still published.
    const reports = createReports(nc, logger, {
      slowMs: 1000,
      queueSize: 10,
      timeoutMs: 100,
      reporter: {
        report: () => {
          throw new Error('reporter down');
        },
      },
    });
    const { auth } = testConfig({ 'auth.meshSecret': 'a mesh secret of at least thirty-two characters' });
    const url = await serveHttp(t, { logger, reports, auth: { ...createGatewayAuth(auth)!, authenticator: brokenDirectory } });

    const procedure = `${greeting.name}.hello`;
    const res = await fetch(`${url}/${procedure}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer some-api-key', traceparent: TRACEPARENT },
      body: '[["Ann"]]',
    });
    assert.equal(res.status, 500);
    const { error } = (await res.json()) as { error: { code: string; message: string; id: string } };
    assert.deepEqual([error.code, error.message], ['INTERNAL', 'internal error']);
    assert.match(error.id, ERROR_ID);

    const report = await reportWithId(error.id);
    assert.deepEqual([report.kind, report.service, report.procedure, report.caller, report.trace_id], ['crash', 'gateway-http', procedure, undefined, TRACE_ID]);
    assert.equal(typeof report.duration_ms, 'number');
    assert.match(report.stack ?? '', /TypeError: the user directory is down[\s\S]*gateway-reports\.test\.ts/);

    const logged = lines.filter((line) => line.error_id === error.id);
    assert.equal(logged.length, 1, 'one log line under the error id');
    assert.equal(logged[0]!.level, 50);
    assert.equal(logged[0]!.trace_id, TRACE_ID);
    assert.match(String((logged[0]!.err as { stack?: string }).stack), /the user directory is down/);
    for (let i = 0; i < 100 && reports.dropped === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(reports.dropped, 1, 'the report the throwing reporter did not take is counted');
  });

  it('gateway-http: an error a service answered is not reported again by the gateway', async (t) => {
    const { logger, lines } = capturingLogger();
    const url = await serveHttp(t, { logger, reports: createReports(nc, logger) });
    // Bad arguments: the service answers INVALID_ARGUMENT under its own id; the gateway only passes it on.
    const res = await fetch(`${url}/${greeting.name}.hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[[42]]' });
    assert.equal(res.status, 400);
    const { error } = (await res.json()) as { error: { id: string } };
    assert.match(error.id, ERROR_ID);
    assert.deepEqual(
      lines.filter((line) => line.error_id === error.id || (line.report as Report | undefined)?.error_id === error.id),
      [],
    );
    assert.equal(
      reported.some((r) => r.error_id === error.id),
      false,
    );
  });

  it('gateway-wamp: a reply it cannot decode is an ERROR with an id, one log line under it and a crash report', async (t) => {
    const { logger, lines } = capturingLogger();
    const procedure = GARBLED;
    const gateway = await startWamp({ config: testConfig(), logger });
    const client = await openSession(gateway.wsUrl);
    t.after(async () => {
      await client.close();
      await gateway.stop();
    });

    client.send([MessageType.CALL, 1, { traceparent: TRACEPARENT }, procedure, []]);
    const [type, requestType, requestId, , uri, args, kwargs] = await client.next();
    assert.deepEqual([type, requestType, requestId, uri, args], [MessageType.ERROR, MessageType.CALL, 1, 'mesh.error.internal', ['reply is not decodable']]);
    const { id, code } = kwargs as { id: string; code: string };
    assert.equal(code, 'INTERNAL');
    assert.match(id, ERROR_ID);

    const report = await reportWithId(id);
    assert.deepEqual([report.kind, report.service, report.procedure, report.trace_id], ['crash', 'gateway-wamp', procedure, TRACE_ID]);
    assert.match(report.stack ?? '', /reply is not decodable/);
    const logged = lines.filter((line) => line.error_id === id);
    assert.equal(logged.length, 1, 'one log line under the error id');
    assert.deepEqual([logged[0]!.level, logged[0]!.procedure, logged[0]!.trace_id], [50, procedure, TRACE_ID]);
  });

  it('gateway-http JSON-RPC: a reply it cannot decode is an Internal error with an id in its data, logged and reported', async (t) => {
    const { logger, lines } = capturingLogger();
    const url = await serveHttp(t, { logger, reports: createReports(nc, logger) });
    const res = await fetch(`${url}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: TRACEPARENT },
      body: JSON.stringify({ jsonrpc: '2.0', method: GARBLED, id: 7 }),
    });
    assert.equal(res.status, 200);
    const { error, id } = (await res.json()) as { id: number; error: { code: number; data: { code: string; id: string } } };
    assert.deepEqual([id, error.code, error.data.code], [7, -32603, 'INTERNAL']);
    assert.match(error.data.id, ERROR_ID);
    const report = await reportWithId(error.data.id);
    assert.deepEqual([report.service, report.procedure, report.trace_id], ['gateway-http', GARBLED, TRACE_ID]);
    assert.equal(lines.filter((line) => line.error_id === error.data.id).length, 1, 'one log line under the error id');
  });
});
