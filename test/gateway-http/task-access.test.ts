// Who may read a task's status over HTTP: GET /tasks/<id> goes through the policy as a call of the task's procedure
// would, so an id (a stream sequence, easy to guess) shows nothing to a caller who could not have enqueued it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { createIdentityVerifier, hostService, type HostedService } from '../../mesh/gateway.ts';
import Mailer from '../../services/mailer/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { hs256, MESH_SECRET, SECRET, tempFile } from '../mesh/auth/tokens.ts';

describe('GET /tasks/<id> under a policy', () => {
  const issuer = { iss: 'https://id.example', aud: 'nats-mesh' };
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let mailer: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  const as = async (roles: string[]) => ({ authorization: `Bearer ${await hs256({ ...issuer, sub: 'alice', roles })}` });

  before(async () => {
    server = await OwnNatsServer.start();
    const config = testConfig({
      'nats.url': server.url,
      'mailer.dataDir': mkdtempSync(join(tmpdir(), 'task-access-')),
      'auth.jwtSecret': SECRET,
      'auth.jwtIssuer': issuer.iss,
      'auth.jwtAudience': issuer.aud,
      'auth.meshSecret': MESH_SECRET,
      'auth.policyFile': tempFile(
        'policy.yaml',
        ['anonymous: guest', 'roles:', '  guest:', '    - { uri: mailer.outbox, match: exact, allow: [call] }', '  sender:', '    - { uri: mailer.send_email, match: exact, allow: [call] }'].join(
          '\n',
        ),
      ),
    });
    nc = await connect({ servers: server.url });
    mailer = await hostService(new Mailer({ config, logger: silentLogger }), { nc, logger: silentLogger, config, identity: createIdentityVerifier(config.auth) });
    gateway = await start({ config, logger: silentLogger });
  });

  after(async () => {
    await gateway?.stop();
    await mailer?.stop();
    await nc?.close();
    await server?.stop();
  });

  async function statusOf(id: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${gateway.url}/tasks/${id}`, { headers });
    return { status: res.status, body: (await res.json()) as { state?: string; error?: { code: string } } };
  }

  it('shows a task to a caller who may call its procedure, and refuses the others with their codes', async () => {
    const accepted = await fetch(`${gateway.url}/mailer.send_email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async', ...(await as(['sender'])) },
      body: JSON.stringify({ to: 'ada@example.com', subject: 'Hello' }),
    });
    assert.equal(accepted.status, 202);
    const { id } = (await accepted.json()) as { id: string };
    const seen = await statusOf(id, await as(['sender']));
    assert.equal(seen.status, 200);
    assert.ok(['queued', 'running', 'succeeded'].includes(seen.body.state!), seen.body.state);

    const refused = await Promise.all([statusOf(id), statusOf(id, await as(['guest'])), statusOf(id, { authorization: 'Bearer not-a-token' })]);
    assert.deepEqual(
      refused.map((r) => [r.status, r.body.error?.code]),
      [
        [401, 'UNAUTHENTICATED'],
        [403, 'PERMISSION_DENIED'],
        [401, 'UNAUTHENTICATED'],
      ],
    );
  });

  it('answers 404 for an id that names no task, and for a task of its procedure that does not exist', async () => {
    const answers = await Promise.all([statusOf('not-an-id'), statusOf('mailer.send_email.999999', await as(['sender']))]);
    assert.deepEqual(
      answers.map((r) => [r.status, r.body.error?.code]),
      [
        [404, 'NOT_FOUND'],
        [404, 'NOT_FOUND'],
      ],
    );
  });
});
