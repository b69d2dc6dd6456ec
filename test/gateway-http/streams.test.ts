// Streams and cancellation over HTTP: a caller that accepts application/x-ndjson or text/event-stream gets each
// progressive result as it comes, then the final one; every other caller gets the final result; a client that hangs
// up cancels the call, and the handler's work stops.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { currentCall, hostService, rpc, type HostedService } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

const LAUNCH = uniqueName('launch');

class LaunchService {
  name = LAUNCH;
  readonly stopped = new Map<string, string>();

  @rpc async *countdown(from: number) {
    for (let i = from; i > 0; i--) yield i;
    return 'liftoff';
  }

  @rpc async *fails() {
    yield 'almost';
    throw new Error('engine trouble');
  }

  @rpc async hold(tag: string) {
    const { signal } = currentCall()!;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    this.stopped.set(tag, (signal.reason as { code: string }).code);
    throw signal.reason;
  }
}

describe('gateway-http: streams and cancellation', () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  const launch = new LaunchService();

  before(async () => {
    nc = await connect({ servers: testConfig().nats.url });
    hosted = await hostService(launch, { nc, logger: silentLogger });
    gateway = await start({ config: testConfig(), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  const post = (method: string, body: string, accept?: string) =>
    fetch(`${gateway.url}/${LAUNCH}.${method}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) } });

  it('streams progressive results as NDJSON lines, then the final result', async () => {
    const res = await post('countdown', '[[3]]', 'application/x-ndjson');
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    assert.equal(await res.text(), '[[3],{}]\n[[2],{}]\n[[1],{}]\n[["liftoff"],{}]\n');
  });

  it('streams them as server-sent events, and ends with the error when the generator fails', async () => {
    const res = await post('countdown', '[[2]]', 'text/event-stream');
    assert.equal(await res.text(), 'event: progress\ndata: [[2],{}]\n\nevent: progress\ndata: [[1],{}]\n\nevent: result\ndata: [["liftoff"],{}]\n\n');
    const failed = await (await post('fails', '[]', 'application/x-ndjson')).text();
    const [first, last] = failed.trim().split('\n') as [string, string];
    assert.equal(first, '[["almost"],{}]');
    assert.deepEqual({ ...(JSON.parse(last) as { error: object }).error, id: undefined }, { code: 'INTERNAL', message: 'internal error', status: 500, id: undefined });
  });

  it('gives every other caller the final result only', async () => {
    const res = await post('countdown', '[[3]]');
    assert.deepEqual([res.status, await res.text()], [200, '[["liftoff"],{}]']);
  });

  it("takes the client's own timeout from Prefer: wait (seconds): 504, and the handler's signal aborts at that deadline", async () => {
    const res = await fetch(`${gateway.url}/${LAUNCH}.hold`, { method: 'POST', body: '[["p1"]]', headers: { 'content-type': 'application/json', prefer: 'respond-sync, wait=1' } });
    assert.equal(res.status, 504);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'DEADLINE_EXCEEDED');
    for (let i = 0; i < 200 && !launch.stopped.has('p1'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(launch.stopped.get('p1'), 'DEADLINE_EXCEEDED');
  });

  it("cancels the call when the client hangs up: the handler's signal aborts with CANCELED", async () => {
    const req = request(`${gateway.url}/${LAUNCH}.hold`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end('[["h1"]]');
    await new Promise((resolve) => setTimeout(resolve, 150));
    req.destroy();
    for (let i = 0; i < 200 && !launch.stopped.has('h1'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(launch.stopped.get('h1'), 'CANCELED');
  });
});
