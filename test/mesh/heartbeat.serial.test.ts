// Requests whose instance dies: a caller that expects heartbeats answers UNAVAILABLE within a few heartbeats,
// while a slow but healthy procedure keeps its caller waiting as long as it works. Raw callers see no heartbeat.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createCaller, decodeReply, hostService, jsonCodec, rpc, type Caller, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const SERVICE = uniqueName('beating');
const HEARTBEAT_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class SlowService {
  name = SERVICE;

  @rpc async sleep(ms: number) {
    await sleep(ms);
    return ms;
  }
}

describe('heartbeats of requests in progress', () => {
  let nc: NatsConnection;
  let hostNc: NatsConnection;
  let caller: Caller;
  let hosted: HostedService;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hostNc = await connect({ servers: NATS_URL });
    caller = createCaller(nc, { timeoutMs: 20_000, known: (subject) => (subject.startsWith(`${SERVICE}.`) ? { heartbeatMs: HEARTBEAT_MS } : undefined) });
    hosted = await hostService(new SlowService(), { nc: hostNc, logger: silentLogger, heartbeatMs: HEARTBEAT_MS });
  });

  after(async () => {
    await hosted.stop();
    caller.close();
    await Promise.all([nc.drain(), hostNc.isClosed() ? undefined : hostNc.drain()]);
  });

  it('advertises the heartbeat interval in each endpoint metadata', async () => {
    const info = jsonCodec.decode((await nc.request(`$SRV.INFO.${SERVICE}`)).data) as { endpoints: { metadata: Record<string, string> }[] };
    assert.equal(info.endpoints[0]?.metadata.heartbeat_ms, String(HEARTBEAT_MS));
  });

  it('keeps waiting for a healthy procedure that runs for many heartbeats', async () => {
    const msg = await caller.request(`${SERVICE}.sleep`, jsonCodec.encode([[HEARTBEAT_MS * 8], {}]));
    assert.deepEqual(decodeReply(msg), [[HEARTBEAT_MS * 8], {}]);
  });

  it('gives a raw NATS request only the reply, never a heartbeat', async () => {
    const msg = await nc.request(`${SERVICE}.sleep`, jsonCodec.encode([[HEARTBEAT_MS * 3], {}]), { timeout: 5000 });
    assert.deepEqual(decodeReply(msg), [[HEARTBEAT_MS * 3], {}]);
  });

  it('answers UNAVAILABLE for a known procedure that nothing answers right now, UNKNOWN_PROCEDURE for the rest', async () => {
    await assert.rejects(caller.request(`${SERVICE}.away`, jsonCodec.encode([])), { code: 'UNAVAILABLE' });
    await assert.rejects(caller.request(`${uniqueName('nobody')}.away`, jsonCodec.encode([])), { code: 'UNKNOWN_PROCEDURE' });
  });

  it('answers UNAVAILABLE soon when a responder took the request and never answers', async () => {
    const subject = `${SERVICE}.swallowed`;
    const sub = nc.subscribe(subject, { queue: 'q' });
    await nc.flush();
    const started = performance.now();
    await assert.rejects(caller.request(subject, jsonCodec.encode([])), { code: 'UNAVAILABLE' });
    const waited = performance.now() - started;
    assert.ok(waited >= 3 * HEARTBEAT_MS && waited < 5_000, `waited ${waited} ms`);
    sub.unsubscribe();
  });

  it('answers UNAVAILABLE when the instance dies in the middle of a long request', async () => {
    const pending = caller.request(`${SERVICE}.sleep`, jsonCodec.encode([[10_000], {}]));
    await sleep(HEARTBEAT_MS * 3);
    const started = performance.now();
    await hostNc.close();
    await assert.rejects(pending, { code: 'UNAVAILABLE' });
    assert.ok(performance.now() - started < 5_000);
  });
});
