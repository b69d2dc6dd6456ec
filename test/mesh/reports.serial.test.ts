// Reports and the reporter hook: a reporter that throws or hangs never slows or fails the call it reports, and
// every report it does not take is counted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient, type MeshClient } from '../../mesh/index.ts';
import { createReports, droppedReports, hostService, type HostedService, type Report } from '../../mesh/gateway.ts';
import Relay from './fixtures/relay.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('reporter hook', () => {
  let nc: NatsConnection;
  let client: MeshClient;
  const hosted: HostedService[] = [];

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    await Promise.all(hosted.map((h) => h.stop()));
    client.close();
    await nc.drain();
  });

  async function relayWith(report: (r: Report) => unknown, settings: { queueSize?: number; timeoutMs?: number } = {}) {
    const relay = new Relay();
    relay.name = uniqueName('relay');
    const reports = createReports(nc, silentLogger, { slowMs: 1000, reporter: { report }, queueSize: settings.queueSize ?? 10, timeoutMs: settings.timeoutMs ?? 100 });
    hosted.push(await hostService(relay, { nc, logger: silentLogger, reports }));
    return { name: relay.name, reports };
  }

  it('hands a crash report to the reporter with the error id of the reply', async () => {
    const received: Report[] = [];
    const { name } = await relayWith((report) => received.push(report));
    const failure = await client.call(`${name}.crash`).catch((err: { id?: string; code?: string }) => err);
    assert.equal((failure as { code?: string }).code, 'INTERNAL');
    await until(() => received.length === 1, 'the report');
    assert.equal(received[0]!.error_id, (failure as { id?: string }).id);
    assert.equal(received[0]!.procedure, `${name}.crash`);
  });

  it('answers at once and counts the drop when the reporter throws', async () => {
    const { name, reports } = await relayWith(() => {
      throw new Error('reporter down');
    });
    const before = droppedReports();
    const started = performance.now();
    await assert.rejects(client.call(`${name}.crash`), { code: 'INTERNAL' });
    assert.ok(performance.now() - started < 500);
    await until(() => reports.dropped === 1, 'the dropped report');
    assert.ok(droppedReports() >= before + 1);
    assert.deepEqual(await client.call(`${name}.relay`, ['still']), [[`${name}:still`], {}]);
  });

  it('answers at once when the reporter hangs: each report times out, and a full queue drops the rest', async () => {
    const { name, reports } = await relayWith(() => new Promise(() => {}), { queueSize: 2, timeoutMs: 200 });
    const started = performance.now();
    const calls = Array.from({ length: 5 }, () => client.call(`${name}.crash`).catch((err: { code?: string }) => err.code));
    assert.deepEqual(await Promise.all(calls), ['INTERNAL', 'INTERNAL', 'INTERNAL', 'INTERNAL', 'INTERNAL']);
    assert.ok(performance.now() - started < 500, 'no call waits for the reporter');
    // The first is being handed over, two wait, two find the queue full; then the three taken ones time out.
    await until(() => reports.dropped === 5, 'every report dropped', 3000);
  });
});
