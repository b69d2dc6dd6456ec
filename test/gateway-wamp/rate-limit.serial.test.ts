// gateway-wamp with a rate budget: CALL, PUBLISH, SUBSCRIBE and REGISTER past it are answered with ERROR
// mesh.error.resource_exhausted; the session stays open, other clients keep their budget, order holds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { RawClient, type Frame } from './raw-client.ts';

const GREETING = uniqueName('greeting');
const EXHAUSTED = 'mesh.error.resource_exhausted';

/** The URI and details of an ERROR answering the given request, asserted to be one. */
function errorOf(frame: Frame, requestType: number, requestId: number): { uri: string; details: Record<string, unknown> } {
  assert.deepEqual(frame.slice(0, 3), [8, requestType, requestId], JSON.stringify(frame));
  return { uri: frame[4] as string, details: frame[3] as Record<string, unknown> };
}

describe('gateway-wamp rate limits', () => {
  let nc: NatsConnection;
  let service: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;

  before(async () => {
    nc = await connect({ servers: testConfig().nats.url });
    const greeting = new GreetingService();
    greeting.name = GREETING;
    service = await hostService(greeting, { nc, logger: silentLogger });
    gateway = await start({ config: testConfig({ 'rateLimit.points': 2, 'rateLimit.durationS': 60 }), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await service.stop();
    await nc.close();
  });

  it('refuses each counted action past the budget, and keeps the session open', async () => {
    const client = await RawClient.open(gateway.wsUrl);
    await client.hello();
    client.send([48, 1, {}, `${GREETING}.hello`, ['Ada']]);
    client.send([48, 2, {}, `${GREETING}.hello`, ['Bob']]);
    client.send([48, 3, {}, `${GREETING}.hello`, ['Cy']]);
    client.send([16, 4, { acknowledge: true }, 'rate_limit.events', []]);
    client.send([32, 5, {}, 'rate_limit.events']);
    client.send([64, 6, {}, 'rate_limit_tab.double']);
    const frames: Frame[] = [];
    for (let i = 0; i < 6; i++) frames.push(await client.next());
    const byRequest = new Map(frames.map((frame) => [(frame[0] === 8 ? frame[2] : frame[1]) as number, frame]));
    assert.deepEqual(byRequest.get(1)!.slice(0, 4), [50, 1, {}, ['Hello, Ada']]);
    assert.deepEqual(byRequest.get(2)!.slice(0, 4), [50, 2, {}, ['Hello, Bob']]);
    for (const [type, id] of [
      [48, 3],
      [16, 4],
      [32, 5],
      [64, 6],
    ] as const) {
      const { uri, details } = errorOf(byRequest.get(id)!, type, id);
      assert.equal(uri, EXHAUSTED);
      assert.ok(typeof details.retry_after === 'number' && details.retry_after >= 1 && details.retry_after <= 60, JSON.stringify(details));
    }
    // The session is still open: a message that is not counted is answered as usual.
    client.send([34, 7, 12345]);
    assert.deepEqual((await client.next()).slice(0, 3), [8, 34, 7]);
    client.send([6, {}, 'wamp.close.normal']);
    assert.deepEqual(await client.next(), [6, {}, 'wamp.close.goodbye_and_out']);
    await client.close();
  });

  it('keeps the budget of a client from another address', async () => {
    const client = await RawClient.open(gateway.wsUrl, 'wamp.2.json', { localAddress: '127.0.0.2' });
    await client.hello();
    client.send([48, 1, {}, `${GREETING}.hello`, ['Dee']]);
    assert.deepEqual((await client.next()).slice(0, 4), [50, 1, {}, ['Hello, Dee']]);
    await client.close();
  });

  it('lets a CANCEL wait behind the CALL it cancels', async () => {
    const client = await RawClient.open(gateway.wsUrl, 'wamp.2.json', { localAddress: '127.0.0.3' });
    await client.hello();
    // Sent in one tick, both frames usually reach the router in one read: the CANCEL must not be handled first.
    client.send([48, 1, {}, `${GREETING}.hello_sleep`, ['Eve', 5]]);
    client.send([49, 1, { mode: 'kill' }]);
    const answer = await client.next(2000);
    assert.deepEqual(errorOf(answer, 48, 1).uri, 'wamp.error.canceled');
    await client.close();
  });
});
