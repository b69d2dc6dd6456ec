// Cross-origin protection by the browser's own signals (Sec-Fetch-Site, Origin), whatever the content type, at both
// gateways; and what is not a browser's (curl, scripts) is read as JSON as the seed's README sends it: `curl -d`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import ThingService from '../../services/thing/index.ts';
import WebsocketTestService from '../../services/websocket-test/index.ts';
import { ERROR_ID, OwnNatsServer, silentLogger, testConfig, withoutErrorId } from '../helpers.ts';
import { thingDataDir } from '../databases.ts';

const run = promisify(execFile);

/** The seed's examples, as its README writes them (its gateway on :5000). */
const SEED_EXAMPLES = [
  `curl -X POST 'http://127.0.0.1:5000/greeting_service.hello' -d '[["Bob"]]'`,
  `curl -X POST 'http://127.0.0.1:5000/greeting_service.hello_sleep' -d '[["Bob", 1]]'`,
  `curl -X POST 'http://127.0.0.1:5000/thing_service.create_thing' -d '[["Alice"]]'`,
  `curl -X POST 'http://127.0.0.1:5000/thing_service.get_things'`,
  `curl -X POST 'http://127.0.0.1:5000/websocket_test.hello_websocket' -d '[["websockets"], {"are": "awesome"}]'`,
];

const THING = /^\{"uuid":"[0-9a-f-]{36}","name":"Alice","is_created_at":"[0-9T:.Z-]+"\}$/;

describe("cross-origin protection and the seed's curl", () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService[];
  let http: Awaited<ReturnType<typeof startHttp>>;
  let dataDir: string;

  before(async () => {
    // Real service names: a nats-server of the test's own.
    server = await OwnNatsServer.start();
    dataDir = await thingDataDir('cross-origin-');
    nc = await connect({ servers: server.url });
    const config = testConfig({ 'nats.url': server.url, 'database.dataDir': dataDir, 'http.corsOrigins': 'https://trusted.example' });
    hosted = [
      await hostService(new GreetingService(), { nc, logger: silentLogger }),
      await hostService(new WebsocketTestService(), { nc, logger: silentLogger }),
      await hostService(new ThingService({ config, logger: silentLogger }), { nc, logger: silentLogger, config }),
    ];
    http = await startHttp({ config, logger: silentLogger });
  });

  after(async () => {
    await http.stop();
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs a curl command line as written, against this gateway instead of :5000. */
  async function curl(command: string): Promise<string> {
    const line = command.replace('http://127.0.0.1:5000', http.url);
    const { stdout } = await run('sh', ['-c', `${line} -s`]);
    return stdout;
  }

  it("answers the seed's curl examples as written: curl -d sends form-encoded, read as JSON", async () => {
    const [hello, sleep, create, list, websocket] = SEED_EXAMPLES;
    assert.equal(await curl(hello!), '[["Hello, Bob"],{}]');
    assert.equal(await curl(sleep!), '[["Hello, Bob"],{}]');
    const [[created]] = JSON.parse(await curl(create!)) as [[unknown]];
    assert.match(JSON.stringify(created), THING);
    const [[things]] = JSON.parse(await curl(list!)) as [[unknown[]]];
    assert.deepEqual(things, [created]);
    assert.equal(await curl(websocket!), '[[],{}]');
  });

  async function post(headers: Record<string, string>, body = '[["Ann"]]') {
    const res = await fetch(`${http.url}/greeting_service.hello`, { method: 'POST', body, headers });
    const text = await res.text();
    return { status: res.status, text };
  }

  it("refuses a browser's cross-site POST with 403 and a coded error, whatever its content type", async () => {
    for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      for (const headers of <Record<string, string>[]>[
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        { 'sec-fetch-site': 'same-site', origin: 'https://sub.example' },
        { origin: 'https://evil.example' },
        { origin: 'null' },
      ]) {
        const res = await post({ 'content-type': type, ...headers });
        assert.equal(res.status, 403, `${type} ${JSON.stringify(headers)}`);
        const body = withoutErrorId(JSON.parse(res.text)) as { error: { code: string; status: number } };
        assert.deepEqual([body.error.code, body.error.status], ['PERMISSION_DENIED', 403]);
      }
    }
  });

  it("serves the same POST from the gateway's own origin, a trusted origin, a typed-in request, and a client that is no browser", async () => {
    const own = new URL(http.url);
    for (const headers of <Record<string, string>[]>[
      { 'sec-fetch-site': 'same-origin', origin: http.url },
      { 'sec-fetch-site': 'none' },
      { 'sec-fetch-site': 'cross-site', origin: 'https://trusted.example' },
      { origin: `${own.protocol}//${own.host}` },
      {},
    ]) {
      for (const type of ['application/json', 'text/plain']) {
        assert.deepEqual(await post({ 'content-type': type, ...headers }), { status: 200, text: '[["Hello, Ann"],{}]' }, `${type} ${JSON.stringify(headers)}`);
      }
    }
  });

  it('reads a body with no Content-Type as JSON, and still refuses a type that is not JSON', async () => {
    const status = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${http.url}/greeting_service.hello`, { method: 'POST' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end('[["Ann"]]');
    });
    assert.deepEqual(status, { status: 200, text: '[["Hello, Ann"],{}]' });
    assert.equal((await post({ 'content-type': 'multipart/form-data; boundary=x' })).status, 415);
  });

  it('lets every browser read what GET serves: the rule is for requests that change something', async () => {
    const res = await fetch(`${http.url}/health`, { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } });
    assert.equal(res.status, 200);
  });
});

describe('cross-origin protection of the WAMP upgrade', () => {
  let wamp: Awaited<ReturnType<typeof startWamp>>;

  before(async () => {
    wamp = await startWamp({ config: testConfig({ 'wamp.origins': 'https://trusted.example' }), logger: silentLogger });
  });

  after(() => wamp.stop());

  /** The status of an upgrade request with these headers, and its body when refused. */
  async function upgrade(headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(wamp.wsUrl.replace('ws:', 'http:'), {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'wamp.2.json', ...headers },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode!, body: '' });
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('refuses a page from another site before the upgrade, with 403 and a coded error', async () => {
    for (const headers of <Record<string, string>[]>[{ origin: 'https://evil.example' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }]) {
      const { status, body } = await upgrade(headers);
      assert.equal(status, 403);
      const { error } = JSON.parse(body) as { error: { code: string; id: string } };
      assert.equal(error.code, 'PERMISSION_DENIED');
      assert.match(error.id, ERROR_ID);
    }
  });

  it('opens sessions for its own page, a configured origin and clients that send no Origin', async () => {
    const own = new URL(wamp.url);
    for (const headers of <Record<string, string>[]>[{ origin: `${own.protocol}//${own.host}` }, { origin: 'https://trusted.example', 'sec-fetch-site': 'cross-site' }, {}]) {
      assert.equal((await upgrade(headers)).status, 101, JSON.stringify(headers));
    }
  });
});
