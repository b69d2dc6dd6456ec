// gateway-http with a rate budget: past it a client gets 429 RESOURCE_EXHAUSTED with Retry-After, other clients
// keep theirs, and /health is never counted.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

const GREETING = uniqueName('greeting');

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { error?: { code: string; status: number; message: string } };
}

/** POST /<procedure> from a given local address (any 127.x.y.z is this machine's loopback). */
function call(url: string, procedure: string, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/${procedure}`, { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          retryAfter: res.headers['retry-after'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'],
        }),
      );
    });
    req.on('error', reject);
    req.end('[["Ada"], {}]');
  });
}

describe('gateway-http rate limits', () => {
  let nc: NatsConnection;
  let service: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;

  before(async () => {
    const config = testConfig({ 'rateLimit.points': 3, 'rateLimit.durationS': 60 });
    nc = await connect({ servers: config.nats.url });
    const greeting = new GreetingService();
    greeting.name = GREETING;
    service = await hostService(greeting, { nc, logger: silentLogger });
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await service.stop();
    await nc.close();
  });

  it('answers 429 RESOURCE_EXHAUSTED with Retry-After past the budget of a client address', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call(gateway.url, `${GREETING}.hello`)).status, 200);
    const refused = await call(gateway.url, `${GREETING}.hello`);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error?.code, 'RESOURCE_EXHAUSTED');
    assert.equal(refused.body.error?.status, 429);
    assert.match(refused.body.error?.message ?? '', /at most 3 per 60 s/);
    const seconds = Number(refused.retryAfter);
    assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After ${refused.retryAfter}`);
    // Unknown procedures are counted too: the budget is the caller's, whatever it asks.
    assert.equal((await call(gateway.url, 'no_such_service.at_all')).status, 429);
  });

  it('keeps the budget of another client address', async () => {
    const other = await call(gateway.url, `${GREETING}.hello`, '127.0.0.2');
    assert.equal(other.status, 200);
    assert.equal(other.retryAfter, undefined);
  });

  it('does not count /health', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
  });
});
