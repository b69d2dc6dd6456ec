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

async function rawCall(nc: NatsConnection, subject: string, token?: string): Promise<unknown> {
  const headers = natsHeaders();
  if (token !== undefined) headers.set(IDENTITY_HEADER, token);
  const msg = await nc.request(subject, jsonCodec.encode([[], {}]), { timeout: 5000, headers });
  return decodeReply(msg)[0][0];
}

async function rawRefusal(nc: NatsConnection, subject: string, token?: string): Promise<string> {
  const err = await rawCall(nc, subject, token).then(() => undefined, (e: unknown) => e);
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
    const reader = await mintIdentityToken({ id: 'bob', roles: ['reader'], method: 'jwt' }, meshKey, 60);
    assert.equal(await rawRefusal(nc, `${vault}.open`, reader), 'PERMISSION_DENIED');
  });

  it('admits an identity token the mesh minted, and currentCall() gives the handler its caller', async () => {
    const admin = await mintIdentityToken({ id: 'root', roles: ['admin'], method: 'api_key' }, meshKey, 60);
    assert.equal(await rawCall(nc, `${vault}.open`, admin), 'opened');
    assert.deepEqual(await rawCall(nc, `${vault}.whoami`, admin), { id: 'root', roles: ['admin'], method: 'api_key', procedure: `${vault}.whoami` });
  });

  it('admits a raw NATS caller presenting its own user JWT', async () => {
    assert.equal(await rawCall(nc, `${vault}.open`, await hs256({ sub: 'alice', roles: ['admin'] })), 'opened');
  });

  const forgeries: [string, () => Promise<string> | string][] = [
    ['an identity token signed with another key', () => mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, new TextEncoder().encode(OTHER_SECRET), 60)],
    ['an unsigned identity claim (alg none)', () => handmade({ alg: 'none' }, { iss: 'nats-mesh', aud: 'nats-mesh-service', sub: 'root', roles: ['admin'], amr: 'jwt', exp: now() + 60 })],
    ['a user JWT signed with another secret', () => hs256({ sub: 'root', roles: ['admin'] }, OTHER_SECRET)],
    ['an expired identity token', () => mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, meshKey, -60)],
    ['plain JSON', () => JSON.stringify({ id: 'root', roles: ['admin'] })],
  ];
  for (const [name, forge] of forgeries) {
    it(`refuses ${name}, on a guarded and on a public procedure`, async () => {
      const token = await forge();
      assert.equal(await rawRefusal(nc, `${vault}.open`, token), 'UNAUTHENTICATED');
      assert.equal(await rawRefusal(nc, `${vault}.peek`, token), 'UNAUTHENTICATED');
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
    const admin = await mintIdentityToken({ id: 'root', roles: ['admin'], method: 'jwt' }, meshKey, 60);
    assert.equal(await rawRefusal(nc, `${vault}.open`, admin), 'UNAUTHENTICATED');
    assert.equal(await rawRefusal(nc, `${vault}.open`), 'UNAUTHENTICATED');
    assert.equal(await rawCall(nc, `${vault}.peek`), 'a peek');
  });
});
