// thing_service when its database goes away: on a Postgres the test owns and stops, calls answer UNAVAILABLE (503)
// from the service itself, a failed write leaves nothing, and the service serves again by itself once Postgres is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { hostService, type HostedService, type MeshConfig } from '../../mesh/gateway.ts';
import ThingService from '../../services/thing/index.ts';
import { OwnPostgres } from '../databases.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

interface Reply {
  status: number;
  json: { error?: { code: string; message: string } } | [[unknown], object];
}

describe('thing_service without its database', () => {
  const SERVICE = uniqueName('thing');
  class Things extends ThingService {
    override name = SERVICE;
  }
  const postgresServers: OwnPostgres[] = [];
  const hosted: HostedService[] = [];
  let nc: NatsConnection;
  let gateway: Awaited<ReturnType<typeof start>>;

  // A long gateway timeout: a 503 rather than a 504 shows the service itself answered, without timing anything.
  const configFor = (server: OwnPostgres): MeshConfig => testConfig({ 'database.url': server.url, 'rpc.timeoutMs': 30_000 });

  async function call(procedure: string, args: unknown[] = []): Promise<Reply> {
    const res = await fetch(`${gateway.url}/${SERVICE}.${procedure}`, { method: 'POST', body: JSON.stringify([args]), headers: { 'content-type': 'application/json' } });
    return { status: res.status, json: (await res.json()) as Reply['json'] };
  }

  function assertUnavailable(reply: Reply): void {
    assert.equal(reply.status, 503, JSON.stringify(reply.json));
    assert.equal((reply.json as { error: { code: string } }).error.code, 'UNAVAILABLE');
  }

  async function untilServing(): Promise<Reply> {
    let reply = await call('get_things');
    for (let i = 0; i < 200 && reply.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await call('get_things');
    }
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    return reply;
  }

  async function ownPostgres(): Promise<OwnPostgres> {
    const server = await OwnPostgres.start();
    postgresServers.push(server);
    return server;
  }

  async function host(config: MeshConfig): Promise<HostedService> {
    const service = await hostService(new Things({ config, logger: silentLogger }), { nc, logger: silentLogger, config });
    hosted.push(service);
    return service;
  }

  before(async () => {
    nc = await connect({ servers: testConfig().nats.url });
    gateway = await start({ config: testConfig({ 'rpc.timeoutMs': 30_000 }), logger: silentLogger });
  });

  after(async () => {
    try {
      await gateway?.stop();
      await Promise.all(hosted.map((h) => h.stop()));
      await nc?.drain();
    } finally {
      // pg_ctl runs Postgres detached from this process: remove it even when a test failed half-way.
      await Promise.all(postgresServers.map((s) => s.remove()));
    }
  });

  it('answers UNAVAILABLE while Postgres is stopped, writes nothing, and serves again when it is back', async () => {
    const server = await ownPostgres();
    const service = await host(configFor(server));
    const kept = await call('create_thing', ['kept']);
    assert.equal(kept.status, 200);

    await server.stop();
    assertUnavailable(await call('create_thing', ['lost']));
    assertUnavailable(await call('get_things'));
    assertUnavailable(await call('get_thing', ['123e4567-e89b-12d3-a456-426614174000']));
    assertUnavailable(await call('create_thing', ['lost again']));
    const invalid = await call('create_thing', ['']);
    assert.equal(invalid.status, 400, 'arguments are still checked first');

    await server.restart();
    const [[things]] = (await untilServing()).json as [[unknown[]], object];
    assert.deepEqual(things, (kept.json as [[unknown]])[0]);
    assert.equal((await call('create_thing', ['after'])).status, 200);
    await service.stop();
    hosted.splice(hosted.indexOf(service), 1);
  });

  it('starts while Postgres is down, answers UNAVAILABLE, then migrates and serves once it is up', async () => {
    const server = await ownPostgres();
    await server.stop();
    await host(configFor(server));
    assertUnavailable(await call('get_things'));
    assertUnavailable(await call('create_thing', ['too early']));

    await server.restart();
    const [[things]] = (await untilServing()).json as [[unknown[]], object];
    assert.deepEqual(things, []);
    assert.equal((await call('create_thing', ['on time'])).status, 200);
  });
});
