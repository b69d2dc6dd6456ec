// Logs that survive a flood of bad requests, on both gateways: refusals are logged at most log.refusalsPerSecond
// a second per code plus a line counting the rest, the metrics count every one, and INTERNAL errors are always logged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createRefusalLog } from '../../mesh/edge/refusal-log.ts';
import { createGatewayAuth, type Authenticator } from '../../mesh/auth/index.ts';
import { openSession } from '../gateway-wamp/raw-client.ts';
import { sampleValue } from './promtool.ts';
import { ERROR_ID, NATS_URL, testConfig, uniqueName } from '../helpers.ts';
import { serveHttpApp } from '../gateway-http/serve-app.ts';

const PER_SECOND = 5;
const FLOOD = 300;

/** A real pino logger whose JSON lines the test reads. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A gateway's stop that may be called again: the test stops it to read the summary, and in any case at its end. */
function stoppable<T extends { stop(): Promise<void> }>(gateway: T): T {
  let stopping: Promise<void> | undefined;
  const stop = gateway.stop.bind(gateway);
  return Object.assign(gateway, { stop: () => (stopping ??= stop()) });
}

/** A gateway that was flooded with FLOOD refusals of one code for `floodMs`, and the lines it logged. */
interface Flooded {
  gateway: { url: string; stop(): Promise<void> };
  lines: Record<string, unknown>[];
  floodMs: number;
}

/**
 * Its metrics count every refusal; once stopped, it logged at least the first PER_SECOND lines and at most
 * PER_SECOND in each second the flood touched, and the summary lines count the rest exactly.
 */
async function assertSampled({ gateway, lines, floodMs }: Flooded, message: string, code: string): Promise<void> {
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  assert.equal(sampleValue(metrics, 'mesh_gateway_refusals_total', { code }), FLOOD);
  await gateway.stop();
  const logged = lines.filter((l) => l.msg === message && l.code === code).length;
  assert.ok(logged >= PER_SECOND, `the first ${PER_SECOND} are logged (${logged})`);
  assert.ok(logged <= PER_SECOND * (Math.ceil(floodMs / 1000) + 1), `${logged} lines for ${FLOOD} refusals in ${floodMs.toFixed(0)} ms`);
  const summaries = lines.filter((l) => l.msg?.toString().startsWith('refusals not logged'));
  const suppressed = summaries.reduce((n, l) => n + ((l.suppressed as Record<string, number>)[code] ?? 0), 0);
  assert.equal(suppressed, FLOOD - logged, 'the summary counts the rest exactly');
}

describe('refusal logs under a flood', () => {
  it('gateway-http: a flood of unknown names logs at most the limit and one summary, returns every id, and counts every one', async () => {
    const { logger, lines } = capturingLogger();
    const gateway = stoppable(await startHttp({ config: testConfig({ 'log.level': 'info', 'log.refusalsPerSecond': PER_SECOND }), logger }));
    try {
      const started = performance.now();
      const ids: string[] = [];
      for (let batch = 0; batch < FLOOD / 50; batch++) {
        const replies = await Promise.all(Array.from({ length: 50 }, () => fetch(`${gateway.url}/${uniqueName('nope')}.x`, { method: 'POST' })));
        for (const reply of replies) {
          assert.equal(reply.status, 404);
          ids.push(((await reply.json()) as { error: { id: string } }).error.id);
        }
      }
      const floodMs = performance.now() - started;
      assert.ok(
        ids.every((id) => ERROR_ID.test(id)),
        'a refusal that is not logged still tells the client its id',
      );
      assert.equal(new Set(ids).size, FLOOD);
      await assertSampled({ gateway, lines, floodMs }, 'request refused', 'UNKNOWN_PROCEDURE');
    } finally {
      await gateway.stop();
    }
  });

  it('gateway-http: an INTERNAL error is logged under its id even when refusals are not logged at all', async (t) => {
    const nc = await connect({ servers: NATS_URL });
    t.after(() => nc.drain());
    const { logger, lines } = capturingLogger();
    const brokenDirectory: Authenticator = { configured: true, peek: () => undefined, authenticate: () => Promise.reject(new TypeError('the user directory is down')) };
    const { auth } = testConfig({ 'auth.meshSecret': 'a mesh secret of at least thirty-two characters' });
    const served = await serveHttpApp(nc, { logger, refusals: createRefusalLog({ logger, perSecond: 0 }), auth: { ...createGatewayAuth(auth)!, authenticator: brokenDirectory } });
    t.after(() => served.stop());

    const refused = await fetch(`${served.url}/some.thing`, { method: 'POST', headers: { authorization: 'Basic nope' } });
    assert.equal(refused.status, 401);
    const crashed = await fetch(`${served.url}/some.thing`, { method: 'POST', headers: { authorization: 'Bearer some-api-key' } });
    assert.equal(crashed.status, 500);
    const { error } = (await crashed.json()) as { error: { id: string } };
    assert.equal(lines.filter((l) => l.msg === 'request refused').length, 0, 'the refusal is only counted');
    const logged = lines.filter((l) => l.error_id === error.id);
    assert.equal(logged.length, 1, 'one line under the INTERNAL error id');
    assert.equal(logged[0]!.level, 50);
  });

  it('gateway-wamp: a flood of malformed CALLs logs at most the limit and one summary, and counts every one', async () => {
    const { logger, lines } = capturingLogger();
    const gateway = stoppable(await startWamp({ config: testConfig({ 'log.level': 'info', 'log.refusalsPerSecond': PER_SECOND }), logger }));
    try {
      const session = await openSession(gateway.wsUrl);
      const started = performance.now();
      for (let request = 1; request <= FLOOD; request++) session.send([MessageType.CALL, request, {}, 'not..a.uri', []]);
      for (let request = 1; request <= FLOOD; request++) {
        const [type, , id, , uri, , kwargs] = await session.next();
        assert.deepEqual([type, id, uri], [MessageType.ERROR, request, 'wamp.error.invalid_uri']);
        assert.match((kwargs as { id: string }).id, ERROR_ID);
      }
      const floodMs = performance.now() - started;
      await session.close();
      await assertSampled({ gateway, lines, floodMs }, 'WAMP request refused', 'INVALID_ARGUMENT');
    } finally {
      await gateway.stop();
    }
  });
});
