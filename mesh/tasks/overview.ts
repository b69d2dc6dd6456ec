// The task queues a gateway shows (WAMP's mesh.tasks.queues, HTTP's GET /tasks): each running task's queue and dead
// tasks, asked of the task's own endpoint (`Mesh-Task-Queue`), since a gateway's NATS user reads no JetStream. Who may see which task is the caller's to say.
import type { MsgHdrs } from '@nats-io/transport-node';
import type { Caller } from '../calling/caller.ts';
import { decodeReply } from '../calling/client.ts';
import type { ProcedureRegistry } from '../calling/registry.ts';
import { headersWith } from '../wire/propagation.ts';
import type { DeadSummary } from './dead-letter.ts';
import { NOT_A_CALL, TASK_QUEUE_HEADER } from './names.ts';
import type { TaskQueue, TaskQueueView } from './queues.ts';

/** The dead tasks an overview lists at most, oldest death first. */
export const OVERVIEW_DEAD_LISTED = 100;

export interface TaskOverview {
  queues: TaskQueue[];
  dead: DeadSummary[];
  /** Tasks a service advertises whose endpoint did not answer (no instance left, or too slow): not in `queues`. */
  unanswered: string[];
}

export interface OverviewOptions {
  caller: Caller;
  registry: ProcedureRegistry;
  /** Whether the one asking may see the task (the policy's `call` on it). */
  visible(task: string): boolean;
  /** How long the endpoints have, together, to answer. */
  timeoutMs: number;
  /** The request headers for a task's endpoint (who asks, for its subject, until the deadline); none by default. */
  headersFor?(task: string, deadline: number): MsgHdrs | undefined;
}

/** The tasks running services advertise (endpoints with `task: "true"` in `$SRV.INFO`), as the registry last saw them. */
export function advertisedTasks(registry: ProcedureRegistry): string[] {
  return registry
    .list()
    .filter((endpoint) => endpoint.instances.some((instance) => instance.metadata.task === 'true'))
    .map((endpoint) => endpoint.subject);
}

/** Asks one task's endpoint for its queue and dead tasks; rejects with the endpoint's error. */
async function queueViewOf({ caller, headersFor }: OverviewOptions, task: string, deadline: number): Promise<TaskQueueView> {
  const headers = headersWith(headersFor?.(task, deadline), { [TASK_QUEUE_HEADER]: '1' });
  const reply = await caller.request(task, NOT_A_CALL, { deadline, headers });
  return decodeReply(reply)[0][0] as TaskQueueView;
}

/** Every visible task's queue (by name) and dead tasks (oldest death first, at most OVERVIEW_DEAD_LISTED). */
export async function taskOverview(options: OverviewOptions): Promise<TaskOverview> {
  const deadline = Date.now() + options.timeoutMs;
  const tasks = advertisedTasks(options.registry).filter((task) => options.visible(task));
  const views = await Promise.all(tasks.map((task) => queueViewOf(options, task, deadline).catch(() => undefined)));
  const answered = views.filter((view) => view !== undefined);
  return {
    queues: answered.map((view) => view.queue).sort((a, b) => a.task.localeCompare(b.task)),
    dead: answered
      .flatMap((view) => view.dead)
      .sort((a, b) => a.died_at.localeCompare(b.died_at))
      .slice(0, OVERVIEW_DEAD_LISTED),
    unanswered: tasks.filter((_, i) => views[i] === undefined),
  };
}
