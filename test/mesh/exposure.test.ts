// The start-up warning of a gateway reachable beyond loopback with no authentication: once, only then.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { isLoopback, warnIfOpen } from '../../mesh/edge/exposure.ts';
import { testConfig } from '../helpers.ts';

/** A logger that keeps its JSON lines. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; host?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), warnings: () => lines.filter((l) => l.level === 40) };
}

describe('warnIfOpen', () => {
  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', 'LOCALHOST']) assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.org', '128.0.0.1']) assert.equal(isLoopback(host), false, host);
  });

  it('warns beyond loopback without authentication, and only then', async () => {
    const { logger, warnings } = capturingLogger();
    assert.equal(warnIfOpen('gateway-http', '127.0.0.1', false, logger), false);
    assert.equal(warnIfOpen('gateway-http', '0.0.0.0', true, logger), false);
    assert.equal(warnIfOpen('gateway-http', '0.0.0.0', false, logger), true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings().length, 1);
    assert.match(warnings()[0]!.msg, /gateway-http listens on 0\.0\.0\.0 with no authentication/);
  });

  for (const [name, start, setting] of [
    ['gateway-http', startHttp, 'http.host'],
    ['gateway-wamp', startWamp, 'wamp.host'],
  ] as const) {
    it(`${name} warns once at start on 0.0.0.0 and not on 127.0.0.1`, async () => {
      for (const [host, expected] of [
        ['0.0.0.0', 1],
        ['127.0.0.1', 0],
      ] as const) {
        const { logger, warnings } = capturingLogger();
        const gateway = await start({ config: testConfig({ [setting]: host }), logger });
        await gateway.stop();
        const open = warnings().filter((w) => /with no authentication/.test(w.msg));
        assert.equal(open.length, expected, `${name} on ${host}`);
      }
    });
  }
});
