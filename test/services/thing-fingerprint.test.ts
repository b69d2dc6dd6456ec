// A second thing_service on a different database refuses to join the running one's queue group (it would take
// half of its requests); one on the same database settings joins. Two embedded databases in two temp folders.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../../mesh/wire/micro.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import ThingService from '../../services/thing/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { thingDataDir } from '../databases.ts';

/** How long to listen for `$SRV.INFO` replies, and the silence that ends it early. */
const DISCOVERY = { maxWaitMs: 2000, silenceMs: 300 };

describe('thing_service on another database', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let first: HostedService;
  // the first instance's database is created, the second refuses to start before it opens its own
  const dirs: string[] = [];

  before(async () => {
    dirs.push(await thingDataDir('thing-a-'), mkdtempSync(join(tmpdir(), 'thing-b-')));
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    const config = testConfig({ 'nats.url': server.url, 'database.dataDir': dirs[0] });
    first = await hostService(new ThingService({ config, logger: silentLogger }), { nc, logger: silentLogger, config });
  });

  after(async () => {
    await first.stop();
    await nc.drain();
    await server.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('advertises a fingerprint of its database in $SRV.INFO, without the path in clear', async () => {
    const infos = await askServices(nc, 'INFO', 'thing_service', DISCOVERY);
    assert.equal(infos.length, 1);
    assert.match(infos[0]!.metadata?.fingerprint ?? '', /^[0-9a-f]{16}$/);
    assert.ok(!JSON.stringify(infos[0]).includes(dirs[0]!));
  });

  it('refuses to start next to an instance on another database, with a clear error, before opening its own', async () => {
    const second = new ThingService({ config: testConfig({ 'nats.url': server.url, 'database.dataDir': dirs[1] }), logger: silentLogger });
    await assert.rejects(hostService(second, { nc, logger: silentLogger }), /refusing to start thing_service: instances of it already run on this NATS server with different data/);
    const infos = await askServices(nc, 'INFO', 'thing_service', DISCOVERY);
    assert.equal(infos.length, 1);
  });

  it('gives the same fingerprint for the same database settings, and another for another Postgres database', () => {
    const of = (overrides: Record<string, unknown>) => new ThingService({ config: testConfig(overrides), logger: silentLogger }).fingerprint;
    assert.equal(of({ 'database.dataDir': dirs[0] }), of({ 'database.dataDir': `${dirs[0]}/.` }));
    assert.equal(of({ 'database.url': 'postgres://u:one@db:5432/things' }), of({ 'database.url': 'postgres://u:two@db/things' }));
    assert.notEqual(of({ 'database.url': 'postgres://u:p@db:5432/things' }), of({ 'database.url': 'postgres://u:p@db:5432/other' }));
  });
});
