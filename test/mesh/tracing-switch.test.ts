// The tracing switch (`tracing.enabled`, TRACING_ENABLED): on, a handler's own calls carry its span as the next
// hop's parent; off, the process makes no spans and passes the trace headers it received on unchanged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createCaller, hostService, rpc, Service, startTracing, tracingOn, type Caller, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const FRONT = uniqueName('switch_front');
const ECHO = `${uniqueName('switch_echo')}.headers`;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

/** Calls a raw NATS responder that answers with the trace headers it received, and returns them with its own trace id. */
class Front extends Service {
  name = FRONT;

  @rpc async relay() {
    const [[seen]] = await this.call(ECHO);
    return seen;
  }
}

describe('the tracing switch', () => {
  let nc: NatsConnection;
  let caller: Caller;
  let hosted: HostedService;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    nc.subscribe(ECHO, {
      callback: (_err, msg) => void msg.respond(JSON.stringify([[{ traceparent: msg.headers?.get('traceparent') || null }], {}])),
    });
    hosted = await hostService(new Front(), { nc, logger: silentLogger, config: testConfig() });
    caller = createCaller(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    await startTracing('test', { enabled: true });
    caller.close();
    await hosted.stop();
    await nc.drain();
  });

  /** The traceparent the service's own call carried, for a request that came with the caller's traceparent. */
  async function forwardedTraceparent(): Promise<string | null> {
    const sent = headers();
    sent.set('traceparent', TRACEPARENT);
    const reply = await caller.request(`${FRONT}.relay`, new TextEncoder().encode('[[], {}]'), { headers: sent });
    const [[seen]] = JSON.parse(new TextDecoder().decode(reply.data)) as [[{ traceparent: string | null }]];
    return seen.traceparent;
  }

  it('is on by default: the next hop is a child of the handler span, in the same trace', async () => {
    assert.equal(tracingOn(), true);
    const traceparent = await forwardedTraceparent();
    assert.match(traceparent ?? '', new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    assert.notEqual(traceparent, TRACEPARENT);
  });

  it('turned off, passes the received traceparent on unchanged and adds none of its own', async () => {
    await startTracing('test', { enabled: false });
    assert.equal(tracingOn(), false);
    assert.equal(await forwardedTraceparent(), TRACEPARENT);
    const reply = await caller.request(ECHO, new TextEncoder().encode('[[], {}]'), { trace: { traceparent: TRACEPARENT } });
    const [[seen]] = JSON.parse(new TextDecoder().decode(reply.data)) as [[{ traceparent: string | null }]];
    assert.equal(seen.traceparent, null, 'a caller adds no trace headers while tracing is off');
  });
});
