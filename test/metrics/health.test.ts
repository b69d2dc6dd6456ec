// /health/live and /health/ready on both gateways: live while the process runs, ready only while connected to
// NATS with the registry loaded; ready answers 503 UNAVAILABLE when the NATS server goes away, and 200 once it is back.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';

async function statusOf(url: string): Promise<{ status: number; body: { status?: string; error?: { code: string } } }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { status?: string; error?: { code: string } } };
}

async function until(url: string, status: number): Promise<number> {
  let seen = await statusOf(url);
  for (let i = 0; i < 100 && seen.status !== status; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await statusOf(url);
  }
  return seen.status;
}

it('both gateways: live always, ready only while NATS is there', async (t) => {
  const server = await OwnNatsServer.start();
  const config = testConfig({ 'nats.url': server.url, 'http.port': 0, 'http.host': '127.0.0.1', 'wamp.port': 0, 'wamp.host': '127.0.0.1' });
  const http = await startHttp({ config, logger: silentLogger });
  const wamp = await startWamp({ config, logger: silentLogger });
  t.after(async () => {
    // Whatever state the test left it in: one server running while the gateways drain, then none.
    await server.stop();
    await server.restart();
    await http.stop();
    await wamp.stop();
    await server.stop();
  });
  for (const url of [http.url, wamp.url]) {
    assert.deepEqual(await statusOf(`${url}/health/live`), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(await statusOf(`${url}/health/ready`), { status: 200, body: { status: 'ok', nats: 'connected', registry: 'loaded' } });
    assert.equal((await statusOf(`${url}/health`)).status, 200);
  }

  await server.stop();
  for (const url of [http.url, wamp.url]) {
    assert.equal(await until(`${url}/health/ready`, 503), 503);
    const down = await statusOf(`${url}/health/ready`);
    assert.equal(down.body.error?.code, 'UNAVAILABLE');
    assert.deepEqual(await statusOf(`${url}/health/live`), { status: 200, body: { status: 'ok' } });
  }

  await server.restart();
  for (const url of [http.url, wamp.url]) {
    assert.equal(await until(`${url}/health/ready`, 200), 200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^mesh_gateway_nats_disconnects_total\{gateway="(http|wamp)"\} 1$/m);
    assert.match(metrics, /^mesh_gateway_nats_reconnects_total\{gateway="(http|wamp)"\} 1$/m);
  }
});
