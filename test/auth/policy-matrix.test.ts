// The policy over both gateways, action by match policy: for each of call, publish, subscribe and register, with
// an exact, a prefix and a wildcard grant, one URI the role may use and one it may not. HTTP has only `call`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createIdentityVerifier, hostService, rpc, type HostedService } from '../../mesh/gateway.ts';
import { RawClient } from '../gateway-wamp/raw-client.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { tempFile } from '../mesh/auth/tokens.ts';

const { HELLO, WELCOME, CHALLENGE, AUTHENTICATE, SUBSCRIBE, SUBSCRIBED, PUBLISH, PUBLISHED, CALL, RESULT, REGISTER, REGISTERED, ERROR } = MessageType;
const SECRET = 'policy-matrix-secret-that-is-long-enough';
const ROOT = uniqueName('matrix');
const MATCHES = ['exact', 'prefix', 'wildcard'] as const;
const ACTIONS = ['call', 'publish', 'subscribe', 'register'] as const;
type Match = (typeof MATCHES)[number];
type Action = (typeof ACTIONS)[number];

/** Per action and match: the grant written in the policy, a URI it covers and one it does not. */
function cell(action: Action, match: Match): { grant: string; allowed: string; denied: string } {
  const base = `${ROOT}_${action}_${match}`;
  if (action === 'call') {
    // Calls name procedures (`<service>.<method>`) of the services hosted below.
    if (match === 'exact') return { grant: `${base}.end`, allowed: `${base}.end`, denied: `${base}.other` };
    if (match === 'prefix') return { grant: base, allowed: `${base}.end`, denied: `${ROOT}_call_elsewhere.other` };
    return { grant: '*.end', allowed: `${base}.end`, denied: `${base}.other` };
  }
  if (match === 'exact') return { grant: `${base}.one`, allowed: `${base}.one`, denied: `${base}.two` };
  if (match === 'prefix') return { grant: `${base}.ok`, allowed: `${base}.ok.deep`, denied: `${base}.no.deep` };
  return { grant: `${base}..end`, allowed: `${base}.any.end`, denied: `${base}.any.other` };
}

/** The services behind the call cells: each answers `end` and `other`. */
const CALLED_SERVICES = [...MATCHES.map((match) => `${ROOT}_call_${match}`), `${ROOT}_call_elsewhere`];

class MatrixService {
  constructor(readonly name: string) {}
  @rpc async end() {
    return 'end';
  }
  @rpc async other() {
    return 'other';
  }
}

describe('one policy, enforced the same on both gateways', () => {
  let nc: NatsConnection;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let wamp: Awaited<ReturnType<typeof startWamp>>;
  let token: string;
  const hosted: HostedService[] = [];

  before(async () => {
    const lines = ['roles:', '  tester:'];
    for (const action of ACTIONS) for (const match of MATCHES) lines.push(`    - { uri: "${cell(action, match).grant}", match: ${match}, allow: [${action}] }`);
    const config = testConfig({ 'auth.jwtSecret': SECRET, 'auth.policyFile': tempFile('policy.yaml', lines.join('\n')) });
    nc = await connect({ servers: config.nats.url });
    const identity = createIdentityVerifier(config.auth);
    for (const name of CALLED_SERVICES) hosted.push(await hostService(new MatrixService(name), { nc, logger: silentLogger, identity }));
    http = await startHttp({ config, logger: silentLogger });
    wamp = await startWamp({ config, logger: silentLogger });
    token = await new SignJWT({ roles: ['tester'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('tess').setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
  });

  after(async () => {
    await Promise.all([http?.stop(), wamp?.stop()]);
    await Promise.all(hosted.map((h) => h.stop()));
    await nc?.drain();
  });

  for (const match of MATCHES) {
    it(`HTTP call, ${match} grant: allowed 200, denied 403`, async () => {
      const { allowed, denied } = cell('call', match);
      const post = (uri: string) => fetch(`${http.url}/${uri}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '[]' });
      assert.equal((await post(allowed)).status, 200);
      const refused = await post(denied);
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'PERMISSION_DENIED');
    });
  }

  it('WAMP: every action under every match policy, one allowed and one denied URI', async () => {
    const client = await RawClient.open(wamp.wsUrl);
    client.send([HELLO, 'realm1', { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} }, authmethods: ['ticket'] }]);
    assert.deepEqual(await client.next(), [CHALLENGE, 'ticket', {}]);
    client.send([AUTHENTICATE, token, {}]);
    assert.equal((await client.next())[0], WELCOME);
    let id = 0;
    const ask = async (action: Action, uri: string): Promise<unknown[]> => {
      id++;
      if (action === 'call') client.send([CALL, id, {}, uri, []]);
      else if (action === 'publish') client.send([PUBLISH, id, { acknowledge: true }, uri, []]);
      else if (action === 'subscribe') client.send([SUBSCRIBE, id, {}, uri]);
      else client.send([REGISTER, id, {}, uri]);
      return client.next();
    };
    const granted = { call: RESULT, publish: PUBLISHED, subscribe: SUBSCRIBED, register: REGISTERED };
    for (const action of ACTIONS) {
      for (const match of MATCHES) {
        const { allowed, denied } = cell(action, match);
        assert.equal((await ask(action, allowed))[0], granted[action], `${action} ${match} ${allowed} allowed`);
        const refusal = await ask(action, denied);
        assert.deepEqual([refusal[0], refusal[4]], [ERROR, 'wamp.error.not_authorized'], `${action} ${match} ${denied} denied`);
      }
    }
    await client.close();
  });

  it('WAMP: a prefix or wildcard REGISTER only when one grant covers every procedure the pattern matches', async () => {
    const client = await RawClient.open(wamp.wsUrl);
    client.send([HELLO, 'realm1', { roles: { callee: {} }, authmethods: ['ticket'] }]);
    assert.deepEqual(await client.next(), [CHALLENGE, 'ticket', {}]);
    client.send([AUTHENTICATE, token, {}]);
    assert.equal((await client.next())[0], WELCOME);
    const exact = cell('register', 'exact').grant;
    const prefix = cell('register', 'prefix').grant;
    const wildcard = cell('register', 'wildcard').grant;
    const base = wildcard.slice(0, wildcard.indexOf('..'));
    const cases: Array<[string, 'prefix' | 'wildcard', boolean]> = [
      [exact, 'prefix', false], // the exact grant is not one of what the prefix matches (`.one.x`, `.one-x`)
      [prefix, 'prefix', true],
      [`${prefix}.deep`, 'prefix', true],
      [prefix.slice(0, -1), 'prefix', false], // `.o` matches `.other` too, which the grant does not
      [`${prefix}..end`, 'wildcard', true],
      [`${exact.slice(0, exact.lastIndexOf('.'))}.`, 'wildcard', false],
      [wildcard, 'wildcard', true],
      [`${base}.x.`, 'wildcard', false],
      [`${base}.any.end`, 'wildcard', true], // no free part: it matches the one URI, which the grant covers
      [`${base}.any`, 'prefix', false],
    ];
    let id = 100;
    for (const [uri, match, allowed] of cases) {
      client.send([REGISTER, ++id, { match }, uri]);
      const answer = await client.next();
      if (allowed) assert.deepEqual(answer.slice(0, 2), [REGISTERED, id], `${match} ${uri}: ${JSON.stringify(answer)}`);
      else assert.deepEqual([answer[0], answer[4]], [ERROR, 'wamp.error.not_authorized'], `${match} ${uri}: ${JSON.stringify(answer)}`);
    }
    await client.close();
  });
});
