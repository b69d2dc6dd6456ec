// An attacker on NATS captures the Mesh-Identity token of an admin's call through the HTTP gateway and replays it
// from a raw NATS connection: on another procedure, and on the same one after the call's deadline. Both are 401.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { createIdentityVerifier, IDENTITY_HEADER } from '../../mesh/auth/index.ts';
import { DEADLINE_HEADER } from '../../mesh/wire/propagation.ts';
import { hostService, jsonCodec, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { hs256, MESH_SECRET, SECRET } from '../mesh/auth/tokens.ts';
import { Vault } from '../mesh/auth/vault.ts';

const REPLAYS = 20;

describe('a captured Mesh-Identity token', () => {
  const vault = uniqueName('vault');
  // A short deadline, so the test can wait it out.
  const config = testConfig({ 'auth.jwtSecret': SECRET, 'auth.meshSecret': MESH_SECRET, 'rpc.timeoutMs': 1500 });
  let nc: NatsConnection;
  let attacker: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  let captured: MsgHdrs;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    attacker = await connect({ servers: NATS_URL });
    hosted = await hostService(new Vault(vault), { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
    gateway = await start({ config, logger: silentLogger });
    const sniffer = attacker.subscribe(`${vault}.whoami`, { max: 1 });
    await attacker.flush();
    const res = await fetch(`${gateway.url}/${vault}.whoami`, {
      method: 'POST',
      body: '[]',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await hs256({ sub: 'root', roles: ['admin'] })}` },
    });
    assert.equal(res.status, 200, 'the admin call itself succeeds');
    for await (const msg of sniffer) captured = msg.headers!;
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await attacker.drain();
    await nc.drain();
  });

  /** The codes of REPLAYS raw NATS requests on the subject with the captured identity: 'ok' for a success. */
  async function replay(subject: string): Promise<string[]> {
    const codes = [];
    for (let i = 0; i < REPLAYS; i++) {
      const headers = natsHeaders();
      headers.set(IDENTITY_HEADER, captured.get(IDENTITY_HEADER));
      const reply = await attacker.request(subject, jsonCodec.encode([[], {}]), { timeout: 5000, headers });
      codes.push(reply.headers?.get('Nats-Service-Error-Code') || 'ok');
    }
    return codes;
  }

  it(`opens no other procedure: 0 of ${REPLAYS} replays on an admin-only one succeed, each is 401`, async () => {
    assert.ok(captured.get(IDENTITY_HEADER), 'the call carried an identity');
    assert.deepEqual(await replay(`${vault}.open`), Array(REPLAYS).fill('401'));
  });

  it(`opens nothing after the call's deadline: 0 of ${REPLAYS} replays on its own procedure succeed, each is 401`, async () => {
    const deadline = Number(captured.get(DEADLINE_HEADER));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now() + 10)));
    assert.deepEqual(await replay(`${vault}.whoami`), Array(REPLAYS).fill('401'));
  });
});
