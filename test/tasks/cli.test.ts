// `mesh tasks` on a nats-server of its own: a poison task goes dead, `dead` and `inspect` show it with its error,
// `retry` enqueues it again, `ls` shows the queues and `purge` empties one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createTaskClient, hostService, task, type HostedService, type TaskClient } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

const MESH = new URL('../../bin/mesh.js', import.meta.url).pathname;
const run = promisify(execFile);

class Flaky {
  name = 'flaky';
  attempts = 0;

  @task({ retries: { max: 0 } })
  async once(fail: boolean) {
    this.attempts++;
    if (fail) throw new Error('it failed');
    return 'fine';
  }

  @task({ concurrency: 1 })
  async park() {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

describe('mesh tasks', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let tasks: TaskClient;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    hosted = await hostService(new Flaky(), { nc, logger: silentLogger, taskGraceMs: 0 });
    tasks = createTaskClient(nc);
  });

  after(async () => {
    await hosted?.stop();
    await nc?.close();
    await server?.stop();
  });

  async function mesh(...args: string[]): Promise<unknown> {
    const { stdout } = await run(process.execPath, [MESH, 'tasks', ...args], { env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'warn' } });
    return JSON.parse(stdout);
  }

  it('lists, inspects and retries a dead task', async () => {
    const handle = await tasks.enqueue('flaky.once', [true]);
    await assert.rejects(handle.result({ timeout: 5_000 }));
    const dead = (await mesh('dead')) as { id: string; reason: string; attempts: number; errors: { error: { message: string } }[]; body: string }[];
    assert.deepEqual(dead.map((d) => [d.id, d.reason, d.attempts, d.errors.length, d.body]), [[handle.id, 'failed 1 attempt', 1, 1, '[[true],{}]']]);
    assert.equal(((await mesh('inspect', handle.id)) as { state: string }).state, 'dead');
    const { id } = (await mesh('retry', handle.id)) as { id: string };
    assert.notEqual(id, handle.id);
    await assert.rejects(tasks.handle(id).result({ timeout: 5_000 }));
    assert.deepEqual(((await mesh('dead')) as { id: string }[]).map((d) => d.id), [id]);
  });

  it('shows each queue and purges one', async () => {
    await Promise.all([1, 2, 3].map(() => tasks.enqueue('flaky.park')));
    const queues = (await mesh('ls')) as { task: string; queued: number; claimed: number }[];
    assert.deepEqual(queues.map((q) => [q.task, q.queued]), [['flaky.once', 0], ['flaky.park', 3]]);
    assert.deepEqual(await mesh('purge', 'flaky.park'), { purged: 3 });
  });
});
