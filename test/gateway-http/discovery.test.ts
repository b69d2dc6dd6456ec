// What the discovery routes show, asked anonymously and as an admin: /openapi.json, GET /, GET /<procedure> and
// /metrics (gateway-wamp's too) name only what the caller may call; http.discovery=false closes them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { RawClient } from '../gateway-wamp/raw-client.ts';
import { createIdentityVerifier } from '../../mesh/auth/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { hs256, MESH_SECRET, SECRET, tempFile } from '../mesh/auth/tokens.ts';
import { Vault } from '../mesh/auth/vault.ts';

describe('discovery as the policy lets each caller see it', () => {
  const vault = uniqueName('vault');
  const settings = {
    'auth.jwtSecret': SECRET,
    'auth.meshSecret': MESH_SECRET,
    'auth.policyFile': tempFile(
      'policy.yaml',
      ['anonymous: guest', 'roles:', '  guest:', `    - { uri: ${vault}.whoami, allow: [call] }`, '  admin:', '    - { uri: "", match: prefix, allow: [call] }'].join('\n'),
    ),
  };
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  let admin: Record<string, string>;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gateway.url}${path}`, { headers: { accept: 'application/json', ...headers } });
  const text = async (path: string, headers?: Record<string, string>) => (await get(path, headers)).text();

  before(async () => {
    const config = testConfig(settings);
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(new Vault(vault), { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
    gateway = await start({ config, logger: silentLogger });
    admin = { authorization: `Bearer ${await hs256({ sub: 'root', roles: ['admin'] })}` };
    // A call of each, so /metrics has a series for both.
    for (const procedure of ['whoami', 'open']) {
      const res = await fetch(`${gateway.url}/${vault}.${procedure}`, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json', ...admin } });
      assert.equal(res.status, 200);
    }
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  it('lists in /openapi.json only the procedures the caller may call', async () => {
    const paths = async (headers?: Record<string, string>) => Object.keys(((await (await get('/openapi.json', headers)).json()) as { paths: object }).paths).filter((p) => p.startsWith(`/${vault}.`));
    assert.deepEqual(await paths(), [`/${vault}.whoami`]);
    assert.deepEqual((await paths(admin)).sort(), [`/${vault}.open`, `/${vault}.peek`, `/${vault}.whoami`]);
  });

  it('lists on GET / only those, and answers GET /<procedure> of a hidden one as an unknown one', async () => {
    const services = (await (await get('/')).json()) as { services: { name: string; procedures: { name: string }[] }[] };
    assert.deepEqual(
      services.services.find((s) => s.name === vault)?.procedures.map((p) => p.name),
      [`${vault}.whoami`],
    );
    assert.equal((await get(`/${vault}.whoami`)).status, 200);
    const hidden = await get(`/${vault}.open`);
    const unknown = await get(`/${vault}.no_such_thing`);
    assert.deepEqual([hidden.status, unknown.status], [404, 404]);
    const message = (body: unknown) => (body as { error: { message: string } }).error.message.replace(/'[^']*'/, 'NAME');
    assert.equal(message(await hidden.json()), message(await unknown.json()));
    assert.equal((await get(`/${vault}.open`, admin)).status, 200);
  });

  it('names in /metrics only the procedures the caller may call', async () => {
    const anonymous = await text('/metrics');
    assert.match(anonymous, new RegExp(`procedure="${vault}\\.whoami"`));
    assert.doesNotMatch(anonymous, new RegExp(`${vault}\\.open`));
    assert.match(await text('/metrics', admin), new RegExp(`procedure="${vault}\\.open"`));
  });

  it("names in gateway-wamp's /metrics only the procedures the caller may call, Bearer credential or anonymous", async (t) => {
    const wamp = await startWamp({ config: testConfig(settings), logger: silentLogger });
    t.after(() => wamp.stop());
    const session = await RawClient.open(wamp.wsUrl);
    session.send([MessageType.HELLO, 'realm1', { roles: { caller: {} }, authmethods: ['ticket'] }]);
    await session.next();
    session.send([MessageType.AUTHENTICATE, admin.authorization!.slice('Bearer '.length), {}]);
    assert.equal((await session.next())[0], MessageType.WELCOME);
    for (const [id, procedure] of [
      [1, 'whoami'],
      [2, 'open'],
    ] as const) {
      session.send([MessageType.CALL, id, {}, `${vault}.${procedure}`, []]);
      assert.equal((await session.next())[0], MessageType.RESULT);
    }
    await session.close();
    const metrics = async (headers: Record<string, string> = {}) => (await fetch(`${wamp.url}/metrics`, { headers })).text();
    const anonymous = await metrics();
    assert.match(anonymous, new RegExp(`procedure="${vault}\\.whoami"`));
    assert.doesNotMatch(anonymous, new RegExp(`${vault}\\.open`));
    assert.match(await metrics(admin), new RegExp(`procedure="${vault}\\.open"`));
    assert.equal((await fetch(`${wamp.url}/metrics`, { headers: { authorization: 'Bearer not-a-key' } })).status, 401);
  });

  it('refuses a bad credential on a discovery route with 401, as on a call', async () => {
    assert.equal((await get('/openapi.json', { authorization: 'Bearer not-a-key' })).status, 401);
  });

  it('with http.discovery=false answers /openapi.json, /docs, GET / and GET /<procedure> 404, and calls still work', async (t) => {
    const closed = await start({ config: testConfig({ ...settings, 'http.discovery': false }), logger: silentLogger });
    t.after(() => closed.stop());
    for (const path of ['/openapi.json', '/docs', '/docs/browse.js', '/', `/${vault}.whoami`]) {
      const res = await fetch(`${closed.url}${path}`, { headers: admin });
      assert.equal(res.status, 404, path);
    }
    const call = await fetch(`${closed.url}/${vault}.whoami`, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } });
    assert.equal(call.status, 200);
  });
});
