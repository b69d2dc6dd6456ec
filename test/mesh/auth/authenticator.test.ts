// The authenticator against real tokens: every bad token is UNAUTHENTICATED (never a crash), a JWKS that is down
// is UNAVAILABLE only when no keys are cached, API keys are found by hash, and verified tokens are cached.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAuthenticator, hashApiKey, type Authenticator } from '../../../mesh/auth/index.ts';
import { configSchema, type AuthConfig } from '../../../mesh/process/config.ts';
import { MeshError } from '../../../mesh/wire/errors.ts';
import { handmade, hs256, JwksServer, keyPair, now, OTHER_SECRET, SECRET, sign, tempFile } from './tokens.ts';

function authConfig(auth: Partial<AuthConfig>): AuthConfig {
  return configSchema.parse({ auth: { meshSecret: 'm'.repeat(32), ...auth } }).auth;
}

async function refusal(authenticator: Authenticator, credential: string): Promise<MeshError> {
  const err = await authenticator.authenticate(credential).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof MeshError, `expected a MeshError, got ${String(err)}`);
  return err;
}

describe('JWT verification with a shared secret (HS256)', () => {
  const authenticator = createAuthenticator(authConfig({ jwtSecret: SECRET, jwtIssuer: 'https://id.example', jwtAudience: 'nats-mesh' }));
  const good = { iss: 'https://id.example', aud: 'nats-mesh' };

  it('accepts a valid token and reads sub and roles', async () => {
    const identity = await authenticator.authenticate(await hs256({ ...good, sub: 'alice', roles: ['admin', 'reader'] }));
    assert.deepEqual({ ...identity, roles: [...identity.roles] }, { id: 'alice', roles: ['admin', 'reader'], method: 'jwt' });
  });

  const cases: [string, () => Promise<string> | string, RegExp][] = [
    ['expired', () => hs256({ ...good, exp: now() - 3600 }), /expired/],
    ['not yet valid', () => hs256({ ...good, nbf: now() + 3600 }), /not valid yet/],
    ['wrong signature', () => hs256(good, OTHER_SECRET), /signature/],
    ['alg none', () => handmade({ alg: 'none', typ: 'JWT' }, { sub: 'admin', roles: ['admin'], exp: now() + 60, ...good }), /algorithm/],
    ['wrong issuer', () => hs256({ ...good, iss: 'https://evil.example' }), /iss/],
    ['wrong audience', () => hs256({ ...good, aud: 'someone-else' }), /aud/],
    ['malformed base64', () => 'eyJhbGciOiJIUzI1NiJ9.a.b', /malformed/],
    ['payload that is not JSON', () => handmade({ alg: 'HS256' }, 'not json {', SECRET), /malformed/],
    ['JSON array as claims', () => handmade({ alg: 'HS256' }, [1, 2, 3], SECRET), /malformed/],
    ['JSON string as claims', () => handmade({ alg: 'HS256' }, '"alice"', SECRET), /malformed/],
    ['header that is not an object', () => handmade([1] as unknown as object, { sub: 'a', exp: now() + 60 }, SECRET), /malformed/],
    ['no exp', () => handmade({ alg: 'HS256' }, { sub: 'alice', ...good }, SECRET), /exp/],
    ['no sub', () => handmade({ alg: 'HS256' }, { exp: now() + 60, ...good }, SECRET), /sub/],
    ['roles claim that is not a list of names', () => hs256({ ...good, roles: { admin: true } }), /roles claim/],
    ['64 KB token', () => hs256({ ...good, extra: { padding: 'x'.repeat(64 * 1024) } }), /over 8192 bytes/],
  ];
  for (const [name, make, message] of cases) {
    it(`refuses ${name} with UNAUTHENTICATED`, async () => {
      const err = await refusal(authenticator, await make());
      assert.equal(err.code, 'UNAUTHENTICATED');
      assert.equal(err.status, 401);
      assert.match(err.message, message);
    });
  }

  it('accepts a token a little past exp within the clock skew, and none beyond it', async () => {
    assert.equal((await authenticator.authenticate(await hs256({ ...good, exp: now() - 5 }))).id, 'alice');
    assert.equal((await refusal(authenticator, await hs256({ ...good, exp: now() - 60 }))).code, 'UNAUTHENTICATED');
  });

  it('reads roles from a configured, nested claim', async () => {
    const keycloak = createAuthenticator(authConfig({ jwtSecret: SECRET, rolesClaim: 'realm_access.roles' }));
    const identity = await keycloak.authenticate(await hs256({ roles: ['ignored'], extra: { realm_access: { roles: ['ops'] } } }));
    assert.deepEqual([...identity.roles], ['ops']);
  });
});

describe('JWT verification with a public key', () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`${alg}: accepts the key's own algorithm only`, async () => {
      const keys = await keyPair(alg);
      const authenticator = createAuthenticator(authConfig({ jwtPublicKeyFile: keys.publicKeyFile }));
      assert.equal((await authenticator.authenticate(await sign(keys.privateKey, alg, { sub: 'bob' }))).id, 'bob');
      const other = await keyPair(alg);
      assert.match((await refusal(authenticator, await sign(other.privateKey, alg))).message, /signature/);
      assert.match((await refusal(authenticator, await hs256({}))).message, /algorithm/);
    });
  }

  it('refuses HS256 signed with the RS256 public key as the HMAC secret', async () => {
    const keys = await keyPair('RS256');
    const authenticator = createAuthenticator(authConfig({ jwtPublicKeyFile: keys.publicKeyFile }));
    const forged = handmade({ alg: 'HS256', typ: 'JWT' }, { sub: 'admin', roles: ['admin'], exp: now() + 60 }, keys.publicKeyPem);
    const err = await refusal(authenticator, forged);
    assert.deepEqual([err.code, err.message], ['UNAUTHENTICATED', "the token's algorithm is not accepted"]);
  });
});

describe('JWT verification with a JWKS URL', () => {
  it('fetches keys once, keeps using the cached keys while the endpoint is down', async () => {
    const keys = await keyPair('ES256');
    const jwks = await JwksServer.start([{ key: keys.publicKey, kid: 'k1', alg: 'ES256' }]);
    const authenticator = createAuthenticator(authConfig({ jwksUrl: jwks.url, tokenCacheSize: 0 }));
    assert.equal((await authenticator.authenticate(await sign(keys.privateKey, 'ES256', { kid: 'k1', sub: 'carol' }))).id, 'carol');
    await jwks.stop();
    assert.equal((await authenticator.authenticate(await sign(keys.privateKey, 'ES256', { kid: 'k1', sub: 'dave' }))).id, 'dave');
    assert.equal(jwks.fetches, 1);
  });

  it('answers UNAVAILABLE when the endpoint is down and no keys were ever fetched', async () => {
    const keys = await keyPair('RS256');
    const jwks = await JwksServer.start([{ key: keys.publicKey, kid: 'k1', alg: 'RS256' }]);
    const url = jwks.url;
    await jwks.stop();
    const authenticator = createAuthenticator(authConfig({ jwksUrl: url }));
    const err = await refusal(authenticator, await sign(keys.privateKey, 'RS256', { kid: 'k1' }));
    assert.deepEqual([err.code, err.status], ['UNAVAILABLE', 503]);
  });
});

describe('API keys', () => {
  const file = tempFile('keys.yaml', `- id: ci\n  sha256: ${hashApiKey('ci-key-1')}\n  roles: [deployer]\n`);
  const authenticator = createAuthenticator(authConfig({ apiKeysFile: file }));

  it('finds a key by its hash, at once', async () => {
    assert.deepEqual(authenticator.peek('ci-key-1'), { id: 'ci', roles: ['deployer'], method: 'api_key' });
    assert.equal((await authenticator.authenticate('ci-key-1')).id, 'ci');
  });

  it('refuses an unknown key, and a JWT when no JWT key is configured', async () => {
    assert.equal((await refusal(authenticator, 'ci-key-2')).message, 'unknown API key');
    assert.match((await refusal(authenticator, await hs256())).message, /no JWT key/);
  });

  it('refuses a keys file holding a plain key instead of its hash, naming the file', () => {
    const bad = tempFile('keys.json', JSON.stringify([{ id: 'ci', sha256: 'ci-key-1', roles: [] }]));
    assert.throws(() => createAuthenticator(authConfig({ apiKeysFile: bad })), /keys\.json: 0\.sha256: must be the hex SHA-256/);
  });
});

describe('the verified-token cache', () => {
  it('answers a token seen before without verifying it again, and never past its exp', async () => {
    const authenticator = createAuthenticator(authConfig({ jwtSecret: SECRET, clockSkewSec: 0 }));
    const token = await hs256({ exp: now() + 2 });
    assert.equal(authenticator.peek(token), undefined);
    await authenticator.authenticate(token);
    assert.equal(authenticator.peek(token)?.id, 'alice');
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal(authenticator.peek(token), undefined);
    assert.equal((await refusal(authenticator, token)).code, 'UNAUTHENTICATED');
  });

  it('holds at most tokenCacheSize tokens', async () => {
    const authenticator = createAuthenticator(authConfig({ jwtSecret: SECRET, tokenCacheSize: 2 }));
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => hs256({ sub })));
    for (const token of tokens) await authenticator.authenticate(token);
    assert.deepEqual(
      tokens.map((t) => authenticator.peek(t)?.id),
      [undefined, 'b', 'c'],
    );
  });
});
