// Namespaces (`nats.namespace`, MESH_NAMESPACE): three meshes on one nats-server, in namespaces `a` and `b` and in
// none, each host greeting_service with its own reply. Calls, events, gateways and listings stay in their own mesh.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../../mesh/wire/micro.ts';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { discoverServices } from '../../mesh/cli/discover.ts';
import { pingService } from '../../mesh/cli/ping.ts';
import { gatherStats as gatherCliStats } from '../../mesh/cli/stats.ts';
import { gatherStats } from '../../mesh/observability/mesh-stats.ts';
import { ConfigError, createClient, event, hostService, jsonCodec, loadConfig, rpc, runServices, type MeshConfig, type ProcessContext, type RunningServices } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { openSession } from '../gateway-wamp/raw-client.ts';

const { CALL, RESULT, SUBSCRIBE, SUBSCRIBED, PUBLISH, EVENT, REGISTER, REGISTERED, INVOCATION, YIELD } = MessageType;

/** Events each mesh's greeting_service handled, by mesh. */
const heard = new Map<string, string[]>();

/** A greeting_service whose replies and events say which mesh it runs in. */
function greeterOf(mesh: string) {
  heard.set(mesh, []);
  class Greeter {
    name = 'greeting_service';

    constructor(_context: ProcessContext) {}

    @rpc
    async hello(first_name: string) {
      return `${mesh}: Hello, ${first_name}`;
    }

    @event('news')
    async onNews(text: string) {
      heard.get(mesh)!.push(text);
    }
  }
  return Greeter;
}

/** Waits until a mesh's handler has heard `text`, then returns everything it heard. */
async function until(mesh: string, text: string): Promise<string[]> {
  while (!heard.get(mesh)!.includes(text)) await new Promise((resolve) => setTimeout(resolve, 10));
  return heard.get(mesh)!;
}

describe('namespaces on one NATS server', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  const meshes = new Map<string, { config: MeshConfig; running: RunningServices }>();

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    for (const [mesh, namespace] of [
      ['a', 'a'],
      ['b', 'b'],
      ['none', undefined],
    ] as const) {
      const config = testConfig({ 'nats.url': server.url, 'nats.namespace': namespace });
      meshes.set(mesh, { config, running: await runServices([greeterOf(mesh)], { config, logger: silentLogger }) });
    }
  });

  after(async () => {
    for (const { running } of meshes.values()) await running.stop();
    await nc.drain();
    await server.stop();
  });

  it('calls through a client reach the service of the client’s namespace only', async () => {
    for (const [mesh, namespace] of [
      ['a', 'a'],
      ['b', 'b'],
      ['none', null],
    ] as const) {
      const client = createClient(nc, { namespace });
      assert.deepEqual(await client.call('greeting_service.hello', ['Bob']), [[`${mesh}: Hello, Bob`], {}]);
      client.close();
    }
  });

  it('answers raw NATS callers on <namespace>.<service>.<method>, and on <service>.<method> without one', async () => {
    const ask = async (subject: string) => jsonCodec.decode((await nc.request(subject, jsonCodec.encode([['Ann'], {}]))).data);
    assert.deepEqual(await ask('a.greeting_service.hello'), [['a: Hello, Ann'], {}]);
    assert.deepEqual(await ask('b.greeting_service.hello'), [['b: Hello, Ann'], {}]);
    assert.deepEqual(await ask('greeting_service.hello'), [['none: Hello, Ann'], {}]);
  });

  it('advertises the namespace in $SRV.INFO, with prefixed subjects in the queue group a.q', async () => {
    const infos = await askServices(nc, 'INFO', 'greeting_service', { maxWaitMs: 1000, silenceMs: 200 });
    const seen = infos.map((info) => [info.metadata?.namespace ?? 'none', info.endpoints.map((e) => `${e.subject} ${e.queue_group}`)]);
    assert.deepEqual(
      new Map(seen as [string, string[]][]),
      new Map([
        ['a', ['a.greeting_service.hello a.q']],
        ['b', ['b.greeting_service.hello b.q']],
        ['none', ['greeting_service.hello q']],
      ]),
    );
    assert.equal(seen.length, 3);
  });

  it('lists only the namespace’s services, by name without the prefix', async () => {
    const aId = (await meshInstance('a')).id;
    const [greeting, ...others] = await discoverServices(nc, silentLogger, 'a');
    assert.deepEqual(others, []);
    assert.deepEqual([greeting!.name, greeting!.instances, greeting!.procedures.map((p) => p.subject)], ['greeting_service', [aId], ['greeting_service.hello']]);
    const figures = await gatherStats(nc, { logger: silentLogger, waitMs: 300, namespace: 'a' });
    assert.deepEqual(
      figures.map((f) => [f.procedure, f.instance]),
      [['greeting_service.hello', aId]],
    );
    assert.deepEqual(
      (await pingService(nc, 'greeting_service', 1000, 'a')).map((p) => p.id),
      [aId],
    );
    assert.deepEqual(
      (await gatherCliStats(nc, 'greeting_service', 'a', 1000)).map((r) => [r.subject, r.instances]),
      [['greeting_service.hello', 1]],
    );
  });

  async function meshInstance(mesh: string) {
    for (const info of await askServices(nc, 'INFO', 'greeting_service', { maxWaitMs: 1000, silenceMs: 200 })) {
      if ((info.metadata?.namespace ?? 'none') === mesh) return info;
    }
    throw new Error(`no instance in ${mesh}`);
  }

  it('delivers events published in a namespace to its own handlers only', async () => {
    const clients = [createClient(nc, { namespace: 'a' }), createClient(nc, { namespace: 'b' }), createClient(nc)];
    // One connection publishes all three in order: a handler that also took `a.news` would have it before its own.
    clients[0]!.publish('news', ['for a']);
    clients[1]!.publish('news', ['for b']);
    clients[2]!.publish('news', ['for none']);
    assert.deepEqual(await until('a', 'for a'), ['for a']);
    assert.deepEqual(await until('b', 'for b'), ['for b']);
    assert.deepEqual(await until('none', 'for none'), ['for none']);
    for (const client of clients) client.close();
  });

  it('keeps a fingerprinted service of another namespace apart, and refuses another fingerprint in its own', async () => {
    class Ledger {
      name = 'ledger_service';
      constructor(readonly fingerprint: string) {}
      @rpc
      async balance() {
        return this.fingerprint;
      }
    }
    const ledger = (fingerprint: string) => new Ledger(fingerprint);
    const inA = await hostService(ledger('disk-1'), { nc, logger: silentLogger, namespace: 'a' });
    const inB = await hostService(ledger('disk-2'), { nc, logger: silentLogger, namespace: 'b' });
    await assert.rejects(hostService(ledger('disk-2'), { nc, logger: silentLogger, namespace: 'a' }), /refusing to start ledger_service: .*fingerprint disk-1, this one disk-2/);
    await inA.stop();
    await inB.stop();
  });

  it('serves POST /greeting_service.hello from the gateway’s namespace, and raw NATS callers use a.greeting_service.hello', async () => {
    const gateway = await startHttp({ config: meshes.get('a')!.config, logger: silentLogger });
    try {
      const call = (path: string) => fetch(`${gateway.url}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[["Cy"], {}]' });
      const res = await call('greeting_service.hello');
      assert.deepEqual([res.status, await res.json()], [200, [['a: Hello, Cy'], {}]]);
      const prefixed = await call('a.greeting_service.hello');
      assert.equal(prefixed.status, 404, 'the prefix is the wire’s, not part of the procedure name');
      const openApi = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      assert.deepEqual(Object.keys(openApi.paths), ['/greeting_service.hello']);
    } finally {
      await gateway.stop();
    }
  });

  it('maps WAMP calls and topics into the gateway’s namespace', async () => {
    const gateway = await startWamp({ config: meshes.get('b')!.config, logger: silentLogger });
    const session = await openSession(gateway.wsUrl);
    try {
      session.send([CALL, 1, {}, 'greeting_service.hello', ['Di']]);
      assert.deepEqual(await session.next(), [RESULT, 1, {}, ['b: Hello, Di'], {}]);
      session.send([SUBSCRIBE, 2, {}, 'news']);
      const [subscribed, , subscriptionId] = await session.next();
      assert.equal(subscribed, SUBSCRIBED);
      const [inA, inB] = [createClient(nc, { namespace: 'a' }), createClient(nc, { namespace: 'b' })];
      inA.publish('news', ['not for b']);
      inB.publish('news', ['for b over WAMP']);
      inA.close();
      inB.close();
      const [type, subscription, , , args] = await session.next();
      assert.deepEqual([type, subscription, args], [EVENT, subscriptionId, ['for b over WAMP']]);
      session.send([PUBLISH, 3, {}, 'news', ['from WAMP']]);
      assert.deepEqual(await until('b', 'from WAMP'), ['for b', 'for b over WAMP', 'from WAMP']);
      assert.deepEqual(await until('a', 'not for b'), ['for a', 'not for b']);

      session.send([REGISTER, 4, {}, 'calc.double']);
      const [registered, , registrationId] = await session.next();
      assert.equal(registered, REGISTERED);
      const reply = nc.request('b.calc.double', jsonCodec.encode([[21], {}]));
      const [invocation, invocationId, registration, , args2] = await session.next();
      assert.deepEqual([invocation, registration, args2], [INVOCATION, registrationId, [21]]);
      session.send([YIELD, invocationId, {}, [42]]);
      assert.deepEqual(jsonCodec.decode((await reply).data), [[42], {}]);
    } finally {
      await session.close();
      await gateway.stop();
    }
  });

  it('refuses a namespace that is not one NATS token, naming the setting', () => {
    for (const bad of ['a.b', '*', '$SYS', '_INBOX', 'a b']) {
      assert.throws(
        () => testConfig({ 'nats.namespace': bad }),
        (err: Error) => err instanceof ConfigError && /nats\.namespace \(command line\): must/.test(err.message),
        bad,
      );
    }
    assert.throws(() => loadConfig({ env: { MESH_NAMESPACE: 'a.b' }, file: undefined }), /nats\.namespace \(environment MESH_NAMESPACE\): must be one token/);
    assert.equal(loadConfig({ env: { MESH_NAMESPACE: 'team-1' }, file: undefined }).nats.namespace, 'team-1');
    assert.equal(loadConfig({ env: {}, file: undefined }).nats.namespace, null);
  });
});
