// Tasks through the HTTP gateway, on a nats-server of its own with JetStream: `Prefer: respond-async` answers 202
// with where to follow the task, `GET /tasks/<id>` its status, `Idempotency-Key` dedupes, bad input is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { task, z } from '../../mesh/gateway.ts';
import { withoutErrorId } from '../helpers.ts';
import { startTaskMesh, type TaskMesh } from '../tasks/task-mesh.ts';
import { serveHttpApp, type ServedApp } from './serve-app.ts';

class Reports {
  name = 'reports';
  runs = 0;

  @task({ params: z.object({ title: z.string().min(1), pages: z.number().int().positive() }) })
  async render(title: string, pages: number) {
    this.runs++;
    return { file: `${title}.pdf`, pages };
  }

  /** A fire-and-forget task: nothing is kept of its success. */
  @task({ ignoreResult: true })
  async notify(user: string) {
    return `notified ${user}`;
  }
}

const ASYNC = { 'Content-Type': 'application/json', Prefer: 'respond-async' };

describe('HTTP gateway: tasks', () => {
  let mesh: TaskMesh;
  let app: ServedApp;
  const reports = new Reports();

  before(async () => {
    mesh = await startTaskMesh(reports);
    app = await serveHttpApp(mesh.nc);
  });

  after(async () => {
    await app?.stop();
    await mesh?.stop();
  });

  async function followed(location: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const body = (await (await fetch(app.url + location)).json()) as Record<string, unknown>;
      if (body.state === 'succeeded' || body.state === 'dead') return body;
      await sleep(20);
    }
    throw new Error(`${location} did not end`);
  }

  it('answers Prefer: respond-async with 202, the id and a Location to poll until it succeeded', async () => {
    const res = await fetch(`${app.url}/reports.render`, { method: 'POST', headers: ASYNC, body: JSON.stringify({ title: 'q3', pages: 12 }) });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('preference-applied'), 'respond-async');
    const { id } = (await res.json()) as { id: string };
    assert.match(id, /^reports\.render\.\d+$/);
    assert.equal(res.headers.get('location'), `/tasks/${id}`);
    const status = await followed(res.headers.get('location')!);
    assert.deepEqual(Object.keys(status).sort(), ['attempts', 'enqueued_at', 'error', 'finished_at', 'id', 'progress', 'result', 'started_at', 'state', 'task']);
    assert.deepEqual(
      { id: status.id, task: status.task, state: status.state, attempts: status.attempts, result: status.result, error: status.error },
      {
        id,
        task: 'reports.render',
        state: 'succeeded',
        attempts: 1,
        result: [[{ file: 'q3.pdf', pages: 12 }], {}],
        error: null,
      },
    );
  });

  it('waits for the result when the call does not ask to respond async', async () => {
    const res = await fetch(`${app.url}/reports.render`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([['annual', 3], {}]) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [[{ file: 'annual.pdf', pages: 3 }], {}]);
  });

  it('answers a plain call of a task that ignores its result with 202, and its status with 404 once it ran', async () => {
    const res = await fetch(`${app.url}/reports.notify`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([['ada'], {}]) });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    assert.equal(res.headers.get('location'), `/tasks/${id}`);
    for (let i = 0; i < 400; i++) {
      const status = await fetch(app.url + res.headers.get('location')!);
      if (status.status === 404) {
        const { error } = (await status.json()) as { error: { code: string; message: string } };
        assert.equal(error.code, 'NOT_FOUND');
        assert.match(error.message, /result ignored/);
        return;
      }
      assert.equal(status.status, 200);
      await sleep(25);
    }
    assert.fail(`${id} still had a status after it ran`);
  });

  it('enqueues once per Idempotency-Key', async () => {
    const runs = reports.runs;
    const send = () => fetch(`${app.url}/reports.render`, { method: 'POST', headers: { ...ASYNC, 'Idempotency-Key': 'render-q4' }, body: JSON.stringify({ title: 'q4', pages: 1 }) });
    const first = (await (await send()).json()) as { id: string };
    const second = (await (await send()).json()) as { id: string };
    assert.equal(second.id, first.id);
    await followed(`/tasks/${first.id}`);
    assert.equal(reports.runs, runs + 1);
  });

  it('refuses arguments that fail the schema with 400 and the fields, and stores nothing', async () => {
    const jsm = await jetstreamManager(mesh.nc);
    const before = (await jsm.streams.info('TASKS_reports-render')).state.last_seq;
    const res = await fetch(`${app.url}/reports.render`, { method: 'POST', headers: ASYNC, body: JSON.stringify({ title: '', pages: 0 }) });
    assert.equal(res.status, 400);
    assert.equal((await jsm.streams.info('TASKS_reports-render')).state.last_seq, before, 'nothing was stored');
    assert.deepEqual(withoutErrorId(await res.json()), {
      error: {
        code: 'INVALID_ARGUMENT',
        message: 'title must have at least 1 character; pages must be more than 0',
        status: 400,
        details: [
          { field: 'title', message: 'must have at least 1 character' },
          { field: 'pages', message: 'must be more than 0' },
        ],
      },
    });
  });

  it('answers 404 for an unknown task or task id, 413 for a body over the limit', async () => {
    assert.equal((await fetch(`${app.url}/reports.nothing`, { method: 'POST', headers: ASYNC, body: '[]' })).status, 404);
    assert.equal((await fetch(`${app.url}/tasks/reports.render.999999`)).status, 404);
    assert.equal((await fetch(`${app.url}/tasks/not-an-id`)).status, 404);
    assert.equal((await fetch(`${app.url}/tasks/reports.nothing.1`)).status, 404, 'an id of a task no worker declared');
    const huge = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024), pages: 1 });
    assert.equal((await fetch(`${app.url}/reports.render`, { method: 'POST', headers: ASYNC, body: huge })).status, 413);
  });
});
