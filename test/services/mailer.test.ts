// mailer, the durable-task example, the way docs/tasks.md walks through it: enqueue over HTTP with
// `Prefer: respond-async`, follow /tasks/<id>, read the outbox; and thing_service's welcome mail.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import Mailer from '../../services/mailer/index.ts';
import ThingService from '../../services/thing/index.ts';
import { serveHttpApp, type ServedApp } from '../gateway-http/serve-app.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { thingDataDir } from '../databases.ts';

describe('mailer', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let app: ServedApp;
  const hosted: HostedService[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'mailer-data-'));

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    const config = testConfig({ 'mailer.dataDir': dataDir, 'database.dataDir': await thingDataDir('mailer-things-') });
    const context = { config, logger: silentLogger };
    hosted.push(await hostService(new Mailer(context), { nc, logger: silentLogger, config }));
    hosted.push(await hostService(new ThingService(context), { nc, logger: silentLogger, config }));
    app = await serveHttpApp(nc);
  });

  after(async () => {
    await app?.stop();
    for (const service of hosted) await service.stop();
    await nc?.close();
    await server?.stop();
  });

  async function post(procedure: string, body: unknown, headers: Record<string, string> = {}) {
    return fetch(`${app.url}/${procedure}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  }

  async function outbox(): Promise<{ to: string; subject: string; message_id: string }[]> {
    return ((await (await post('mailer.outbox', { limit: 100 })).json()) as [[{ to: string; subject: string; message_id: string }[]]])[0][0];
  }

  it('sends a mail enqueued with Prefer: respond-async into the outbox', async () => {
    const accepted = await post('mailer.send_email', { to: 'ada@example.com', subject: 'Hello', body: 'Hi Ada' }, { Prefer: 'respond-async' });
    assert.equal(accepted.status, 202);
    const location = accepted.headers.get('location')!;
    let status: { state: string; result: [[{ message_id: string; delivered_at: string }]] } | undefined;
    for (let i = 0; i < 250 && status?.state !== 'succeeded'; i++) {
      if (i > 0) await sleep(20);
      status = (await (await fetch(app.url + location)).json()) as typeof status;
    }
    assert.equal(status?.state, 'succeeded');
    const [[sent]] = status!.result;
    const mail = (await outbox()).find((m) => m.message_id === sent.message_id);
    assert.deepEqual({ to: mail?.to, subject: mail?.subject }, { to: 'ada@example.com', subject: 'Hello' });
  });

  it('refuses a mail to something that is not an address, with 400', async () => {
    const res = await post('mailer.send_email', { to: 'nobody', subject: 'Hello' }, { Prefer: 'respond-async' });
    assert.equal(res.status, 400);
  });

  it('gets a welcome mail when thing_service creates a thing, without the caller waiting for it', async () => {
    const [[thing]] = (await (await post('thing_service.create_thing', { name: 'lamp' })).json()) as [[{ uuid: string }]];
    const welcomed = async () => (await outbox()).some((m) => m.subject === 'Welcome, lamp');
    for (let i = 0; i < 250 && !(await welcomed()); i++) await sleep(20);
    assert.ok(thing.uuid);
    assert.ok(await welcomed(), 'the welcome mail is in the outbox');
  });
});
