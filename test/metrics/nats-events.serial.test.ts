// A process that loses NATS says so: one log line when the connection is lost and one when it is back, each naming
// the server, and the gateway's /metrics counts both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { start } from '../../gateway-http/index.ts';
import { natsEvents } from '../../mesh/gateway.ts';
import { OwnNatsServer, testConfig } from '../helpers.ts';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('NATS connection events', () => {
  let server: OwnNatsServer;
  let gateway: Awaited<ReturnType<typeof start>>;
  const lines: Record<string, unknown>[] = [];

  before(async () => {
    server = await OwnNatsServer.start();
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    gateway = await start({ config: testConfig({ 'nats.url': server.url }), logger });
  });

  after(async () => {
    await gateway.stop();
    await server.stop();
  });

  it('logs a lost and a restored connection once each, with the server, and counts them in /metrics', async () => {
    await server.stop();
    await until(() => natsEvents(gateway.nats).disconnects === 1, 'the disconnect');
    await server.restart();
    await until(() => natsEvents(gateway.nats).reconnects === 1, 'the reconnect');

    const events = lines.filter((line) => line.connection === 'gateway-http').map(({ msg, server: where }) => ({ msg, server: where }));
    const address = `127.0.0.1:${server.port}`;
    assert.deepEqual(events, [
      { msg: 'NATS connection lost; reconnecting', server: address },
      { msg: 'NATS connection restored', server: address },
    ]);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(metrics, /^mesh_gateway_nats_disconnects_total\{gateway="http"\} 1$/m);
    assert.match(metrics, /^mesh_gateway_nats_reconnects_total\{gateway="http"\} 1$/m);
    assert.match(metrics, /^mesh_gateway_nats_stale_total\{gateway="http"\} 0$/m);
  });
});
