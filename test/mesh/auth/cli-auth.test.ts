// `mesh token`, `mesh call --token` and `mesh config` as a user runs them: the printed token verifies, the
// service sees its subject, and the printed configuration shows the policy but never a secret.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { createAuthenticator, createIdentityVerifier } from '../../../mesh/auth/index.ts';
import { hostService } from '../../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../../helpers.ts';
import { MESH_SECRET, SECRET, tempFile } from './tokens.ts';
import { Vault } from './vault.ts';

const MESH = fileURLToPath(new URL('../../../bin/mesh.js', import.meta.url));
const run = promisify(execFile);
const env = { ...process.env, LOG_LEVEL: 'warn', AUTH_JWT_SECRET: SECRET, AUTH_MESH_SECRET: MESH_SECRET, NATS_URL };

describe('mesh token', () => {
  it('prints a token the authenticator verifies, with the subject and roles asked for', async () => {
    const { stdout } = await run(process.execPath, [MESH, 'token', '--sub', 'alice', '--roles', 'admin,reader', '--ttl', '10m'], { env });
    const identity = await createAuthenticator(testConfig({ 'auth.jwtSecret': SECRET }).auth).authenticate(stdout.trim());
    assert.deepEqual({ ...identity, roles: [...identity.roles] }, { id: 'alice', roles: ['admin', 'reader'], method: 'jwt' });
  });

  it('fails with a clear message when no secret is configured, and on a wrong --ttl', async () => {
    const noSecret = await run(process.execPath, [MESH, 'token', '--sub', 'alice'], { env: { ...env, AUTH_JWT_SECRET: '', AUTH_MESH_SECRET: '' } }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(noSecret?.code, 1);
    assert.match(noSecret!.stderr, /no JWT secret is configured: set AUTH_JWT_SECRET/);
    const badTtl = await run(process.execPath, [MESH, 'token', '--sub', 'alice', '--ttl', 'soon'], { env }).then(
      () => undefined,
      (err: { stderr: string }) => err,
    );
    assert.match(badTtl!.stderr, /--ttl must be a lifetime such as 90s, 30m, 1h or 7d/);
  });
});

describe('mesh call --token', () => {
  it('calls a role-guarded procedure as the token subject, and is refused without it', async (t) => {
    const nc = await connect({ servers: NATS_URL });
    const vault = uniqueName('vault');
    const identity = createIdentityVerifier(testConfig({ 'auth.jwtSecret': SECRET }).auth);
    const hosted = await hostService(new Vault(vault), { nc, logger: silentLogger, identity });
    t.after(async () => {
      await hosted.stop();
      await nc.drain();
    });
    const token = (await run(process.execPath, [MESH, 'token', '--sub', 'root', '--roles', 'admin'], { env })).stdout.trim();
    assert.equal((await run(process.execPath, [MESH, 'call', `${vault}.open`, '--token', token], { env })).stdout, '[["opened"],{}]\n');
    const refused = await run(process.execPath, [MESH, 'call', `${vault}.open`], { env }).then(
      () => undefined,
      (err: { stderr: string }) => err,
    );
    assert.match(refused!.stderr, /"code":"UNAUTHENTICATED"/);
  });
});

describe('mesh config', () => {
  it('prints the effective policy and masks every secret', async () => {
    const policy = tempFile('policy.json', JSON.stringify({ roles: { reader: [{ uri: 'greeting_service.', match: 'prefix', allow: ['call'] }] } }));
    const databaseUrl = 'postgres://app:db-pass@db.internal:5432/things';
    const { stdout } = await run(process.execPath, [MESH, 'config'], { env: { ...env, AUTH_POLICY: policy, NATS_PASSWORD: 'nats-pass', DATABASE_URL: databaseUrl } });
    assert.ok(!stdout.includes(SECRET) && !stdout.includes(MESH_SECRET) && !stdout.includes('nats-pass') && !stdout.includes('db-pass'));
    const printed = JSON.parse(stdout) as { auth: Record<string, unknown>; nats: Record<string, unknown>; database: Record<string, unknown>; effectivePolicy: unknown };
    assert.deepEqual([printed.auth.jwtSecret, printed.auth.meshSecret, printed.nats.password], ['********', '********', '********']);
    assert.equal(printed.database.url, 'postgres://app:********@db.internal:5432/things');
    assert.deepEqual(printed.effectivePolicy, { roles: { reader: [{ uri: 'greeting_service.', match: 'prefix', allow: ['call'] }] } });
  });
});
