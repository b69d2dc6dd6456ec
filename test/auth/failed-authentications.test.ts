// An attacker guessing credentials from one address, at both gateways: after auth.failuresPerAddress failures the
// next credentials are 429 with Retry-After (WAMP: ABORT mesh.error.resource_exhausted), unchecked; a known one still passes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createIdentityVerifier, hashApiKey } from '../../mesh/auth/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import { ERROR_ID, silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { hs256, MESH_SECRET, SECRET, tempFile } from '../mesh/auth/tokens.ts';
import { Vault } from '../mesh/auth/vault.ts';
import { RawClient } from '../gateway-wamp/raw-client.ts';

const { HELLO, CHALLENGE, AUTHENTICATE, WELCOME, ABORT } = MessageType;
const FAILURES = 5;
const GUESSES = 30;

describe('failed authentications from one address', () => {
  const vault = uniqueName('vault');
  const config = testConfig({
    'auth.jwtSecret': SECRET,
    'auth.meshSecret': MESH_SECRET,
    'auth.apiKeysFile': tempFile('keys.json', JSON.stringify([{ id: 'ci', sha256: hashApiKey('the-right-key'), roles: ['reader'] }])),
    'auth.failuresPerAddress': FAILURES,
  });
  let nc: NatsConnection;
  let hosted: HostedService;

  before(async () => {
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(new Vault(vault), { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
  });

  after(async () => {
    await hosted.stop();
    await nc.drain();
  });

  it(`over HTTP: ${FAILURES} wrong API keys are 401, the rest 429 with Retry-After; a known key still passes, an unseen JWT does not`, async (t) => {
    const gateway = await startHttp({ config, logger: silentLogger });
    t.after(() => gateway.stop());
    const call = (headers: Record<string, string>) => fetch(`${gateway.url}/${vault}.whoami`, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json', ...headers } });
    const statuses = [];
    let limited: Response | undefined;
    for (let i = 0; i < GUESSES; i++) {
      const res = await call({ 'x-api-token': `guess-${i}` });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [...Array(FAILURES).fill(401), ...Array(GUESSES - FAILURES).fill(429)]);
    assert.match(limited!.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const body = (await limited!.json()) as { error: { code: string; id: string; message: string } };
    assert.equal(body.error.code, 'RESOURCE_EXHAUSTED');
    assert.match(body.error.id, ERROR_ID);
    assert.match(body.error.message, /too many failed authentications/);
    assert.equal((await call({ 'x-api-token': 'the-right-key' })).status, 200, 'a known key is no guess');
    assert.equal((await call({ authorization: `Bearer ${await hs256({ sub: 'alice' })}` })).status, 429, 'a JWT never verified must wait');
  });

  it(`over WAMP: ${FAILURES} bad tickets ABORT authentication_failed, the next ABORTs mesh.error.resource_exhausted with retry_after`, async (t) => {
    const gateway = await startWamp({ config, logger: silentLogger });
    t.after(() => gateway.stop());
    const tryTicket = async (ticket: string) => {
      const client = await RawClient.open(gateway.wsUrl);
      client.send([HELLO, 'realm1', { roles: { caller: {} }, authmethods: ['ticket'] }]);
      assert.equal((await client.next())[0], CHALLENGE);
      client.send([AUTHENTICATE, ticket, {}]);
      const answer = await client.next();
      await client.close();
      return answer;
    };
    const uris = [];
    let last: unknown[] = [];
    for (let i = 0; i <= FAILURES; i++) {
      last = await tryTicket(`guess-${i}`);
      uris.push(last[0] === ABORT ? last[2] : last[0]);
    }
    assert.deepEqual(uris, [...Array(FAILURES).fill('wamp.error.authentication_failed'), 'mesh.error.resource_exhausted']);
    const details = last[1] as { code: string; id: string; retry_after: number };
    assert.equal(details.code, 'RESOURCE_EXHAUSTED');
    assert.match(details.id, ERROR_ID);
    assert.ok(Number.isInteger(details.retry_after) && details.retry_after > 0);
    assert.equal((await tryTicket('the-right-key'))[0], WELCOME, 'a known key is no guess');
  });
});
