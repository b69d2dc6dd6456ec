// `mesh ls` as a user runs it: a server with no services says so cleanly; two instances of a service make one block.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hostService, rpc, type HostedService } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));
const run = promisify(execFile);

class Inventory {
  name = 'inventory';
  version = '2.1.0';
  @rpc async count(item: string) {
    return item.length;
  }
}

describe('mesh ls', () => {
  let server: OwnNatsServer;
  const connections: NatsConnection[] = [];
  const hosted: HostedService[] = [];
  const ls = () => run(process.execPath, [MESH, 'ls'], { env: { ...process.env, NATS_URL: server.url } });

  before(async () => (server = await OwnNatsServer.start()));
  after(async () => {
    await Promise.all(hosted.map((h) => h.stop()));
    await Promise.all(connections.map((nc) => nc.close()));
    await server.stop();
  });

  it('says there are no services on a server that has none, and exits 0', async () => {
    const { stdout, stderr } = await ls();
    assert.equal(stdout, 'no services answer $SRV.INFO\n');
    assert.equal(stderr, '');
  });

  it('prints one block per service, its instances listed in it', async () => {
    for (let i = 0; i < 2; i++) {
      const nc = await connect({ servers: server.url });
      connections.push(nc);
      hosted.push(await hostService(new Inventory(), { nc, logger: silentLogger }));
    }
    const { stdout } = await ls();
    const [header, procedure, ...rest] = stdout.split('\n');
    assert.match(header!, /^inventory 2\.1\.0 \(2 instances: \w+, \w+\)$/);
    assert.equal(procedure, '  inventory.count(item)');
    assert.deepEqual(rest, ['']);
  });
});
