// Task queues and retries under the NATS users `mesh nats-config` generates, on a nats-server of the test's own: the
// gateways, which may touch no JetStream, show queues and retry dead tasks through the task's endpoint, over HTTP and WAMP, as the policy allows.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { SignJWT } from 'jose';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start as startWamp } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { meshMembers, natsConfig } from '../../mesh/cli/nats-config.ts';
import { runServices, type RunningServices } from '../../mesh/gateway.ts';
import { RawClient } from '../gateway-wamp/raw-client.ts';
import { natsFromConfig, silentLogger, testConfig, type ConfiguredNats } from '../helpers.ts';
import Ledger from './fixtures/ledger.ts';

const { CALL, RESULT, ERROR, CHALLENGE, AUTHENTICATE, WELCOME } = MessageType;
const SECRET = 'a-task-operations-secret-of-at-least-32-characters';
const LEDGER = fileURLToPath(new URL('./fixtures/ledger.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Overview {
  queues: { task: string; queued: number; claimed: number; oldest_ms: number; dead: number }[];
  dead: { id: string; task: string; reason: string; attempts: number; error: { code: string } | null; died_at: string }[];
  unanswered: string[];
}

const token = (...roles: string[]) => new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(roles.join('-')).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

describe('task queues and retries under the generated NATS users', () => {
  let nats: ConfiguredNats;
  let services: RunningServices;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let wamp: Awaited<ReturnType<typeof startWamp>>;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'task-operations-'));
    const members = await meshMembers([`run ${LEDGER}`, 'gateway gateway-http', 'gateway gateway-wamp'], { config: testConfig(), logger: silentLogger });
    writeFileSync(join(dir, 'nats.conf'), natsConfig(members, null));
    // A guest (anonymous, a tab with no sign-in) may enqueue and see the ledger's tasks; a clerk may too; only an operator may retry.
    writeFileSync(
      join(dir, 'policy.json'),
      JSON.stringify({
        anonymous: 'guest',
        roles: {
          guest: [{ uri: 'ledger.post', allow: ['call'] }],
          clerk: [{ uri: 'ledger.post', allow: ['call'] }],
          operator: [
            { uri: 'ledger.post', allow: ['call'] },
            { uri: 'mesh.tasks.retry', allow: ['call'] },
          ],
        },
      }),
    );
    nats = await natsFromConfig(join(dir, 'nats.conf'));
    const auth = { 'auth.jwtSecret': SECRET, 'auth.policyFile': join(dir, 'policy.json'), 'rpc.timeoutMs': 5_000 };
    services = await runServices([Ledger], { config: nats.configAs('ledger', auth), logger: silentLogger });
    http = await startHttp({ config: nats.configAs('gateway_http', auth), logger: silentLogger });
    wamp = await startWamp({ config: nats.configAs('gateway_wamp', auth), logger: silentLogger });
  });

  after(async () => {
    await http?.stop();
    await wamp?.stop();
    await services?.stop();
    await nats?.stop();
    Ledger.closed = true;
  });

  /** Enqueues a ledger entry over HTTP as a guest, and waits until the task is dead (the ledger is closed). */
  async function deadTask(entry: string): Promise<string> {
    const res = await fetch(`${http.url}/ledger.post`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' }, body: JSON.stringify({ entry }) });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    let state = '';
    for (let i = 0; i < 200 && state !== 'dead'; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      state = ((await (await fetch(`${http.url}/tasks/${id}`)).json()) as { state: string }).state;
    }
    assert.equal(state, 'dead', `${id} died`);
    return id;
  }

  const overview = async (headers: Record<string, string> = {}): Promise<Overview> => {
    const res = await fetch(`${http.url}/tasks`, { headers });
    assert.equal(res.status, 200);
    return (await res.json()) as Overview;
  };
  const retry = (id: string, headers: Record<string, string> = {}) => fetch(`${http.url}/tasks/${id}/retry`, { method: 'POST', headers });

  it('lists the queue and its dead task over HTTP for a guest, refuses the guest and a clerk a retry, and retries it for an operator', async () => {
    const id = await deadTask('rent');
    const seen = await overview();
    assert.deepEqual(
      seen.queues.map(({ task, queued, claimed, dead }) => ({ task, queued, claimed, dead })),
      [{ task: 'ledger.post', queued: 0, claimed: 0, dead: 1 }],
    );
    assert.deepEqual(
      seen.dead.map(({ id, task, reason, attempts, error }) => ({ id, task, reason, attempts, code: error?.code })),
      [{ id, task: 'ledger.post', reason: 'failed 1 attempt', attempts: 1, code: 'UNAVAILABLE' }],
    );
    assert.deepEqual(seen.unanswered, []);

    const guest = await retry(id);
    assert.deepEqual([guest.status, ((await guest.json()) as { error: { code: string } }).error.code], [401, 'UNAUTHENTICATED']);
    const clerk = await retry(id, { authorization: `Bearer ${await token('clerk')}` });
    assert.deepEqual([clerk.status, ((await clerk.json()) as { error: { code: string } }).error.code], [403, 'PERMISSION_DENIED']);

    Ledger.closed = false;
    const operator = { authorization: `Bearer ${await token('operator')}` };
    const retried = await retry(id, operator);
    assert.equal(retried.status, 202);
    const { id: again } = (await retried.json()) as { id: string };
    assert.equal(retried.headers.get('location'), `/tasks/${again}`);
    assert.notEqual(again, id);
    let status: { state?: string; result?: unknown } = {};
    for (let i = 0; i < 200 && status.state !== 'succeeded'; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      status = (await (await fetch(`${http.url}/tasks/${again}`, { headers: operator })).json()) as typeof status;
    }
    assert.deepEqual([status.state, status.result], ['succeeded', [[{ posted: 'rent' }], {}]]);
    const second = await retry(id, operator);
    assert.deepEqual([second.status, ((await second.json()) as { error: { code: string } }).error.code], [404, 'NOT_FOUND'], 'a retried task is dead no more');
    assert.deepEqual((await overview(operator)).dead, []);
    Ledger.closed = true;
  });

  it('lists the queue over WAMP for an anonymous tab, refuses it mesh.tasks.retry, and retries for an operator session', async () => {
    const id = await deadTask('tea');
    let requestId = 0;
    const call = async (client: RawClient, procedure: string, args: unknown[]) => {
      client.send([CALL, ++requestId, {}, procedure, args]);
      return client.next(10_000);
    };

    const tab = await RawClient.open(wamp.wsUrl);
    await tab.hello();
    const listed = await call(tab, 'mesh.tasks.queues', []);
    assert.equal(listed[0], RESULT, JSON.stringify(listed));
    const seen = (listed[3] as [Overview])[0];
    assert.deepEqual([seen.queues.map((q) => [q.task, q.dead]), seen.dead.map((d) => d.id)], [[['ledger.post', 1]], [id]]);
    const refused = await call(tab, 'mesh.tasks.retry', [id]);
    assert.deepEqual([refused[0], refused[4]], [ERROR, 'wamp.error.not_authorized']);
    await tab.close();

    const operator = await RawClient.open(wamp.wsUrl);
    operator.send([1, 'realm1', { roles: { caller: {} }, authmethods: ['ticket'] }]);
    assert.equal((await operator.next())[0], CHALLENGE);
    operator.send([AUTHENTICATE, await token('operator'), {}]);
    assert.equal((await operator.next())[0], WELCOME);
    const retried = await call(operator, 'mesh.tasks.retry', [id]);
    assert.equal(retried[0], RESULT, JSON.stringify(retried));
    assert.match((retried[3] as [{ id: string }])[0].id, /^ledger\.post\.[0-9]+$/);
    const after = (await call(operator, 'mesh.tasks.queues', []))[3] as [Overview];
    assert.equal(
      after[0].dead.some((d) => d.id === id),
      false,
      'the retried task is no longer listed dead',
    );
    await operator.close();
  });

  it('leaves no permission violation in the server log: every process kept to its generated rights', () => {
    assert.deepEqual(nats.violations(), []);
  });

  it("shows the queues in mesh top as the HTTP gateway's user, as the worker reports them when JetStream is refused", async () => {
    const env = { PATH: process.env.PATH, NATS_URL: nats.server.url, NATS_USER: 'gateway_http', NATS_PASSWORD: nats.passwordOf('gateway_http'), NATS_INBOX_PREFIX: '_INBOX_gateway_http' };
    const { stdout } = await run(process.execPath, ['bin/mesh.js', 'top', '--once'], { cwd: ROOT, env });
    assert.match(stdout, /^task queues as their workers report them \(\$SRV\.STATS; JetStream itself: .+\)$/m);
    // The retry over WAMP ran while the ledger was closed: that task died again.
    assert.match(stdout, /^ledger\.post +0 +0 +- +1$/m);
  });
});
