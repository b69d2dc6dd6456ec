// The mailer walk-through of docs/tasks.md, run as written: its curl commands against a gateway on a fresh
// nats-server (so the first task is mailer.send_email.1, as the page shows), answers compared with the page's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import Mailer from '../../services/mailer/index.ts';
import { serveHttpApp, type ServedApp } from '../gateway-http/serve-app.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';

/** The curl commands of the walk-through's shell block, continuation lines joined. */
function walkthroughCommands(): string[] {
  const page = readFileSync(new URL('../../docs/tasks.md', import.meta.url), 'utf8');
  const block = /\*\*Walk-through\*\*[\s\S]*?```sh\n([\s\S]*?)```/.exec(page)![1]!;
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.startsWith('curl '));
}

describe('docs/tasks.md walk-through', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let mailer: HostedService;
  let app: ServedApp;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    const config = testConfig({ 'mailer.dataDir': mkdtempSync(join(tmpdir(), 'docs-mailer-')) });
    mailer = await hostService(new Mailer({ config, logger: silentLogger }), { nc, logger: silentLogger, config });
    app = await serveHttpApp(nc);
  });

  after(async () => {
    await app?.stop();
    await mailer?.stop();
    await nc?.close();
    await server?.stop();
  });

  it('enqueues with curl, follows /tasks/<id> to succeeded, and finds the mail in the outbox', async () => {
    const commands = walkthroughCommands();
    assert.equal(commands.length, 3);
    const run = async (command: string) => (await promisify(execFile)('bash', ['-c', command.replaceAll('localhost:5000', app.url.replace('http://', ''))])).stdout;
    const accepted = await run(commands[0]!);
    assert.match(accepted, /^HTTP\/1\.1 202 Accepted/);
    assert.match(accepted, /^Location: \/tasks\/mailer\.send_email\.1\r?$/m);
    assert.ok(accepted.trimEnd().endsWith('{"id":"mailer.send_email.1"}'), accepted);
    let status = '';
    for (let i = 0; i < 100 && !status.includes('"state":"succeeded"'); i++) {
      if (i > 0) await sleep(50);
      status = await run(commands[1]!);
    }
    assert.match(
      status,
      /^\{"id":"mailer\.send_email\.1","task":"mailer\.send_email","state":"succeeded","attempts":1,"result":\[\[\{"message_id":"<[^"]+@mailer\.nats-mesh>","delivered_at":"[^"]+"\}\],\{\}\],"error":null,/,
    );
    const [[[mail]]] = JSON.parse(await run(commands[2]!)) as [[[{ to: string; subject: string; body: string }]]];
    assert.deepEqual([mail.to, mail.subject, mail.body], ['ada@example.com', 'Hello', 'Hi Ada']);
  });
});
