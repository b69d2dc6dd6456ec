// The NATS configuration compose ships (deploy/nats/nats.conf): `mesh nats-config` writes it from the mesh's services,
// and a nats-server started from it refuses what each user may not do, attacks included, while the mesh works.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, errors, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { HEARTBEAT_HEADER, runServices, SERVICE_INFO_SUBJECT, SERVICE_STARTED_SUBJECT, type RunningServices } from '../../mesh/gateway.ts';
import { meshMembers, natsConfig } from '../../mesh/cli/nats-config.ts';
import GreetingService from '../../services/greeting/index.ts';
import ThingService from '../../services/thing/index.ts';
import WebsocketTestService from '../../services/websocket-test/index.ts';
import Mailer from '../../services/mailer/index.ts';
import { RawClient } from '../gateway-wamp/raw-client.ts';
import { natsFromConfig, silentLogger, testConfig, type ConfiguredNats } from '../helpers.ts';
import { thingDataDir } from '../databases.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONF = join(ROOT, 'deploy', 'nats', 'nats.conf');
const run = promisify(execFile);

type User = 'greeting_service' | 'thing_service' | 'websocket_test' | 'mailer' | 'gateway_http' | 'gateway_wamp';

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

/** A subscription: its subject, and its queue group or undefined. */
type Attempt = [string, string | undefined];

/** Asserts nats-server refuses each subscription to this connection's user. */
async function refusesSubscriptions(nc: NatsConnection, attempts: readonly Attempt[]): Promise<void> {
  for (const [subject, queue] of attempts) {
    const refused = nextRefusal(nc);
    nc.subscribe(subject, { queue });
    assert.equal(await refused, `subscription ${subject}`, `${subject}${queue ? ` in ${queue}` : ''}`);
  }
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('deploy/nats/nats.conf', () => {
  it('is what mesh nats-config writes for the processes of package.json mesh.up', async () => {
    const { stdout } = await run(process.execPath, ['bin/mesh.js', 'nats-config'], { cwd: ROOT, env: { ...process.env, MESH_NAMESPACE: '' } });
    assert.equal(stdout, readFileSync(CONF, 'utf8'));
  });

  describe('a nats-server started from it', () => {
    let mesh: ConfiguredNats;
    let services: RunningServices[];
    let http: Awaited<ReturnType<typeof startHttp>>;
    let wamp: Awaited<ReturnType<typeof startWamp>>;
    const as = (user: User) => mesh.as(user);

    before(async () => {
      mesh = await natsFromConfig(CONF);
      const dataDir = await thingDataDir('nats-conf-thing-');
      // Each service in a process of its own, as its own user, as compose runs them.
      services = await Promise.all([
        runServices([GreetingService], { config: mesh.configAs('greeting_service'), logger: silentLogger }),
        runServices([ThingService], { config: mesh.configAs('thing_service', { 'database.dataDir': dataDir }), logger: silentLogger }),
        runServices([WebsocketTestService], { config: mesh.configAs('websocket_test'), logger: silentLogger }),
        runServices([Mailer], { config: mesh.configAs('mailer', { 'mailer.dataDir': dataDir }), logger: silentLogger }),
      ]);
      http = await startHttp({ config: mesh.configAs('gateway_http'), logger: silentLogger });
      wamp = await startWamp({ config: mesh.configAs('gateway_wamp'), logger: silentLogger });
    });

    after(async () => {
      await http?.stop();
      await wamp?.stop();
      await Promise.all((services ?? []).map((s) => s.stop()));
      await mesh?.stop();
    });

    it('has a user for each service and gateway', () => {
      assert.deepEqual(mesh.users, ['greeting_service', 'thing_service', 'websocket_test', 'mailer', 'gateway_http', 'gateway_wamp']);
    });

    it('refuses a connection without the right password', async () => {
      await assert.rejects(connect({ servers: mesh.server.url, user: 'gateway_http', pass: 'wrong' }), /Authorization Violation/i);
      await assert.rejects(connect({ servers: mesh.server.url }), /Authorization Violation/i);
    });

    it('refuses every user the JetStream, KV and system APIs', async () => {
      for (const user of mesh.users as User[]) {
        const nc = await as(user);
        for (const subject of ['$JS.API.INFO', '$JS.API.STREAM.LIST', '$KV.config.key', '$SYS.REQ.SERVER.PING']) {
          const refused = nextRefusal(nc);
          nc.publish(subject);
          assert.equal(await refused, `publish ${subject}`, user);
        }
      }
    });

    it("refuses a service every subscription that would take or read another's requests or replies", async () => {
      const attacker = await as('websocket_test');
      const attempts: Attempt[] = [
        ['>', 'evil.events'],
        ['>', 'q'],
        ['>', undefined],
        ['greeting_service.hello', undefined],
        ['greeting_service.hello', 'q'],
        ['greeting_service.hello', 'websocket_test.events'],
        ['greeting_service.*', 'q'],
        ['_INBOX.>', undefined],
        ['_INBOX_gateway_http.>', undefined],
        ['_INBOX_greeting_service.>', undefined],
        ['$SRV.PING.greeting_service', undefined],
      ];
      await refusesSubscriptions(attacker, attempts);
    });

    it("refuses the WAMP gateway user the subjects of services, their event pools and other users' inboxes", async () => {
      const router = await as('gateway_wamp');
      const attempts: Attempt[] = [
        ['greeting_service.hello', undefined],
        ['greeting_service.hello', 'q'],
        ['websocket_test.websocket_test', 'websocket_test.events'],
        ['>', 'evil.events'],
        ['_INBOX.>', undefined],
        ['_INBOX_gateway_http.>', undefined],
        ['$SRV.PING.greeting_service', undefined],
        ['mesh.reports.crash', undefined],
      ];
      await refusesSubscriptions(router, attempts);
    });

    it('refuses a service publishing what it does not declare, and replies to requests it did not take', async () => {
      const attacker = await as('greeting_service');
      for (const subject of ['thing_service.delete_thing', 'websocket_test.websocket_test', '_INBOX_gateway_http.x', SERVICE_STARTED_SUBJECT.replace('STARTED', 'INFO.thing_service')]) {
        const refused = nextRefusal(attacker);
        attacker.publish(subject, '"forged"');
        assert.equal(await refused, `publish ${subject}`);
      }
    });

    it('answers 20 of 20 HTTP callers truly while a service and the WAMP gateway user try to take and forge them', async () => {
      const forged = new TextEncoder().encode('[["forged"], {}]');
      let seen = 0;
      let answered = 0;
      const forge = (msg: Msg) => {
        seen++;
        if (msg.reply && msg.respond(forged)) answered++;
      };
      // The callers' requests and the replies to the HTTP gateway (each user may read its own inbox, not another's).
      const theirs = (subject: string) => subject.startsWith('greeting_service.') || subject.startsWith('_INBOX_gateway_http.') || subject.startsWith('_INBOX.');
      const service = await as('websocket_test');
      const router = await as('gateway_wamp');
      for (const [nc, subject, queue] of [
        [service, '>', 'evil.events'],
        [service, '>', 'q'],
        [service, '_INBOX.>', undefined],
        [router, '>', undefined],
        [router, '>', 'q'],
        [router, 'greeting_service.*', 'q'],
        [router, '_INBOX_gateway_http.>', undefined],
      ] as const) {
        nc.subscribe(subject, { queue, callback: (err, msg) => void (!err && theirs(msg.subject) && forge(msg)) });
      }
      await Promise.all([service.flush(), router.flush()]);
      const replies = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const res = await post(`${http.url}/greeting_service.hello`, [[`caller ${i}`], {}]);
          return [res.status, await res.json()];
        }),
      );
      assert.deepEqual(
        replies,
        Array.from({ length: 20 }, (_, i) => [200, [[`Hello, caller ${i}`], {}]]),
      );
      assert.deepEqual({ seen, answered }, { seen: 0, answered: 0 });
      // The WAMP gateway's user may take a share of what WAMP clients register (its own queue group): not left to later tests.
      await Promise.all([service.close(), router.close()]);
    });

    it('runs tasks under the generated users: the HTTP gateway enqueues and follows one, thing_service enqueues a welcome mail', async () => {
      const accepted = await fetch(`${http.url}/mailer.send_email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({ to: 'ada@example.com', subject: 'Hello' }),
      });
      assert.equal(accepted.status, 202);
      let status: { state?: string; attempts?: number } = {};
      for (let i = 0; i < 200 && status.state !== 'succeeded'; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
        status = (await (await fetch(http.url + accepted.headers.get('location')!)).json()) as typeof status;
      }
      assert.deepEqual([status.state, status.attempts], ['succeeded', 1]);
      assert.equal((await post(`${http.url}/thing_service.create_thing`, [['kettle'], {}])).status, 200);
      let outbox: { subject: string }[] = [];
      for (let i = 0; i < 200 && !outbox.some((m) => m.subject === 'Welcome, kettle'); i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
        outbox = ((await (await post(`${http.url}/mailer.outbox`, [[], { limit: 50 }])).json()) as [[{ subject: string }[]]])[0][0];
      }
      assert.ok(
        outbox.some((m) => m.subject === 'Welcome, kettle'),
        'the welcome mail was sent',
      );
      assert.deepEqual(mesh.violations(), []);
    });

    it("refuses the mailer another task's stream, another consumer, other tasks' state and stream management", async () => {
      const mailer = await as('mailer');
      for (const subject of [
        '$JS.API.CONSUMER.MSG.NEXT.TASKS_mailer-send_email.other',
        '$JS.API.CONSUMER.MSG.NEXT.TASKS_greeting_service-hello.worker',
        '$JS.API.CONSUMER.CREATE.TASKS_mailer-send_email.other',
        '$JS.API.DIRECT.GET.TASKS_greeting_service-hello',
        '$JS.API.STREAM.MSG.GET.TASKS_mailer-send_email',
        '$JS.API.STREAM.DELETE.TASKS_mailer-send_email',
        '$JS.API.STREAM.PURGE.TASKS_DEAD',
        '$JS.API.STREAM.UPDATE.KV_TASKS_STATE',
        '$JS.API.DIRECT.GET.KV_TASKS_STATE',
        '$JS.API.DIRECT.GET.KV_TASKS_STATE.$KV.TASKS_STATE.greeting_service.hello.1',
        '$KV.TASKS_STATE.greeting_service.hello.1',
        'tasks.greeting_service.hello',
        'tasks-dead.greeting_service.hello.1',
      ]) {
        const refused = nextRefusal(mailer);
        mailer.publish(subject);
        assert.equal(await refused, `publish ${subject}`);
      }
      await refusesSubscriptions(mailer, [
        ['$KV.TASKS_STATE.>', undefined],
        ['tasks.>', undefined],
      ]);
    });

    it('refuses the gateways and other services the task subjects, which only the endpoint and declared enqueuers use', async () => {
      for (const [user, subject] of [
        ['gateway_http', 'tasks.mailer.send_email'],
        ['gateway_wamp', 'tasks.mailer.send_email'],
        ['thing_service', 'tasks.greeting_service.hello'],
        ['greeting_service', 'tasks.mailer.send_email'],
      ] as const) {
        const nc = await as(user);
        const refused = nextRefusal(nc);
        nc.publish(subject);
        assert.equal(await refused, `publish ${subject}`, user);
      }
      await refusesSubscriptions(await as('gateway_wamp'), [
        ['tasks.mailer.send_email', undefined],
        ['tasks-dead.>', undefined],
        ['mailer.send_email', 'q'],
      ]);
    });

    it('lets the HTTP gateway user hear instances announce their start, but not answer $SRV discovery', async () => {
      const nc = await as('gateway_http');
      const service = await as('greeting_service');
      const heard = new Promise<string>((resolve) => nc.subscribe(SERVICE_STARTED_SUBJECT, { max: 1, callback: (_err, msg) => resolve(msg.string()) }));
      await nc.flush();
      service.publish(SERVICE_STARTED_SUBJECT, '{"started":true}');
      assert.equal(await heard, '{"started":true}');
      const refusedInfo = nextRefusal(nc);
      nc.subscribe(SERVICE_INFO_SUBJECT);
      assert.equal(await refusedInfo, `subscription ${SERVICE_INFO_SUBJECT}`);
    });

    it('calls each service through the HTTP gateway, each hosted as its own user', async () => {
      const hello = await post(`${http.url}/greeting_service.hello`, [['Bob'], { last_name: 'Ross' }]);
      assert.deepEqual([hello.status, await hello.json()], [200, [['Hello, Bob Ross'], {}]]);
      const created = await post(`${http.url}/thing_service.create_thing`, [['lamp'], {}]);
      assert.equal(created.status, 200);
      const [[thing]] = (await created.json()) as [[{ uuid: string; name: string }]];
      const found = await post(`${http.url}/thing_service.get_thing`, [[thing.uuid], {}]);
      assert.deepEqual([found.status, ((await found.json()) as [[{ name: string }]])[0][0].name], [200, 'lamp']);
    });

    it('sends heartbeats to a caller that asks for them, on its own inbox', async () => {
      const nc = await as('gateway_http');
      const inbox = '_INBOX_gateway_http.heartbeats';
      const messages: string[] = [];
      const done = new Promise<void>((resolve) =>
        nc.subscribe(inbox, {
          callback: (_err, msg) => {
            messages.push(msg.headers?.get(HEARTBEAT_HEADER) ? 'heartbeat' : msg.string());
            if (!msg.headers?.get(HEARTBEAT_HEADER)) resolve();
          },
        }),
      );
      const asking = headers();
      asking.set(HEARTBEAT_HEADER, '1');
      // The host's heartbeat interval (1 s) runs out before the handler's 1.5 s sleep: timers fire in that order.
      nc.publish('greeting_service.hello_sleep', JSON.stringify([['Ada'], { seconds: 1.5 }]), { reply: inbox, headers: asking });
      await done;
      assert.equal(messages.at(-1), '[["Hello, Ada"],{}]');
      assert.ok(messages.slice(0, -1).length >= 1 && messages.slice(0, -1).every((m) => m === 'heartbeat'), messages.join(' | '));
    });

    it('lists the mesh with mesh ls as the HTTP gateway user, and a service pings itself as its health check', async () => {
      const env = (user: User) => ({ PATH: process.env.PATH, NATS_URL: mesh.server.url, NATS_USER: user, NATS_PASSWORD: mesh.passwordOf(user), NATS_INBOX_PREFIX: `_INBOX_${user}` });
      const { stdout } = await run(process.execPath, ['bin/mesh.js', 'ls'], { cwd: ROOT, env: env('gateway_http') });
      const services = stdout
        .split('\n')
        .filter((line) => /^\S/.test(line))
        .map((line) => line.split(' ')[0]);
      assert.deepEqual(services, ['greeting_service', 'mailer', 'thing_service', 'wamp_gateway', 'websocket_test']);
      assert.match(stdout, /^ {2}greeting_service\.hello\(first_name, last_name\?\)$/m);
      const ping = await run(process.execPath, ['bin/mesh.js', 'ping', 'greeting_service'], { cwd: ROOT, env: env('greeting_service') });
      assert.match(ping.stdout, /^greeting_service 1\.0\.0 /);
    });

    it("calls, registers, subscribes and publishes through the WAMP gateway, and delivers a service's event", async () => {
      const client = await RawClient.open(wamp.wsUrl);
      await client.hello();
      client.send([48, 1, {}, 'greeting_service.hello', ['Ada']]);
      assert.deepEqual((await client.next()).slice(0, 4), [50, 1, {}, ['Hello, Ada']]);

      // websocket_test publishes the event it declares, as its own user; the WAMP gateway delivers it.
      client.send([32, 2, {}, 'websocket_test.websocket_test']);
      assert.equal((await client.next())[0], 33);
      client.send([48, 3, {}, 'websocket_test.hello_websocket', ['hi'], { from: 'test' }]);
      const frames = [await client.next(), await client.next()].sort((a, b) => (a[0] as number) - (b[0] as number));
      assert.deepEqual([frames[0]![0], frames[0]![4], frames[0]![5]], [36, ['hi'], { from: 'test' }], 'EVENT');
      assert.equal(frames[1]![0], 50, 'RESULT');

      // A WAMP callee answers a call that came in through the HTTP gateway.
      client.send([64, 4, {}, 'nats_conf_tab.double']);
      assert.equal((await client.next())[0], 65);
      const call = post(`${http.url}/nats_conf_tab.double`, [[21], {}]);
      const invocation = await client.next();
      assert.equal(invocation[0], 68);
      client.send([70, invocation[1], {}, [(invocation[4] as number[])[0]! * 2]]);
      const answer = await call;
      assert.deepEqual([answer.status, await answer.json()], [200, [[42], {}]]);

      // A pattern registration answers in a queue group of its own (q.prefix.nats_conf_tab), which the user may join;
      // one over a service's subjects never sees its requests (the server filters them, and the pattern yields).
      client.send([64, 7, { match: 'prefix' }, 'nats_conf_tab']);
      assert.equal((await client.next())[0], 65);
      client.send([64, 8, { match: 'prefix' }, 'greeting_service']);
      assert.equal((await client.next())[0], 65);
      client.send([48, 9, {}, 'nats_conf_tab.triple', [5]]);
      const patterned = await client.next();
      assert.deepEqual([patterned[0], patterned[3]], [68, { procedure: 'nats_conf_tab.triple' }]);
      client.send([70, patterned[1], {}, [15]]);
      assert.deepEqual((await client.next()).slice(0, 4), [50, 9, {}, [15]]);
      client.send([48, 10, {}, 'greeting_service.hello', ['Ada']]);
      assert.deepEqual((await client.next()).slice(0, 4), [50, 10, {}, ['Hello, Ada']]);

      client.send([32, 5, {}, 'nats_conf.events']);
      assert.equal((await client.next())[0], 33);
      client.send([16, 6, { acknowledge: true, exclude_me: false }, 'nats_conf.events', ['hello']]);
      const published = [await client.next(), await client.next()].sort((a, b) => (a[0] as number) - (b[0] as number));
      assert.equal(published[0]![0], 17, 'PUBLISHED');
      assert.deepEqual([published[1]![0], published[1]![4]], [36, ['hello']]);
      await client.close();
    });
  });

  describe('generated for a namespace', () => {
    let mesh: ConfiguredNats;
    let services: RunningServices;
    let http: Awaited<ReturnType<typeof startHttp>>;

    before(async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'nats-conf-ns-')), 'nats.conf');
      const members = await meshMembers(['run services/greeting', 'gateway gateway-http'], { config: testConfig(), logger: silentLogger });
      writeFileSync(file, natsConfig(members, 'blue'));
      mesh = await natsFromConfig(file);
      services = await runServices([GreetingService], { config: mesh.configAs('greeting_service', { 'nats.namespace': 'blue' }), logger: silentLogger });
      http = await startHttp({ config: mesh.configAs('gateway_http', { 'nats.namespace': 'blue' }), logger: silentLogger });
    });

    after(async () => {
      await http?.stop();
      await services?.stop();
      await mesh?.stop();
    });

    it("serves the namespace's subjects and queue groups, and no others", async () => {
      const hello = await post(`${http.url}/greeting_service.hello`, [['Bob'], {}]);
      assert.deepEqual([hello.status, await hello.json()], [200, [['Hello, Bob'], {}]]);
      const nc = await mesh.as('greeting_service');
      const refused = nextRefusal(nc);
      nc.subscribe('greeting_service.hello', { queue: 'q' });
      assert.equal(await refused, 'subscription greeting_service.hello');
    });
  });
});
