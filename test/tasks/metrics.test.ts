// Seeing tasks: each @task endpoint's `$SRV.STATS` data carries its worker's counters and its queue, rendered as
// `mesh_task_*` series; the enqueuer's trace reaches every attempt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers } from '@nats-io/transport-node';
import { currentCall, jsonCodec, Service, task } from '../../mesh/gateway.ts';
import { gatherStats } from '../../mesh/observability/mesh-stats.ts';
import { renderMeshMetrics } from '../../mesh/observability/mesh-metrics.ts';
import { silentLogger } from '../helpers.ts';
import { suiteTaskMesh } from './task-mesh.ts';

class Chores extends Service {
  name = 'chores';
  readonly traces: string[] = [];

  @task()
  async sweep() {
    return 'swept';
  }

  @task({ retries: { max: 1, backoff: 10 } })
  async poison() {
    throw new Error('always');
  }

  @task({ retries: { max: 1, backoff: 10 } })
  async traced() {
    this.traces.push(currentCall()!.traceId!);
    if (this.traces.length === 1) throw new Error('first attempt fails');
  }
}

describe('task metrics and traces', () => {
  const chores = new Chores();
  const mesh = suiteTaskMesh(chores);

  it("renders each task's queue, outcomes and durations as mesh_task_* series", async () => {
    for (let i = 0; i < 3; i++) await (await mesh.tasks.enqueue('chores.sweep')).result({ timeout: 5_000 });
    await assert.rejects((await mesh.tasks.enqueue('chores.poison')).result({ timeout: 5_000 }));
    await Promise.all([1, 2].map(() => mesh.tasks.enqueue('chores.sweep', [], {}, { delay: 60_000 })));
    const endpoints = await gatherStats(mesh.nc, { logger: silentLogger, waitMs: 500 });
    const text = await renderMeshMetrics(endpoints, 0);
    const value = (series: string, task: string) => Number(new RegExp(`^${series}\\{[^}]*task="${task}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.deepEqual(
      ['mesh_task_succeeded_total', 'mesh_task_queued', 'mesh_task_duration_seconds_count', 'mesh_task_running'].map((s) => value(s, 'chores.sweep')),
      [3, 2, 3, 0],
    );
    assert.deepEqual(
      ['mesh_task_failed_total', 'mesh_task_retried_total', 'mesh_task_dead_total', 'mesh_task_dead_letters', 'mesh_task_queued'].map((s) => value(s, 'chores.poison')),
      [2, 1, 1, 1, 0],
    );
    assert.ok(value('mesh_task_oldest_seconds', 'chores.sweep') >= 0);
  });

  it("carries the enqueuer's traceparent to every attempt, a retry included", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const sent = headers();
    sent.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    const handle = await mesh.tasks.enqueueEncoded('chores.traced', jsonCodec.encode([[], {}]), sent);
    await handle.result({ timeout: 5_000 });
    assert.deepEqual(chores.traces, [traceId, traceId]);
  });
});
