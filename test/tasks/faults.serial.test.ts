// Tasks through faults, on a nats-server of their own: a worker killed with SIGKILL mid-batch (its tasks run
// again elsewhere once their claims lapse), a worker stopped with SIGTERM (running ones finish, none is lost) and
// a nats-server restarted with a thousand tasks queued (none lost).
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createTaskClient, type TaskClient, type TaskHandle } from '../../mesh/gateway.ts';
import { OwnNatsServer } from '../helpers.ts';

const WORKER = new URL('./fixtures/worker.ts', import.meta.url).pathname;

async function startWorker(url: string, log: string): Promise<ChildProcess> {
  const child = fork(WORKER, [url, log], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'message');
  return child;
}

async function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

function lines(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
}

describe('tasks through faults', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let tasks: TaskClient;
  const dir = mkdtempSync(join(tmpdir(), 'mesh-task-faults-'));
  const children: ChildProcess[] = [];

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    tasks = createTaskClient(nc);
  });

  after(async () => {
    for (const child of children) await stopped(child, 'SIGKILL');
    await nc?.close();
    await server?.stop();
  });

  it('runs again, as attempt 2, every task a worker was running when it was killed with SIGKILL', async () => {
    const log = join(dir, 'killed.log');
    const first = await startWorker(server.url, log);
    children.push(first);
    // The first five run 200 ms, the rest a second each: the kill below lands while a slow one runs, however busy the machine.
    const handles = await Promise.all(Array.from({ length: 20 }, (_, n) => tasks.enqueue('chores.work', [n, n < 5 ? 200 : 1_000])));
    const unfinished = () =>
      lines(log)
        .filter((line) => line.startsWith('start'))
        .map((line) => Number(line.split(' ')[1]))
        .filter((n) => !lines(log).includes(`end ${n} ${first.pid}`));
    // Killed once some tasks have ended and a slow one runs, whatever the machine's pace: waiting only for an
    // unfinished task could kill while the last fast ones end, leaving nothing interrupted.
    while (!(lines(log).some((line) => line.startsWith('end')) && unfinished().some((n) => n >= 5))) await sleep(5);
    await stopped(first, 'SIGKILL');
    const interrupted = unfinished();
    assert.ok(interrupted.length > 0, 'the worker was killed while running tasks');
    const second = await startWorker(server.url, log);
    children.push(second);
    const statuses = await Promise.all(handles.map(async (handle) => (await handle.result({ timeout: 30_000 }), handle.status())));
    assert.ok(statuses.every((status) => status.state === 'succeeded'));
    for (const n of interrupted) assert.equal(statuses[n]!.attempts, 2, `task ${n} ran again as attempt 2`);
    await stopped(second, 'SIGTERM');
  });

  it('lets running tasks finish on SIGTERM and hands the queued ones to the next worker', async () => {
    const log = join(dir, 'terminated.log');
    const first = await startWorker(server.url, log);
    children.push(first);
    const handles = await Promise.all(Array.from({ length: 15 }, (_, n) => tasks.enqueue('chores.work', [n, 300])));
    while (!lines(log).some((line) => line.startsWith('start'))) await sleep(20);
    await stopped(first, 'SIGTERM');
    const started = lines(log).filter((line) => line.startsWith('start')).length;
    assert.equal(lines(log).filter((line) => line.startsWith('end')).length, started, 'every task started before SIGTERM finished');
    const second = await startWorker(server.url, log);
    children.push(second);
    const statuses = await Promise.all(handles.map(async (handle) => (await handle.result({ timeout: 30_000 }), handle.status())));
    assert.deepEqual(
      statuses.map((s) => [s.state, s.attempts]),
      handles.map(() => ['succeeded', 1]),
    );
    await stopped(second, 'SIGTERM');
  });

  it('loses no queued task when nats-server restarts', async () => {
    const handles: TaskHandle[] = [];
    for (let i = 0; i < 10; i++) handles.push(...(await Promise.all(Array.from({ length: 100 }, (_, n) => tasks.enqueue('chores.work', [i * 100 + n, 0])))));
    await server.stop();
    await server.restart();
    const log = join(dir, 'restarted.log');
    const worker = await startWorker(server.url, log);
    children.push(worker);
    const results = await Promise.all(handles.map((handle) => handle.result({ timeout: 60_000 })));
    assert.deepEqual(
      results.map(([[n]]) => n),
      handles.map((_, i) => i),
    );
    await stopped(worker, 'SIGTERM');
  });
});
