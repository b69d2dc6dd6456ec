// `mesh tasks` on a nats-server of its own: a poison task goes dead, `dead` and `inspect` show it with its error,
// `retry` enqueues it again, `ls` and `mesh top` show the queues with their dead tasks and `purge` empties one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { task } from '../../mesh/gateway.ts';
import { suiteTaskMesh } from './task-mesh.ts';

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

  /** Parks until the test ends, so its queue keeps what was enqueued however slowly the CLI starts. */
  release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));

  @task({ concurrency: 1 })
  async park() {
    await this.released;
  }
}

describe('mesh tasks', () => {
  const flaky = new Flaky();
  const mesh = suiteTaskMesh(flaky, { taskGraceMs: 0 });

  after(() => flaky.release());

  async function tasksCli(...args: string[]): Promise<unknown> {
    const { stdout } = await run(process.execPath, [MESH, 'tasks', ...args], { env: { ...process.env, NATS_URL: mesh.server.url, LOG_LEVEL: 'warn' } });
    return JSON.parse(stdout);
  }

  it('lists, inspects and retries a dead task', async () => {
    const handle = await mesh.tasks.enqueue('flaky.once', [true]);
    await assert.rejects(handle.result({ timeout: 5_000 }));
    const dead = (await tasksCli('dead')) as { id: string; reason: string; attempts: number; errors: { error: { message: string } }[]; body: string }[];
    assert.deepEqual(
      dead.map((d) => [d.id, d.reason, d.attempts, d.errors.length, d.body]),
      [[handle.id, 'failed 1 attempt', 1, 1, '[[true],{}]']],
    );
    assert.equal(((await tasksCli('inspect', handle.id)) as { state: string }).state, 'dead');
    const { id } = (await tasksCli('retry', handle.id)) as { id: string };
    assert.notEqual(id, handle.id);
    await assert.rejects(mesh.tasks.handle(id).result({ timeout: 5_000 }));
    assert.deepEqual(
      ((await tasksCli('dead')) as { id: string }[]).map((d) => d.id),
      [id],
    );
  });

  it('shows each queue and purges one', async () => {
    await Promise.all([1, 2, 3].map(() => mesh.tasks.enqueue('flaky.park')));
    const queues = (await tasksCli('ls')) as { task: string; queued: number; claimed: number; dead: number }[];
    assert.deepEqual(
      queues.map((q) => [q.task, q.queued, q.dead]),
      [
        ['flaky.once', 0, 1],
        ['flaky.park', 3, 0],
      ],
    );
    assert.deepEqual(await tasksCli('purge', 'flaky.park'), { purged: 3 });
    // mesh top shows the same queues and their dead tasks under the procedures.
    const { stdout } = await run(process.execPath, [MESH, 'top', '--once'], { env: { ...process.env, NATS_URL: mesh.server.url, LOG_LEVEL: 'warn' } });
    const queueLines = stdout
      .slice(stdout.indexOf('TASK '))
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    assert.deepEqual(
      queueLines.map((cells) => [cells[0], cells.at(-1)]),
      [
        ['TASK', 'DEAD'],
        ['flaky.once', '1'],
        ['flaky.park', '0'],
      ],
    );
  });
});
