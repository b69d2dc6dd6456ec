// GET /health on the WAMP gateway's port, as docker compose's health check asks it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { start } from '../../gateway-wamp/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';

it('answers 200 while connected to NATS and 503 with the error body while not', async (t) => {
  const server = await OwnNatsServer.start();
  const gateway = await start({ config: testConfig({ 'nats.url': server.url }), logger: silentLogger });
  t.after(async () => {
    await server.stop();
    await server.restart();
    await gateway.stop();
    await server.stop();
  });
  const up = await fetch(`${gateway.url}/health`);
  assert.equal(up.status, 200);
  assert.deepEqual(await up.json(), { status: 'ok', nats: 'connected' });

  await server.stop();
  let down = await fetch(`${gateway.url}/health`);
  for (let i = 0; i < 50 && down.status === 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    down = await fetch(`${gateway.url}/health`);
  }
  assert.equal(down.status, 503);
  assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'UNAVAILABLE');
});
