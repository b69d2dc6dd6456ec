// WAMP authentication and authorization against a gateway configured with a JWT secret, API keys and a policy:
// ticket CHALLENGE/AUTHENTICATE, anonymous by the policy's anonymous role, each action checked, the caller's
// identity reaching the service, and PUBLISH black/white lists by authid and authrole.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createIdentityVerifier, hashApiKey } from '../../mesh/auth/index.ts';
import { currentCall, hostService, rpc, type HostedService } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { RawClient } from './raw-client.ts';

const { HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, SUBSCRIBE, SUBSCRIBED, PUBLISH, PUBLISHED, EVENT, CALL, RESULT, ERROR, REGISTER, REGISTERED } = MessageType;

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long';
const API_KEY = 'mk_test_reader_key_0123456789';
const ROLES = { subscriber: {}, publisher: {}, caller: {}, callee: {} };

const SERVICE = uniqueName('vault');
const OPEN = uniqueName('open');

class VaultService {
  name = SERVICE;
  @rpc({ roles: ['admin'] }) async secret() {
    return `for ${currentCall()?.caller?.id}`;
  }
  @rpc async whoami() {
    const caller = currentCall()?.caller;
    return caller ? `${caller.id} ${caller.method} [${caller.roles.join(',')}]` : 'nobody';
  }
}

function token(sub: string, roles: string[], claims: Record<string, unknown> = {}, expiresIn = '10m'): Promise<string> {
  return new SignJWT({ roles, ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(SECRET));
}

/** HELLO with the given authmethods (and authid), answered by the router. */
async function hello(url: string, details: Record<string, unknown>): Promise<{ client: RawClient; answer: unknown[] }> {
  const client = await RawClient.open(url);
  client.send([HELLO, 'realm1', { roles: ROLES, ...details }]);
  return { client, answer: await client.next() };
}

/** A session signed in with a ticket; fails the test unless WELCOMEd. */
async function signIn(url: string, ticket: string): Promise<{ client: RawClient; welcome: Record<string, unknown> }> {
  const { client, answer } = await hello(url, { authmethods: ['ticket'] });
  assert.deepEqual(answer, [CHALLENGE, 'ticket', {}]);
  client.send([AUTHENTICATE, ticket, {}]);
  const welcome = await client.next();
  assert.equal(welcome[0], WELCOME, JSON.stringify(welcome));
  return { client, welcome: welcome[2] as Record<string, unknown> };
}

async function expectError(client: RawClient, message: unknown[], uri: string): Promise<void> {
  client.send(message);
  const [type, requestType, request, , error] = await client.next();
  assert.deepEqual([type, requestType, request, error], [ERROR, message[0], message[1], uri], JSON.stringify(message));
}

describe('gateway-wamp authentication and authorization', () => {
  let gateway: Awaited<ReturnType<typeof start>>;
  let nc: NatsConnection;
  let hosted: HostedService;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wamp-auth-'));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify([{ id: 'reader-key', sha256: hashApiKey(API_KEY), roles: ['reader'] }]));
    writeFileSync(
      join(dir, 'policy.yaml'),
      [
        'anonymous: guest',
        'roles:',
        '  guest:',
        `    - { uri: ${OPEN}.news, match: exact, allow: [subscribe] }`,
        `    - { uri: ${SERVICE}.whoami, allow: [call] }`,
        '  reader:',
        `    - { uri: ${OPEN}, match: prefix, allow: [subscribe, publish] }`,
        `    - { uri: ${SERVICE}.whoami, allow: [call] }`,
        `    - { uri: ${SERVICE}.secret, allow: [call] }`,
        '  sports:',
        `    - { uri: "${OPEN}.*", match: wildcard, allow: [subscribe] }`,
        '  admin:',
        `    - { uri: ${OPEN}, match: prefix, allow: [subscribe, publish, register] }`,
        `    - { uri: ${SERVICE}..., match: wildcard, allow: [call] }`,
        `    - { uri: ${SERVICE}, match: prefix, allow: [call] }`,
      ].join('\n'),
    );
    const config = testConfig({ 'auth.jwtSecret': SECRET, 'auth.apiKeysFile': join(dir, 'keys.json'), 'auth.policyFile': join(dir, 'policy.yaml') });
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(new VaultService(), { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  it('signs in with a JWT ticket: CHALLENGE, AUTHENTICATE, WELCOME with authid, authrole and authmethod', async () => {
    const { client, welcome } = await signIn(gateway.wsUrl, await token('alice', ['admin', 'reader']));
    assert.deepEqual([welcome.authid, welcome.authrole, welcome.authmethod, welcome.authprovider, welcome.authextra], ['alice', 'admin', 'ticket', 'jwt', { roles: ['admin', 'reader'] }]);
    await client.close();
  });

  it('signs in with an API key as the ticket', async () => {
    const { client, welcome } = await signIn(gateway.wsUrl, API_KEY);
    assert.deepEqual([welcome.authid, welcome.authrole, welcome.authmethod, welcome.authprovider], ['reader-key', 'reader', 'ticket', 'api_key']);
    await client.close();
  });

  it('aborts a bad ticket with wamp.error.authentication_failed', async () => {
    const expired = await token('alice', ['admin'], {}, '-1h');
    const wrongKey = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('x'.repeat(40)));
    for (const ticket of [expired, wrongKey, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', 'mk_not_a_key', '', 'x'.repeat(65_536)]) {
      const { client, answer } = await hello(gateway.wsUrl, { authmethods: ['ticket'] });
      assert.equal(answer[0], CHALLENGE);
      client.send([AUTHENTICATE, ticket, {}]);
      const [type, details, reason] = await client.next();
      assert.deepEqual([type, reason], [ABORT, 'wamp.error.authentication_failed'], ticket.slice(0, 40));
      assert.equal(typeof (details as { message: unknown }).message, 'string');
      assert.equal((await client.closed).code, 1000);
    }
  });

  it('aborts a ticket whose identity is not the authid HELLO named', async () => {
    const { client, answer } = await hello(gateway.wsUrl, { authmethods: ['ticket'], authid: 'bob' });
    assert.equal(answer[0], CHALLENGE);
    client.send([AUTHENTICATE, await token('alice', ['admin']), {}]);
    const [type, , reason] = await client.next();
    assert.deepEqual([type, reason], [ABORT, 'wamp.error.authentication_failed']);
    await client.closed;
  });

  it('welcomes anonymous as the policy anonymous role, and aborts methods it does not know with no_auth_method', async () => {
    const { client, answer } = await hello(gateway.wsUrl, {});
    assert.equal(answer[0], WELCOME);
    const details = answer[2] as Record<string, unknown>;
    assert.deepEqual([details.authid, details.authrole, details.authmethod], ['anonymous', 'guest', 'anonymous']);
    await client.close();
    const refused = await hello(gateway.wsUrl, { authmethods: ['wampcra', 'scram'] });
    assert.deepEqual([refused.answer[0], refused.answer[2]], [ABORT, 'wamp.error.no_auth_method']);
  });

  it('checks SUBSCRIBE, PUBLISH, CALL and REGISTER against the policy', async () => {
    const guest = (await hello(gateway.wsUrl, {})).client;
    guest.send([SUBSCRIBE, 1, {}, `${OPEN}.news`]);
    assert.equal((await guest.next())[0], SUBSCRIBED, 'guest: exact subscribe granted');
    await expectError(guest, [SUBSCRIBE, 2, {}, `${OPEN}.other`], 'wamp.error.not_authorized');
    await expectError(guest, [PUBLISH, 3, { acknowledge: true }, `${OPEN}.news`, []], 'wamp.error.not_authorized');
    await expectError(guest, [REGISTER, 4, {}, `${OPEN}.double`], 'wamp.error.not_authorized');
    await expectError(guest, [CALL, 5, {}, `${SERVICE}.secret`, []], 'wamp.error.not_authorized');
    guest.send([CALL, 6, {}, `${SERVICE}.whoami`, []]);
    assert.deepEqual(await guest.next(), [RESULT, 6, {}, ['anonymous anonymous [guest]'], {}]);

    const reader = (await signIn(gateway.wsUrl, API_KEY)).client;
    reader.send([SUBSCRIBE, 1, { match: 'prefix' }, OPEN]);
    assert.equal((await reader.next())[0], SUBSCRIBED, 'reader: prefix subscribe granted');
    reader.send([PUBLISH, 2, { acknowledge: true }, `${OPEN}.news`, ['from reader']]);
    assert.equal((await reader.next())[0], PUBLISHED);
    const [event, , , , args] = await guest.next();
    assert.deepEqual([event, args], [EVENT, ['from reader']], 'the guest subscribed to the exact topic gets it');
    await expectError(reader, [REGISTER, 3, {}, `${OPEN}.double`], 'wamp.error.not_authorized');
    await expectError(reader, [CALL, 4, {}, `${SERVICE}.hidden`, []], 'wamp.error.not_authorized');

    const admin = (await signIn(gateway.wsUrl, await token('alice', ['admin']))).client;
    admin.send([REGISTER, 1, {}, `${OPEN}.double`]);
    assert.equal((await admin.next())[0], REGISTERED, 'admin: register granted by prefix');
    admin.send([CALL, 2, {}, `${SERVICE}.secret`, []]);
    assert.deepEqual(await admin.next(), [RESULT, 2, {}, ['for alice'], {}], 'the service sees the verified caller');
    for (const client of [guest, reader, admin]) await client.close();
  });

  it('grants a prefix or wildcard SUBSCRIBE only when the role may read every topic it matches', async () => {
    const guest = (await hello(gateway.wsUrl, {})).client;
    // Granted the exact topic only: a prefix subscription on it would also get `<topic>.private`.
    await expectError(guest, [SUBSCRIBE, 1, { match: 'prefix' }, `${OPEN}.news`], 'wamp.error.not_authorized');
    await expectError(guest, [SUBSCRIBE, 2, { match: 'wildcard' }, `${OPEN}.`], 'wamp.error.not_authorized');
    const sports = (await signIn(gateway.wsUrl, await token('sam', ['sports']))).client;
    // Granted `<open>.*`: one component, not `<open>.sports.deep.secret`.
    await expectError(sports, [SUBSCRIBE, 1, { match: 'prefix' }, `${OPEN}.sports`], 'wamp.error.not_authorized');
    await expectError(sports, [SUBSCRIBE, 2, { match: 'prefix' }, OPEN], 'wamp.error.not_authorized');
    await expectError(sports, [SUBSCRIBE, 3, { match: 'wildcard' }, `${OPEN}..deep`], 'wamp.error.not_authorized');
    for (const [id, match, topic] of [
      [4, 'wildcard', `${OPEN}.`],
      [5, 'exact', `${OPEN}.sports`],
    ] as const) {
      sports.send([SUBSCRIBE, id, { match }, topic]);
      assert.equal((await sports.next())[0], SUBSCRIBED, `${match} ${topic}`);
    }
    // The reader's prefix grant covers a prefix subscription under it.
    const reader = (await signIn(gateway.wsUrl, API_KEY)).client;
    reader.send([SUBSCRIBE, 1, { match: 'prefix' }, `${OPEN}.news`]);
    assert.equal((await reader.next())[0], SUBSCRIBED);
    for (const client of [guest, sports, reader]) await client.close();
  });

  it('forwards the identity as Mesh-Identity: the service host enforces roles on its own', async () => {
    const reader = (await signIn(gateway.wsUrl, API_KEY)).client;
    reader.send([CALL, 1, {}, `${SERVICE}.whoami`, []]);
    assert.deepEqual(await reader.next(), [RESULT, 1, {}, ['reader-key api_key [reader]'], {}]);
    // The policy lets readers call secret; the service still wants admin.
    await expectError(reader, [CALL, 2, {}, `${SERVICE}.secret`, []], 'mesh.error.permission_denied');
    await reader.close();
  });

  it('delivers a PUBLISH with eligible_authid, exclude_authid, eligible_authrole and exclude_authrole to the right sessions', async () => {
    const alice = (await signIn(gateway.wsUrl, await token('alice', ['admin']))).client;
    const bob = (await signIn(gateway.wsUrl, await token('bob', ['reader']))).client;
    for (const client of [alice, bob]) {
      client.send([SUBSCRIBE, 1, {}, `${OPEN}.board`]);
      assert.equal((await client.next())[0], SUBSCRIBED);
    }
    const cases: Array<[Record<string, unknown>, boolean, boolean]> = [
      [{ eligible_authid: ['alice'] }, true, false],
      [{ exclude_authid: ['alice'] }, false, true],
      [{ eligible_authrole: ['reader'] }, false, true],
      [{ exclude_authrole: ['reader'] }, true, false],
      [{ eligible_authid: [] }, false, false],
    ];
    const publisher = (await signIn(gateway.wsUrl, API_KEY)).client;
    for (const [index, [options]] of cases.entries()) {
      publisher.send([PUBLISH, 10 + index, { acknowledge: true, ...options }, `${OPEN}.board`, [index]]);
      assert.equal((await publisher.next())[0], PUBLISHED);
    }
    publisher.send([PUBLISH, 99, { acknowledge: true }, `${OPEN}.board`, ['end']]);
    assert.equal((await publisher.next())[0], PUBLISHED);
    for (const [client, column] of [
      [alice, 1],
      [bob, 2],
    ] as const) {
      const received: unknown[] = [];
      for (;;) {
        const [type, , , , args] = await client.next();
        assert.equal(type, EVENT);
        if ((args as unknown[])[0] === 'end') break;
        received.push((args as unknown[])[0]);
      }
      const expected = cases.flatMap((c, index) => (c[column] ? [index] : []));
      assert.deepEqual(received, expected, column === 1 ? 'alice' : 'bob');
    }
    for (const client of [alice, bob, publisher]) await client.close();
  });
});
