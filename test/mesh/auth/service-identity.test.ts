// The service host enforces what a procedure declares whatever path the call came by: here a raw NATS client,
// forging identities, presenting its own JWT, or none. Handlers read the verified caller with currentCall().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../../../mesh/wire/micro.ts';
import { createIdentityVerifier, mintIdentityToken, meshKeyOf, IDENTITY_HEADER } from '../../../mesh/auth/index.ts';
import { decodeReply, hostService, jsonCodec, MeshError, type HostedService } from '../../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../../helpers.ts';
import { handmade, hs256, MESH_SECRET, now, OTHER_SECRET, SECRET } from './tokens.ts';
import { Vault } from './vault.ts';

const config = testConfig({ 'auth.jwtSecret': SECRET, 'auth.meshSecret': MESH_SECRET });
const meshKey = meshKeyOf(config.auth)!;
/** A grant for one subject, a minute long unless told. */
const grant = (subject: string, ms = 60_000) => ({ subject, expiresAt: Date.now() + ms });

async function rawCall(nc: NatsConnection, subject: string, token?: string): Promise<unknown> {
  const headers = natsHeaders();
  if (token !== undefined) headers.set(IDENTITY_HEADER, token);
  const msg = await nc.request(subject, jsonCodec.encode([[], {}]), { timeout: 5000, headers });
  return decodeReply(msg)[0][0];
}

async function rawRefusal(nc: NatsConnection, subject: string, token?: string): Promise<string> {
  const err = await rawCall(nc, subject, token).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof MeshError, `expected an error reply, got ${String(err)}`);
  return err.code;
}

describe('the service host verifies Mesh-Identity and enforces @rpc access', () => {
  const vault = uniqueName('vault');
  let nc: NatsConnection;
  let hosted: HostedService;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(new Vault(vault), { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
  });

  after(async () => {
    await hosted.stop();
    await nc.drain();
  });

  it('lets anyone call a public procedure, and the handler sees no caller', async () => {
    assert.equal(await rawCall(nc, `${vault}.peek`), 'a peek');
    assert.equal(await rawCall(nc, `${vault}.whoami`), null);
  });

  it('refuses a role-guarded procedure without identity (UNAUTHENTICATED) and with the wrong role (PERMISSION_DENIED)', async () => {
    assert.equal(await rawRefusal(nc, `${vault}.open`), 'UNAUTHENTICATED');
    const reader = mintIdentityToken({ id: 'bob', roles: ['reader'], method: 'jwt' }, meshKey, grant(`${vault}.open`));
    assert.equal(await rawRefusal(nc, `${vault}.open`, reader), 'PERMISSION_DENIED');
  });

  it('admits an identity token the mesh minted, and currentCall() gives the handler its caller', async () => {
    const root = { id: 'root', roles: ['admin'], method: 'api_key' } as const;
    assert.equal(await rawCall(nc, `${vault}.open`, mintIdentityToken(root, meshKey, grant(`${vault}.open`))), 'opened');
    const whoami = mintIdentityToken(root, meshKey, grant(`${vault}.whoami`));
    assert.deepEqual(await rawCall(nc, `${vault}.whoami`, whoami), { id: 'root', roles: ['admin'], method: 'api_key', procedure: `${vault}.whoami` });
  });

  it('refuses an identity token on any subject but the one it was minted for, even after admitting it there', async () => {
    const admin = mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, meshKey, grant(`${vault}.peek`));
    assert.equal(await rawCall(nc, `${vault}.peek`, admin), 'a peek');
    assert.equal(await rawRefusal(nc, `${vault}.open`, admin), 'UNAUTHENTICATED');
    assert.equal(await rawRefusal(nc, `${vault}.whoami`, admin), 'UNAUTHENTICATED');
  });

  it('refuses an identity token once its expiry has passed, though it was admitted and cached before', async () => {
    const grant = { subject: `${vault}.open`, expiresAt: Date.now() + 500 };
    const admin = mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, meshKey, grant);
    assert.equal(await rawCall(nc, `${vault}.open`, admin), 'opened');
    await new Promise((resolve) => setTimeout(resolve, grant.expiresAt - Date.now() + 10));
    assert.equal(await rawRefusal(nc, `${vault}.open`, admin), 'UNAUTHENTICATED');
  });

  it('admits a raw NATS caller presenting its own user JWT', async () => {
    assert.equal(await rawCall(nc, `${vault}.open`, await hs256({ sub: 'alice', roles: ['admin'] })), 'opened');
  });

  const forgeries: [string, (subject: string) => Promise<string> | string][] = [
    ['an identity token signed with another key', (subject) => mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, new TextEncoder().encode(OTHER_SECRET), grant(subject))],
    ['an unsigned identity claim (alg none)', (subj) => handmade({ alg: 'none' }, { iss: 'nats-mesh', aud: 'nats-mesh-service', sub: 'root', roles: ['admin'], amr: 'jwt', subj, exp: now() + 60 })],
    [
      'an identity claim signed with alg none but the right MAC',
      (subj) => handmade({ alg: 'none' }, { iss: 'nats-mesh', aud: 'nats-mesh-service', sub: 'root', roles: ['admin'], amr: 'jwt', subj, exp: now() + 60 }, Buffer.from(meshKey)),
    ],
    [
      'an identity token without a subject (the unbound form)',
      () => handmade({ alg: 'HS256' }, { iss: 'nats-mesh', aud: 'nats-mesh-service', sub: 'root', roles: ['admin'], amr: 'jwt', exp: now() + 60 }, Buffer.from(meshKey)),
    ],
    ['a user JWT signed with another secret', () => hs256({ sub: 'root', roles: ['admin'] }, OTHER_SECRET)],
    ['an expired identity token', (subject) => mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, meshKey, grant(subject, -1))],
    ['plain JSON', () => JSON.stringify({ id: 'root', roles: ['admin'] })],
  ];
  for (const [name, forge] of forgeries) {
    it(`refuses ${name}, on a guarded and on a public procedure`, async () => {
      assert.equal(await rawRefusal(nc, `${vault}.open`, await forge(`${vault}.open`)), 'UNAUTHENTICATED');
      assert.equal(await rawRefusal(nc, `${vault}.peek`, await forge(`${vault}.peek`)), 'UNAUTHENTICATED');
    });
  }

  it('publishes each procedure access in the endpoint metadata', async () => {
    const infos = await askServices(nc, 'INFO', vault, { maxWaitMs: 2000, silenceMs: 300 });
    const access = Object.fromEntries(infos[0]!.endpoints.map((e) => [e.name, e.metadata?.access]));
    assert.deepEqual(access, { whoami: 'public', peek: 'public', open: 'roles:admin' });
  });
});

describe('a service host with no auth settings', () => {
  it('cannot be told who calls: any identity is refused, no identity on a guarded procedure too', async (t) => {
    const nc = await connect({ servers: NATS_URL });
    const vault = uniqueName('vault');
    const hosted = await hostService(new Vault(vault), { nc, logger: silentLogger });
    t.after(async () => {
      await hosted.stop();
      await nc.drain();
    });
    const admin = mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, meshKey, grant(`${vault}.open`));
    assert.equal(await rawRefusal(nc, `${vault}.open`, admin), 'UNAUTHENTICATED');
    assert.equal(await rawRefusal(nc, `${vault}.open`), 'UNAUTHENTICATED');
    assert.equal(await rawCall(nc, `${vault}.peek`), 'a peek');
  });
});
