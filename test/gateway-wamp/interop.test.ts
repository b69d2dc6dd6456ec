// Interop: WAMP clients not written here (npm autobahn and wampy in Node, Debian's python3-autobahn) connect to
// gateway-wamp with each serializer they support, subscribe, get an event sent through gateway-http, publish,
// call greeting_service.hello, and register a procedure that is then called over HTTP.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import autobahn, { type Session } from 'autobahn';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { createIdentityVerifier } from '../../mesh/auth/index.ts';
import { Wampy } from 'wampy';
import { JsonSerializer } from 'wampy/JsonSerializer.js';
import { MsgpackSerializer } from 'wampy/MsgpackSerializer.js';
import { WebSocket } from 'ws';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start } from '../../gateway-wamp/index.ts';
import { hostService, jsonCodec, msgpackCodec, parseJsonExact, type Args, type HostedService, type Kwargs } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import WebsocketTestService from '../../services/websocket-test/index.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

/** A PUBLISH goes to NATS in the publisher's serializer, saying so in Content-Type. */
function decodePublished(msg: Msg, serializer: string): unknown {
  const msgpack = serializer === 'msgpack';
  assert.equal(msg.headers?.get('Content-Type') || undefined, msgpack ? 'application/msgpack' : undefined);
  return (msgpack ? msgpackCodec : jsonCodec).decode(msg.data);
}

type Serializer = 'json' | 'msgpack';
type Envelope = [Args, Kwargs];

/** What the scenario needs from a WAMP client library, each call in that library's own API. */
interface WampClient {
  subscribe(topic: string, onEvent: (event: Envelope) => void): Promise<void>;
  publish(topic: string, args: Args, kwargs: Kwargs): Promise<void>;
  call(procedure: string, args: Args, kwargs: Kwargs): Promise<Envelope>;
  register(procedure: string, handler: (args: Args, kwargs: Kwargs) => Envelope): Promise<void>;
  close(): Promise<void>;
}

async function autobahnClient(url: string, serializer: Serializer): Promise<WampClient> {
  const connection = new autobahn.Connection({
    url,
    realm: 'realm1',
    serializers: [serializer === 'json' ? new autobahn.serializer.JSONSerializer() : new autobahn.serializer.MsgpackSerializer()],
    max_retries: 0,
  });
  const session = await new Promise<Session>((resolve, reject) => {
    connection.onopen = resolve;
    connection.onclose = (reason) => reject(new Error(`autobahn closed: ${reason}`));
    connection.open();
  });
  connection.onclose = () => false;
  const envelope = (result: unknown): Envelope => (result instanceof autobahn.Result ? [result.args, result.kwargs] : [[result], {}]);
  return {
    subscribe: async (topic, onEvent) => void (await session.subscribe(topic, (args, kwargs) => onEvent([args ?? [], kwargs ?? {}]))),
    publish: async (topic, args, kwargs) => void (await session.publish(topic, args, kwargs, { acknowledge: true })),
    call: async (procedure, args, kwargs) => envelope(await session.call(procedure, args, kwargs)),
    register: async (procedure, handler) => void (await session.register(procedure, (args, kwargs) => new autobahn.Result(...handler(args ?? [], kwargs ?? {})))),
    close: async () => connection.close(),
  };
}

async function wampyClient(url: string, serializer: Serializer): Promise<WampClient> {
  const wampy = new Wampy(url, {
    realm: 'realm1',
    ws: WebSocket as never, // ws's constructor is the WebSocket wampy expects; its declared type is the DOM one
    serializer: serializer === 'json' ? new JsonSerializer() : new MsgpackSerializer(),
    autoReconnect: false,
  });
  await wampy.connect();
  return {
    subscribe: async (topic, onEvent) => void (await wampy.subscribe(topic, ({ argsList, argsDict }) => onEvent([argsList ?? [], argsDict ?? {}]))),
    publish: async (topic, args, kwargs) => void (await wampy.publish(topic, { argsList: args, argsDict: kwargs })),
    call: async (procedure, args, kwargs) => {
      const { argsList, argsDict } = await wampy.call(procedure, { argsList: args, argsDict: kwargs });
      return [argsList ?? [], argsDict ?? {}];
    },
    register: async (procedure, handler) =>
      void (await wampy.register(procedure, ({ argsList, argsDict }) => {
        const [args, kwargs] = handler(argsList ?? [], argsDict ?? {});
        return { argsList: args, argsDict: kwargs };
      })),
    close: async () => void (await wampy.disconnect()),
  };
}

const CLIENTS: Array<[string, typeof autobahnClient, Serializer[]]> = [
  ['npm autobahn', autobahnClient, ['json', 'msgpack']],
  ['npm wampy', wampyClient, ['json', 'msgpack']],
];

/** Debian's python3, which has python3-autobahn (the python3 on PATH may be another one). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const PYTHON_CLIENT = new URL('./autobahn_client.py', import.meta.url).pathname;

/**
 * What the Python client reports of integers past 2^53 and binary: through the gateway and back in its own serializer,
 * then from HTTP's JSON into its serializer and back out as JSON.
 */
const PYTHON_EXACT = {
  exact: { same: true, types: ['int', 'int', 'int', 'int', 'int', 'int', 'bytes', 'bytes'] },
  exact_http: { status: 200, body: [[2n ** 64n - 1n, Uint8Array.of(0xff, 0xfe)], { types: ['int', 'bytes'] }] },
};

async function hasPythonAutobahn(): Promise<boolean> {
  if (!existsSync(DEBIAN_PYTHON)) return false;
  return promisify(execFile)(DEBIAN_PYTHON, ['-c', 'import autobahn, msgpack']).then(
    () => true,
    () => false,
  );
}

describe('WAMP clients not written here', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  let http: Awaited<ReturnType<typeof startHttp>>;
  const greeting = new GreetingService();
  greeting.name = uniqueName('greeting');
  const websocketTest = new WebsocketTestService();
  websocketTest.name = uniqueName('websocket_test');

  before(async () => {
    const config = testConfig();
    nc = await connect({ servers: config.nats.url });
    services = [await hostService(greeting, { nc, logger: silentLogger }), await hostService(websocketTest, { nc, logger: silentLogger })];
    gateway = await start({ config, logger: silentLogger });
    http = await startHttp({ config, logger: silentLogger });
  });

  after(async () => {
    await http.stop();
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  const post = async (procedure: string, body: string) => {
    const res = await fetch(`${http.url}/${procedure}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: res.status, text: await res.text() };
  };

  for (const [name, open, serializers] of CLIENTS) {
    for (const serializer of serializers) {
      it(`${name} over wamp.2.${serializer}: subscribe, event from HTTP, publish, call, register`, async () => {
        const client = await open(gateway.wsUrl, serializer);
        try {
          let onEvent!: (event: Envelope) => void;
          const event = new Promise<Envelope>((resolve) => (onEvent = resolve));
          await client.subscribe(websocketTest.topic, onEvent);
          assert.equal((await post(`${websocketTest.name}.hello_websocket`, '[["websockets"], {"are": "awesome"}]')).status, 200);
          assert.deepEqual(await event, [['websockets'], { are: 'awesome' }]);

          const topic = uniqueName('interop');
          const published = nc.subscribe(topic, { max: 1, timeout: 3000 });
          await nc.flush();
          await client.publish(topic, ['from', name], { serializer });
          for await (const msg of published) assert.deepEqual(decodePublished(msg, serializer), [['from', name], { serializer }]);

          assert.deepEqual(await client.call(`${greeting.name}.hello`, ['Bob'], { last_name: 'Ross' }), [['Hello, Bob Ross'], {}]);

          const procedure = `${uniqueName('client')}.shout`;
          await client.register(procedure, (args, kwargs) => [[String(args[0]).toUpperCase()], { seen: kwargs }]);
          assert.deepEqual(await post(procedure, '[["hey"], {"via": "http"}]'), { status: 200, text: '[["HEY"],{"seen":{"via":"http"}}]' });
        } finally {
          await client.close();
        }
      });
    }
  }

  it("Debian's python3-autobahn over wamp.2.json and wamp.2.msgpack", async (t) => {
    if (!(await hasPythonAutobahn())) {
      t.skip(`${DEBIAN_PYTHON} has no autobahn (apt-get install python3-autobahn)`);
      return;
    }
    for (const serializer of ['json', 'msgpack']) {
      const procedure = `${uniqueName('python')}.shout`;
      const topic = uniqueName('python');
      const published = nc.subscribe(topic, { max: 1, timeout: 20_000 });
      await nc.flush();
      const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, [PYTHON_CLIENT, gateway.wsUrl, 'realm1', serializer, http.url, websocketTest.name, greeting.name, topic, procedure], {
        timeout: 30_000,
      });
      // Read exactly: the report's big integers are bigints, its strings of a NUL and base64 bytes.
      const report = parseJsonExact(stdout) as Record<string, unknown>;
      assert.deepEqual(report, {
        serializer,
        event: [['websockets'], { are: 'awesome' }],
        call: 'Hello, Bob Ross',
        http_call: { status: 200, body: [['HEY'], { seen: { via: 'http' } }] },
        ...PYTHON_EXACT,
      });
      for await (const msg of published) assert.deepEqual(decodePublished(msg, serializer), [['from', 'python'], { serializer }]);
    }
  });
});

const SECRET = 'an-interop-test-secret-of-at-least-32-characters';

/** Each library's own way to sign in with a ticket; resolves with WELCOME's authid and authmethod, and a call's result. */
const TICKET_CLIENTS: Array<[string, (url: string, authid: string, ticket: string, procedure: string) => Promise<[string, string, unknown]>]> = [
  [
    'npm autobahn',
    async (url, authid, ticket, procedure) => {
      const connection = new autobahn.Connection({ url, realm: 'realm1', authmethods: ['ticket'], authid, onchallenge: () => ticket, max_retries: 0 });
      const [session, details] = await new Promise<[Session, { authid: string; authmethod: string }]>((resolve, reject) => {
        connection.onopen = (opened, welcome) => resolve([opened, welcome as unknown as { authid: string; authmethod: string }]);
        connection.onclose = (reason, closed) => reject(new Error(`autobahn closed: ${(closed as { reason?: string }).reason ?? reason}`));
        connection.open();
      });
      connection.onclose = () => false;
      try {
        return [details.authid, details.authmethod, await session.call(procedure, ['Bob'], { last_name: 'Ross' })];
      } finally {
        connection.close();
      }
    },
  ],
  [
    'npm wampy',
    async (url, authid, ticket, procedure) => {
      const wampy = new Wampy(url, {
        realm: 'realm1',
        ws: WebSocket as never, // as above
        serializer: new JsonSerializer(),
        autoReconnect: false,
        authid,
        authmethods: ['ticket'],
        onChallenge: () => ticket,
      });
      const details = (await wampy.connect().catch((err: { errorUri?: string }) => {
        throw new Error(`wampy aborted: ${err.errorUri}`);
      })) as unknown as { authid: string; authmethod: string };
      try {
        const { argsList } = await wampy.call(procedure, { argsList: ['Bob'], argsDict: { last_name: 'Ross' } });
        return [details.authid, details.authmethod, argsList?.[0]];
      } finally {
        await wampy.disconnect();
      }
    },
  ],
];

describe('WAMP clients not written here, signing in with a ticket', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  let http: Awaited<ReturnType<typeof startHttp>>;
  const greeting = new GreetingService();
  greeting.name = uniqueName('greeting');
  const websocketTest = new WebsocketTestService();
  websocketTest.name = uniqueName('websocket_test');
  const ticket = (sub: string) => new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

  before(async () => {
    const config = testConfig({ 'auth.jwtSecret': SECRET });
    nc = await connect({ servers: config.nats.url });
    // Hosts that can verify the Mesh-Identity the gateways forward.
    const host = { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) };
    services = [await hostService(greeting, host), await hostService(websocketTest, host)];
    gateway = await start({ config, logger: silentLogger });
    http = await startHttp({ config, logger: silentLogger });
  });

  after(async () => {
    await http.stop();
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  for (const [name, signIn] of TICKET_CLIENTS) {
    it(`${name}: ticket authentication with a JWT, and a refused ticket`, async () => {
      assert.deepEqual(await signIn(gateway.wsUrl, 'alice', await ticket('alice'), `${greeting.name}.hello`), ['alice', 'ticket', 'Hello, Bob Ross']);
      await assert.rejects(signIn(gateway.wsUrl, 'alice', 'not-a-valid-ticket', `${greeting.name}.hello`), /wamp\.error\.authentication_failed/);
    });
  }

  it("Debian's python3-autobahn: ticket authentication with a JWT", async (t) => {
    if (!(await hasPythonAutobahn())) {
      t.skip(`${DEBIAN_PYTHON} has no autobahn (apt-get install python3-autobahn)`);
      return;
    }
    const procedure = `${uniqueName('python')}.shout`;
    const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, [PYTHON_CLIENT, gateway.wsUrl, 'realm1', 'json', http.url, websocketTest.name, greeting.name, uniqueName('python'), procedure], {
      timeout: 30_000,
      env: { ...process.env, MESH_AUTHID: 'alice', MESH_TICKET: await ticket('alice') },
    });
    const report = parseJsonExact(stdout) as Record<string, unknown>;
    assert.deepEqual(report, {
      serializer: 'json',
      authid: 'alice',
      authmethod: 'ticket',
      event: [['websockets'], { are: 'awesome' }],
      call: 'Hello, Bob Ross',
      http_call: { status: 200, body: [['HEY'], { seen: { via: 'http' } }] },
      ...PYTHON_EXACT,
    });
  });
});
