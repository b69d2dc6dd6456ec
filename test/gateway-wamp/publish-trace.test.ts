// Trace context on WAMP PUBLISH: the `traceparent`/`tracestate` options reach an @event handler through NATS, so
// it runs in the publisher's trace; a malformed or mistyped traceparent still publishes, in a fresh trace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { currentCall, event, hostService, startTracing, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { openSession, type RawClient } from './raw-client.ts';

const { PUBLISH, PUBLISHED } = MessageType;
const TOPIC = uniqueName('traced_news');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PUBLISHER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PUBLISHER_SPAN}-01`;

class NewsReader {
  name = uniqueName('news_reader');
  readonly read: { headline: string; traceId: string | undefined }[] = [];

  @event(TOPIC)
  async onNews(headline: string) {
    this.read.push({ headline, traceId: currentCall()?.traceId });
  }
}

describe('trace context on WAMP PUBLISH', () => {
  let nc: NatsConnection;
  let gateway: RunningWampGateway;
  let hosted: HostedService;
  let client: RawClient;
  const reader = new NewsReader();
  let requestId = 0;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(reader, { nc, logger: silentLogger });
    gateway = await start({ config: testConfig({ 'wamp.port': 0, 'wamp.host': '127.0.0.1' }), logger: silentLogger });
    client = await openSession(gateway.wsUrl);
  });

  after(async () => {
    await startTracing('test', { enabled: true });
    await client.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  /** Publishes with acknowledge, expects PUBLISHED, and returns the NATS message and what the handler saw. */
  async function publish(headline: string, options: Record<string, unknown>) {
    const raw = nc.subscribe(TOPIC, { max: 1 });
    await nc.flush();
    const id = ++requestId;
    client.send([PUBLISH, id, { acknowledge: true, ...options }, TOPIC, [headline]]);
    const [type, answered] = await client.next();
    assert.deepEqual([type, answered], [PUBLISHED, id]);
    let msg: Msg | undefined;
    for await (const received of raw) msg = received;
    for (let i = 0; i < 100 && !reader.read.some((r) => r.headline === headline); i++) await new Promise((r) => setTimeout(r, 20));
    const seen = reader.read.find((r) => r.headline === headline);
    assert.ok(seen, `the handler got ${headline}`);
    return { traceparent: msg?.headers?.get('traceparent') ?? '', tracestate: msg?.headers?.get('tracestate') ?? '', traceId: seen.traceId };
  }

  it('runs the @event handler in the trace of the traceparent option, sent on by a span of the gateway', async () => {
    const { traceparent, tracestate, traceId } = await publish('rates up', { traceparent: TRACEPARENT, tracestate: 'vendor=opaque' });
    assert.equal(traceId, TRACE_ID);
    // The NATS message carries the gateway's producer span, a child of the publisher's.
    const [, traceOnNats, spanOnNats, flags] = traceparent.split('-');
    assert.deepEqual([traceOnNats, flags], [TRACE_ID, '01']);
    assert.match(spanOnNats ?? '', /^[0-9a-f]{16}$/);
    assert.notEqual(spanOnNats, PUBLISHER_SPAN);
    assert.equal(tracestate, 'vendor=opaque');
  });

  it('starts a fresh trace for a publication without a traceparent', async () => {
    const { traceparent, traceId } = await publish('no trace given', {});
    assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
    assert.equal(traceparent.split('-')[1], traceId);
  });

  it('still publishes with a malformed or mistyped traceparent, in a fresh trace, and drops its tracestate', async () => {
    const bad = ['garbage', `00-${'0'.repeat(32)}-${PUBLISHER_SPAN}-01`, `ff-${TRACE_ID}-${PUBLISHER_SPAN}-01`, `00-${TRACE_ID.toUpperCase()}-${PUBLISHER_SPAN}-01`, 42, { nested: TRACEPARENT }];
    for (const [i, traceparent] of bad.entries()) {
      const seen = await publish(`bad trace ${i}`, { traceparent, tracestate: 'vendor=opaque' });
      assert.match(seen.traceId ?? '', /^[0-9a-f]{32}$/, String(traceparent));
      assert.notEqual(seen.traceId, TRACE_ID, String(traceparent));
      assert.equal(seen.traceparent.split('-')[1], seen.traceId);
      assert.equal(seen.tracestate, '', 'a tracestate without a valid traceparent is not passed on');
    }
  });

  it('adds no trace headers while tracing is off, and still publishes', async () => {
    await startTracing('test', { enabled: false });
    const { traceparent, tracestate } = await publish('untraced', { traceparent: TRACEPARENT, tracestate: 'vendor=opaque' });
    assert.deepEqual([traceparent, tracestate], ['', '']);
  });
});
