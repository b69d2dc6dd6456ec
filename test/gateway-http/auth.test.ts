// gateway-http with authentication and a policy, as curl would use it: every bad token is 401 with
// WWW-Authenticate, API keys work in both headers, the policy allows and denies, and the service sees the caller.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { createIdentityVerifier, hashApiKey } from '../../mesh/auth/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { handmade, hs256, JwksServer, keyPair, MESH_SECRET, now, OTHER_SECRET, SECRET, sign, tempFile } from '../mesh/auth/tokens.ts';
import { Vault } from '../mesh/auth/vault.ts';

interface Answer {
  status: number;
  body: { error?: { code: string; message: string } } & unknown;
  wwwAuthenticate: string | null;
}

async function call(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: (await res.json()) as Answer['body'], wwwAuthenticate: res.headers.get('www-authenticate') };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('gateway-http with JWTs, API keys and a policy', () => {
  const vault = uniqueName('vault');
  const other = uniqueName('other');
  const issuer = { iss: 'https://id.example', aud: 'nats-mesh' };
  const config = testConfig({
    'auth.jwtSecret': SECRET,
    'auth.jwtIssuer': issuer.iss,
    'auth.jwtAudience': issuer.aud,
    'auth.meshSecret': MESH_SECRET,
    'auth.apiKeysFile': tempFile('keys.json', JSON.stringify([{ id: 'ci', sha256: hashApiKey('ci-secret-key'), roles: ['reader'] }])),
    'auth.policyFile': tempFile(
      'policy.yaml',
      [
        'anonymous: guest',
        'roles:',
        '  guest:',
        `    - { uri: ${vault}.whoami, match: exact, allow: [call] }`,
        '  reader:',
        `    - { uri: "${vault}.", match: prefix, allow: [call] }`,
        '  ops:',
        '    - { uri: "*.open", match: wildcard, allow: [call] }',
        '  admin:',
        '    - { uri: "", match: prefix, allow: [call, publish, subscribe, register] }',
      ].join('\n'),
    ),
    'http.maxHeaderBytes': '128kb',
    // This suite sends many bad credentials from one address; the limit on them has a suite of its own.
    'auth.failuresPerAddress': 0,
  });
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  const url = (procedure: string) => `${gateway.url}/${procedure}`;
  const token = (roles: string[], sub = 'alice') => hs256({ ...issuer, sub, roles });

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    const identity = createIdentityVerifier(config.auth);
    services = await Promise.all([vault, other].map((name) => hostService(new Vault(name), { nc, logger: silentLogger, identity })));
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  it('answers a caller without credential as the anonymous role, and the service sees it', async () => {
    const res = await call(url(`${vault}.whoami`));
    assert.deepEqual([res.status, res.body], [200, [[{ id: 'anonymous', roles: ['guest'], method: 'anonymous', procedure: `${vault}.whoami` }], {}]]);
  });

  it('answers 401 "Authorization header missing" with WWW-Authenticate where anonymous may not call, before any lookup', async () => {
    for (const procedure of [`${vault}.open`, `${vault}.peek`, 'no_such_service.at_all']) {
      const res = await call(url(procedure));
      assert.equal(res.status, 401, procedure);
      assert.equal(res.body.error?.code, 'UNAUTHENTICATED');
      assert.match(res.body.error!.message, /^Authorization header missing/);
      assert.equal(res.wwwAuthenticate, 'Bearer realm="nats-mesh"');
    }
  });

  const badTokens: [string, () => Promise<string> | string][] = [
    ['expired', () => hs256({ ...issuer, roles: ['admin'], exp: now() - 3600 })],
    ['not yet valid', () => hs256({ ...issuer, roles: ['admin'], nbf: now() + 3600 })],
    ['wrong signature', () => hs256({ ...issuer, roles: ['admin'] }, OTHER_SECRET)],
    ['alg none', () => handmade({ alg: 'none' }, { ...issuer, sub: 'eve', roles: ['admin'], exp: now() + 60 })],
    ['wrong issuer', () => hs256({ ...issuer, iss: 'https://evil.example', roles: ['admin'] })],
    ['wrong audience', () => hs256({ ...issuer, aud: 'elsewhere', roles: ['admin'] })],
    ['malformed base64', () => 'eyJhbGciOiJIUzI1NiJ9.a.b'],
    ['JSON that is not an object', () => handmade({ alg: 'HS256' }, [issuer], SECRET)],
    ['a 64 KB token', () => hs256({ ...issuer, roles: ['admin'], extra: { pad: 'x'.repeat(64 * 1024) } })],
    ['an unknown API key', () => 'not-a-key'],
    ['issued an hour in the future', () => handmade({ alg: 'HS256' }, { ...issuer, sub: 'eve', roles: ['admin'], iat: now() + 3600, exp: now() + 7200 }, SECRET)],
    ['roles given as a string', () => hs256({ ...issuer, roles: 'admin' })],
    ['roles holding a number', () => hs256({ ...issuer, roles: ['admin', 7] })],
  ];
  for (const [name, make] of badTokens) {
    it(`answers 401 with WWW-Authenticate for ${name}`, async () => {
      const res = await call(url(`${vault}.whoami`), bearer(await make()));
      assert.deepEqual([res.status, res.body.error?.code, res.wwwAuthenticate], [401, 'UNAUTHENTICATED', 'Bearer realm="nats-mesh"']);
    });
  }

  it('answers 401 for an Authorization header that is not Bearer', async () => {
    const res = await call(url(`${vault}.whoami`), { authorization: 'Basic YWxpY2U6c2VjcmV0' });
    assert.deepEqual([res.status, res.body.error?.code], [401, 'UNAUTHENTICATED']);
  });

  it('takes an API key in X-Api-Token and in Authorization: Bearer', async () => {
    for (const headers of [{ 'x-api-token': 'ci-secret-key' }, bearer('ci-secret-key')]) {
      const res = await call(url(`${vault}.whoami`), headers);
      assert.deepEqual([res.status, res.body], [200, [[{ id: 'ci', roles: ['reader'], method: 'api_key', procedure: `${vault}.whoami` }], {}]]);
    }
  });

  it('answers 401 for a JWT in X-Api-Token, which takes API keys only, though the same JWT passes as Bearer', async () => {
    const jwt = await token(['reader']);
    assert.equal((await call(url(`${vault}.whoami`), bearer(jwt))).status, 200);
    const res = await call(url(`${vault}.whoami`), { 'x-api-token': jwt });
    assert.deepEqual([res.status, res.body.error?.code], [401, 'UNAUTHENTICATED']);
    assert.match(res.body.error!.message, /X-Api-Token takes an API key/);
  });

  it('exact: guest may call whoami and nothing else (403 with a token)', async () => {
    assert.equal((await call(url(`${vault}.whoami`), bearer(await token(['guest'])))).status, 200);
    const res = await call(url(`${vault}.peek`), bearer(await token(['guest'])));
    assert.deepEqual([res.status, res.body.error?.code], [403, 'PERMISSION_DENIED']);
  });

  it('prefix: reader may call every procedure of the vault, none of another service', async () => {
    assert.deepEqual((await call(url(`${vault}.peek`), bearer(await token(['reader'])))).body, [['a peek'], {}]);
    assert.equal((await call(url(`${other}.peek`), bearer(await token(['reader'])))).status, 403);
  });

  it('wildcard: ops passes the policy for any *.open, and the service still asks for admin', async () => {
    assert.equal((await call(url(`${vault}.peek`), bearer(await token(['ops'])))).status, 403);
    const res = await call(url(`${other}.open`), bearer(await token(['ops'], 'olga')));
    assert.deepEqual([res.status, res.body.error?.code], [403, 'PERMISSION_DENIED']);
    assert.match(res.body.error!.message, /needs a caller with the role admin; olga has ops/);
  });

  it('admin: the call reaches the role-guarded procedure with the caller forwarded', async () => {
    const admin = bearer(await token(['admin'], 'root'));
    assert.deepEqual((await call(url(`${other}.open`), admin)).body, [['opened'], {}]);
    assert.deepEqual((await call(url(`${vault}.whoami`), admin)).body, [[{ id: 'root', roles: ['admin'], method: 'jwt', procedure: `${vault}.whoami` }], {}]);
  });
});

describe('gateway-http with a JWKS endpoint', () => {
  it('answers 503 UNAVAILABLE while the JWKS endpoint is down and no keys are cached, 200 with cached keys', async (t) => {
    const keys = await keyPair('RS256');
    const jwks = await JwksServer.start([{ key: keys.publicKey, kid: 'k1', alg: 'RS256' }]);
    const down = await JwksServer.start([{ key: keys.publicKey, kid: 'k1', alg: 'RS256' }]);
    await down.stop();
    const gateways = await Promise.all([jwks.url, down.url].map((jwksUrl) => start({ config: testConfig({ 'auth.jwksUrl': jwksUrl, 'auth.meshSecret': MESH_SECRET }), logger: silentLogger })));
    const nc = await connect({ servers: NATS_URL });
    const vault = uniqueName('vault');
    const identity = createIdentityVerifier(testConfig({ 'auth.meshSecret': MESH_SECRET }).auth);
    const hosted = await hostService(new Vault(vault), { nc, logger: silentLogger, identity });
    t.after(async () => {
      await Promise.all(gateways.map((g) => g.stop()));
      await hosted.stop();
      await nc.drain();
    });
    const [up, noKeys] = gateways.map((g) => `${g.url}/${vault}.peek`) as [string, string];
    assert.equal((await call(up, bearer(await sign(keys.privateKey, 'RS256', { kid: 'k1', sub: 'a' })))).status, 200);
    await jwks.stop();
    assert.equal((await call(up, bearer(await sign(keys.privateKey, 'RS256', { kid: 'k1', sub: 'b' })))).status, 200);
    const res = await call(noKeys, bearer(await sign(keys.privateKey, 'RS256', { kid: 'k1' })));
    assert.deepEqual([res.status, res.body.error?.code], [503, 'UNAVAILABLE']);
  });
});
