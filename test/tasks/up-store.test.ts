// `npm start`'s NATS (the nats-server `mesh up` starts when none answers) keeps JetStream under the data directory
// (`.data/nats`), so tasks acknowledged before it stops are all there, and all run, after it starts again.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureNats, type LocalNats } from '../../mesh/cli/nats-server.ts';
import { createTaskClient, hostService, Service, task, type HostedService } from '../../mesh/gateway.ts';
import { freePort, silentLogger } from '../helpers.ts';

class Ledger extends Service {
  name = 'ledger';
  readonly booked = new Set<number>();

  @task()
  async book(n: number) {
    this.booked.add(n);
  }
}

describe("mesh up's nats-server", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mesh-up-data-'));
  let nats: LocalNats | undefined;
  let nc: NatsConnection | undefined;
  let hosted: HostedService | undefined;

  after(async () => {
    await hosted?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('keeps every acknowledged task across a restart, in the data directory', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    nats = await ensureNats(url, dataDir);
    assert.equal(nats.started, true);
    nc = await connect({ servers: url });
    // A worker makes the queue, then leaves: the tasks wait in the stream.
    await (await hostService(new Ledger(), { nc, logger: silentLogger })).stop();
    const tasks = createTaskClient(nc);
    const ids = await Promise.all(Array.from({ length: 300 }, (_, n) => tasks.enqueue('ledger.book', [n]).then((h) => h.id)));
    assert.equal(new Set(ids).size, 300);
    await nc.close();
    await nats.stop();
    assert.ok(existsSync(join(dataDir, 'nats', 'jetstream')), 'the store is under <dataDir>/nats');

    nats = await ensureNats(url, dataDir);
    nc = await connect({ servers: url });
    const ledger = new Ledger();
    hosted = await hostService(ledger, { nc, logger: silentLogger });
    for (let i = 0; i < 400 && ledger.booked.size < 300; i++) await sleep(25);
    assert.equal(ledger.booked.size, 300);
  });
});
