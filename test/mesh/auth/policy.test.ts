// The policy as the gateways ask it: deny by default once configured, exact/prefix/wildcard patterns per action,
// the anonymous role, and a wrong file refused at start with its name and the wrong key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anonymousIdentity, loadPolicy, type Identity } from '../../../mesh/auth/index.ts';
import { loadConfig } from '../../../mesh/process/config.ts';
import { tempFile } from './tokens.ts';

const user = (...roles: string[]): Identity => ({ id: 'u', roles, method: 'jwt' });

describe('policy', () => {
  const policy = loadPolicy(
    tempFile(
      'policy.yaml',
      [
        'anonymous: guest',
        'roles:',
        '  guest: [{ uri: greeting_service.hello, allow: [call] }]',
        '  app:',
        '    - { uri: thing_service., match: prefix, allow: [call] }',
        '    - { uri: "websocket_test..", match: wildcard, allow: [subscribe] }',
        '    - { uri: "*.created", match: wildcard, allow: [publish] }',
        '    - { uri: my_tab.double, match: exact, allow: [register] }',
      ].join('\n'),
    ),
  );

  it('allows what a role grants, per action, and denies everything else', () => {
    const cases: [Identity, Parameters<typeof policy.allows>[1], string, boolean][] = [
      [anonymousIdentity('guest'), 'call', 'greeting_service.hello', true],
      [anonymousIdentity('guest'), 'call', 'greeting_service.hello_sleep', false],
      [anonymousIdentity(undefined), 'call', 'greeting_service.hello', false],
      [user('app'), 'call', 'thing_service.get_things', true],
      [user('app'), 'publish', 'thing_service.get_things', false],
      [user('app'), 'subscribe', 'websocket_test.a.b', true],
      [user('app'), 'subscribe', 'websocket_test.a', false],
      [user('app'), 'publish', 'orders.created', true],
      [user('app'), 'publish', 'orders.eu.created', false],
      [user('app'), 'register', 'my_tab.double', true],
      [user('app'), 'register', 'my_tab.double2', false],
      [user('nobody'), 'call', 'thing_service.get_things', false],
      [user('nobody', 'app'), 'call', 'thing_service.get_things', true],
    ];
    for (const [identity, action, uri, expected] of cases) {
      assert.equal(policy.allows(identity, action, uri), expected, `${identity.roles.join('+')} ${action} ${uri}`);
    }
  });

  it('allows a prefix or wildcard pattern only when one grant covers every URI it matches', () => {
    const cases: [string, 'prefix' | 'wildcard', boolean][] = [
      // WAMP's prefix matches by string: `thing_service` matches `thing_service_v2.x`, which `thing_service.` does not grant.
      ['thing_service', 'prefix', false],
      ['thing_service.get', 'prefix', true],
      ['thing_service.g', 'prefix', true],
      ['thing', 'prefix', false],
      ['thing_service.', 'wildcard', true],
      ['websocket_test..', 'wildcard', true],
      ['websocket_test.a.', 'wildcard', true],
      ['websocket_test.', 'wildcard', false],
      ['websocket_test...', 'wildcard', false],
      ['websocket_test.a', 'prefix', false],
      ['websocket_test', 'prefix', false],
    ];
    for (const [pattern, match, expected] of cases) {
      const action = pattern.startsWith('thing') ? 'call' : 'subscribe';
      assert.equal(policy.allowsEvery(user('app'), action, pattern, match), expected, `${match} ${pattern}`);
    }
    assert.equal(policy.allowsEvery(user('app'), 'subscribe', 'websocket_test.a.b', 'exact'), true);
  });

  it('with no file allows everything to everyone', () => {
    const open = loadPolicy(null);
    assert.equal(open.configured, false);
    assert.equal(open.allows(anonymousIdentity(undefined), 'register', 'greeting_service.hello'), true);
  });

  it('refuses a file with an unknown action or an undefined anonymous role, naming file and key', () => {
    assert.throws(() => loadPolicy(tempFile('p.json', '{"roles": {"a": [{"uri": "x", "allow": ["delete"]}]}}')), /p\.json: roles\.a\.0\.allow\.0:/);
    assert.throws(() => loadPolicy(tempFile('p.yaml', 'anonymous: guest\nroles: {}\n')), /p\.yaml: anonymous: must name a role the policy defines/);
  });
});

describe('auth settings', () => {
  it('need a mesh secret with a public key or API keys, and refuse a short secret', () => {
    const load = (env: Record<string, string>) => loadConfig({ env, file: undefined });
    assert.throws(() => load({ AUTH_API_KEYS_FILE: 'keys.json' }), /auth\.meshSecret: is needed \(AUTH_MESH_SECRET\)/);
    assert.throws(() => load({ AUTH_JWT_SECRET: 'short' }), /auth\.jwtSecret \(environment AUTH_JWT_SECRET\): must be at least 32 characters/);
    assert.throws(() => load({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://id.example/jwks' }), /set one of auth\.jwtSecret/);
    assert.equal(load({ AUTH_JWT_SECRET: 'x'.repeat(32) }).auth.rolesClaim, 'roles');
  });
});
