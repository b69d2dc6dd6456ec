// The NATS configuration compose ships (deploy/nats/nats.conf), run by a local nats-server from that same file:
// nats-server itself refuses what a user may not do, and the mesh works with each process as its own user.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { connectNats, event, hostService, SERVICE_INFO_SUBJECT, SERVICE_STARTED_SUBJECT, type HostedService } from '../../mesh/gateway.ts';
import { isListening } from '../../mesh/cli/nats-server.ts';
import GreetingService from '../../services/greeting/index.ts';
import { RawClient } from '../gateway-wamp/raw-client.ts';
import { freePort, silentLogger, testConfig } from '../helpers.ts';

/** A service with one pool-mode event handler: it needs the queue group <service>.events. */
class ConfEvents {
  name = 'conf_events';

  constructor(private readonly handled: (what: string) => void) {}

  @event('conf_events.happened')
  async happened(what: string) {
    this.handled(what);
  }
}

const CONF = fileURLToPath(new URL('../../deploy/nats/nats.conf', import.meta.url));

/** A fresh password; it starts with a letter, since nats-server reads a variable's value that starts with a digit as a number. */
const password = () => `p${randomBytes(12).toString('hex')}`;

/** The passwords the configuration reads from the environment, fresh for this run. */
const PASSWORDS = {
  gateway_http: password(),
  gateway_wamp: password(),
  service: password(),
} as const;
type User = keyof typeof PASSWORDS;

/** nats-server started from the shipped file, on a free port, JetStream on (as compose runs it). */
async function startConfiguredServer(port: number): Promise<ChildProcess> {
  const env = {
    PATH: process.env.PATH,
    NATS_GATEWAY_HTTP_PASSWORD: PASSWORDS.gateway_http,
    NATS_GATEWAY_WAMP_PASSWORD: PASSWORDS.gateway_wamp,
    NATS_SERVICE_PASSWORD: PASSWORDS.service,
  };
  const store = mkdtempSync(join(tmpdir(), 'mesh-nats-conf-'));
  const child = spawn('nats-server', ['-c', CONF, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 100; i++) {
    if (await isListening('127.0.0.1', port, 200)) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not start from ${CONF} on port ${port}: ${stderr.trim() || 'no output'}`);
}

/** What nats-server refused this connection next ("publish <subject>" or "subscription <subject>"), or undefined. */
async function nextRefusal(nc: NatsConnection, timeoutMs = 2000): Promise<string | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref());
  const violation = (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && status.error instanceof errors.PermissionViolationError) return `${status.error.operation} ${status.error.subject}`;
    }
    return undefined;
  })();
  return Promise.race([violation, timeout]);
}

describe('deploy/nats/nats.conf', () => {
  let server: ChildProcess;
  let url: string;
  const connections: NatsConnection[] = [];

  const as = async (user: User): Promise<NatsConnection> => {
    const nc = await connect({ servers: url, user, pass: PASSWORDS[user] });
    connections.push(nc);
    return nc;
  };
  const configAs = (user: User, overrides: Record<string, unknown> = {}) =>
    testConfig({ 'nats.url': url, 'nats.user': user, 'nats.password': PASSWORDS[user], ...overrides });

  before(async () => {
    // A free port can be taken by another process between the check and the server's bind: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `nats://127.0.0.1:${port}`;
      try {
        server = await startConfiguredServer(port);
        return;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  });

  after(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    server.kill('SIGKILL');
    await once(server, 'exit');
  });

  it('refuses a connection without the right password', async () => {
    await assert.rejects(connect({ servers: url, user: 'gateway_http', pass: 'wrong' }), /Authorization Violation/i);
    await assert.rejects(connect({ servers: url }), /Authorization Violation/i);
  });

  it('refuses the gateway and service users the JetStream, KV and system APIs', async () => {
    for (const user of ['gateway_http', 'gateway_wamp', 'service'] as const) {
      const nc = await as(user);
      for (const subject of ['$JS.API.INFO', '$KV.config.key', '$SYS.REQ.SERVER.PING']) {
        const refused = nextRefusal(nc);
        nc.publish(subject);
        assert.equal(await refused, `publish ${subject}`, user);
      }
    }
  });

  it('lets the HTTP gateway user neither eavesdrop on procedures nor answer other callers', async () => {
    const nc = await as('gateway_http');
    const refused = nextRefusal(nc);
    nc.subscribe('greeting_service.hello');
    assert.equal(await refused, 'subscription greeting_service.hello');
    const forged = nextRefusal(nc);
    nc.publish('_INBOX.someone_else.1', new TextEncoder().encode('"forged"'));
    assert.equal(await forged, 'publish _INBOX.someone_else.1');
  });

  it('lets the HTTP gateway user hear instances announce their start, but not answer $SRV discovery', async () => {
    const nc = await as('gateway_http');
    const service = await as('service');
    const refused = nextRefusal(nc);
    const heard = new Promise<string>((resolve) => nc.subscribe(SERVICE_STARTED_SUBJECT, { max: 1, callback: (_err, msg) => resolve(msg.string()) }));
    await nc.flush();
    service.publish(SERVICE_STARTED_SUBJECT, '{"started":true}');
    assert.equal(await Promise.race([heard, refused]), '{"started":true}');
    const refusedInfo = nextRefusal(nc);
    nc.subscribe(SERVICE_INFO_SUBJECT);
    assert.equal(await refusedInfo, `subscription ${SERVICE_INFO_SUBJECT}`);
  });

  it('lets a service take requests only in queue group q', async () => {
    const nc = await as('service');
    const refused = nextRefusal(nc);
    nc.subscribe('greeting_service.hello');
    assert.equal(await refused, 'subscription greeting_service.hello');
  });

  it('lets a service handle events in its pool, with or without a namespace', async () => {
    const publisher = await as('service');
    for (const namespace of [null, 'blue']) {
      const nc = await as('service');
      const refused = nextRefusal(nc);
      let handled!: (what: string) => void;
      const seen = new Promise<string>((resolve) => (handled = resolve));
      const hosted = await hostService(new ConfEvents(handled), { nc, logger: silentLogger, namespace });
      publisher.publish(namespace ? `${namespace}.conf_events.happened` : 'conf_events.happened', JSON.stringify([['it happened'], {}]));
      assert.equal(await Promise.race([seen, refused]), 'it happened', `namespace ${namespace}`);
      await hosted.stop();
    }
  });

  describe('the mesh, each process as its own user', () => {
    let services: HostedService[];
    let http: Awaited<ReturnType<typeof startHttp>>;
    let wamp: Awaited<ReturnType<typeof startWamp>>;

    before(async () => {
      const serviceConnection = await connectNats(configAs('service').nats, 'greeting');
      connections.push(serviceConnection);
      services = [await hostService(new GreetingService(), { nc: serviceConnection, logger: silentLogger })];
      http = await startHttp({ config: configAs('gateway_http', { 'rpc.registryRefreshMs': 200 }), logger: silentLogger });
      wamp = await startWamp({ config: configAs('gateway_wamp', { 'rpc.registryRefreshMs': 200 }), logger: silentLogger });
    });

    after(async () => {
      await http.stop();
      await wamp.stop();
      await Promise.all(services.map((s) => s.stop()));
    });

    it('calls greeting_service, hosted by the service user, through the HTTP gateway', async () => {
      const res = await fetch(`${http.url}/greeting_service.hello`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([['Bob'], { last_name: 'Ross' }]),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), [['Hello, Bob Ross'], {}]);
    });

    it('calls, registers, subscribes and publishes through the WAMP gateway', async () => {
      const client = await RawClient.open(wamp.wsUrl);
      await client.hello();
      client.send([48, 1, {}, 'greeting_service.hello', ['Ada']]);
      assert.deepEqual((await client.next()).slice(0, 4), [50, 1, {}, ['Hello, Ada']]);

      // A WAMP callee answers a call that came in through the HTTP gateway.
      client.send([64, 2, {}, 'nats_conf_tab.double']);
      const [registered] = await client.next();
      assert.equal(registered, 65);
      const call = fetch(`${http.url}/nats_conf_tab.double`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[[21], {}]' });
      const invocation = await client.next();
      assert.equal(invocation[0], 68);
      client.send([70, invocation[1], {}, [(invocation[4] as number[])[0]! * 2]]);
      const answer = await call;
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), [[42], {}]);

      client.send([32, 3, {}, 'nats_conf.events']);
      const subscribed = await client.next();
      assert.equal(subscribed[0], 33);
      client.send([16, 4, { acknowledge: true, exclude_me: false }, 'nats_conf.events', ['hi']]);
      const frames = [await client.next(), await client.next()].sort((a, b) => (a[0] as number) - (b[0] as number));
      assert.equal(frames[0]![0], 17, 'PUBLISHED');
      assert.deepEqual([frames[1]![0], frames[1]![4]], [36, ['hi']]);
      await client.close();
    });
  });
});
