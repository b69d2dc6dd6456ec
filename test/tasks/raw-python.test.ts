// Tasks from any language, as the wire protocol page documents them: a Python script on a plain socket enqueues
// mailer.send_email on JetStream with an idempotency key and reads its status from the state bucket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import Mailer from '../../services/mailer/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';

const script = fileURLToPath(new URL('../raw_nats_task_client.py', import.meta.url));

describe('a task enqueued from Python over raw NATS', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let mailer: HostedService;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    const config = testConfig({ 'mailer.dataDir': mkdtempSync(join(tmpdir(), 'raw-python-')) });
    mailer = await hostService(new Mailer({ config, logger: silentLogger }), { nc, logger: silentLogger, config });
  });

  after(async () => {
    await mailer?.stop();
    await nc?.close();
    await server?.stop();
  });

  const enqueue = async (key: string) => {
    const payload = JSON.stringify([[], { to: 'ada@example.com', subject: 'Hi from Python' }]);
    const { stdout } = await promisify(execFile)('python3', [script, '127.0.0.1', String(server.port), 'mailer.send_email', payload, key]);
    return JSON.parse(stdout) as { id: string; status: { state: string; attempts: number; result: [[{ message_id: string }], object] } };
  };

  it('runs once per key, and reads its status and result from the state bucket', async () => {
    const first = await enqueue('welcome-ada');
    assert.match(first.id, /^mailer\.send_email\.\d+$/);
    assert.deepEqual([first.status.state, first.status.attempts], ['succeeded', 1]);
    assert.match(first.status.result[0][0].message_id, /@mailer\.nats-mesh>$/);
    const again = await enqueue('welcome-ada');
    assert.equal(again.id, first.id);
    assert.equal(again.status.result[0][0].message_id, first.status.result[0][0].message_id);
  });
});
