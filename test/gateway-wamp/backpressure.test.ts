// Backpressure: a WAMP client that stops reading is closed with 1008 once more than wamp.maxBufferedBytes wait
// unsent for it, so it cannot grow the gateway's memory; a client on the same topic that reads gets every event.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { jsonCodec } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession } from './raw-client.ts';

/** 30 MB: more than the loopback socket buffers of both ends hold, so the gateway's own buffer must fill. */
const EVENTS = 300;
const EVENT_BYTES = 100 * 1024;

describe('gateway-wamp backpressure', () => {
  let gateway: Awaited<ReturnType<typeof start>>;
  let nc: NatsConnection;

  before(async () => {
    const config = testConfig({ 'wamp.maxBufferedBytes': '64kb' });
    gateway = await start({ config, logger: silentLogger });
    nc = await connect({ servers: config.nats.url });
  });

  after(async () => {
    await gateway.stop();
    await nc.drain();
  });

  it('closes a client that does not read with 1008 and keeps serving the one that does', async () => {
    const topic = uniqueName('flood');
    const slow = await openSession(gateway.wsUrl);
    const fast = await openSession(gateway.wsUrl);
    for (const client of [slow, fast]) {
      client.send([32, 1, {}, topic]);
      assert.equal((await client.next())[0], 33);
    }
    slow.ws.pause();

    // One event at a time, each read by the fast client before the next: it never has anything waiting.
    const filler = 'x'.repeat(EVENT_BYTES);
    for (let i = 0; i < EVENTS; i++) {
      nc.publish(topic, jsonCodec.encode([[i, filler], {}]));
      const [type, , , , args] = await fast.next();
      assert.deepEqual([type, (args as unknown[])[0]], [36, i]);
    }

    let received = 0;
    slow.ws.on('message', () => received++);
    slow.ws.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /slow consumer/);
    assert.ok(received < EVENTS, `the slow client got ${received} of ${EVENTS} events: the rest were never buffered`);
    await fast.close();
  });
});
