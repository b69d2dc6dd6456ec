// Hosts a service instance's @task methods: a worker per task (mesh/tasks/worker.ts) that binds each attempt's
// arguments and calls the method in a call context, and an endpoint `<service>.<method>` that checks arguments
// against the task's contract and enqueues them (what the gateways and other languages call). It decides nothing else.
import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { runInCall, ServedCall } from '../calling/context.ts';
import { hopFrom } from '../observability/tracing.ts';
import type { Logger } from '../process/logger.ts';
import { createTaskClient, type EnqueueOptions, type TaskClient, type TaskHandle } from '../tasks/enqueue.ts';
import { parseTaskId, RESPOND_ASYNC_HEADER, TASK_DELAY_HEADER, TASK_ID_HEADER, TASK_KEY_HEADER, TASK_QUEUE_HEADER, TASK_RETRY_HEADER, TASK_STATUS_HEADER } from '../tasks/names.ts';
import { taskStore, type TaskStore } from '../tasks/store.ts';
import { runSchedule, tickKey, type Schedule } from '../tasks/schedule.ts';
import { startWorker, type TaskWorker } from '../tasks/worker.ts';
import { queueFigures, retryDead, taskQueueView, type TaskStats } from '../tasks/queues.ts';
import { CONTENT_TYPE_HEADER, codecForContentType, jsonCodec, msgpackCodec, type Codec } from '../wire/codec.ts';
import { parseEnvelope, toReplyEnvelope, type Args, type Kwargs } from '../wire/envelope.ts';
import { MeshError, withErrorId } from '../wire/errors.ts';
import type { Namespace } from '../wire/namespace.ts';
import { quoteName } from '../wire/names.ts';
import { readRequestHeaders, TRACEPARENT_HEADER, TRACESTATE_HEADER } from '../wire/propagation.ts';
import { respondError, respondResult } from '../wire/respond.ts';
import { bindArguments } from './bind.ts';
import { bindContract } from './contract.ts';
import { declarationsOf, refuse, type Declarations } from './declarations.ts';
import type { MicroService } from './micro-service.ts';
import { tasksOf, type TaskDeclaration } from './task.ts';

export interface TaskHostOptions {
  nc: NatsConnection;
  logger: Logger;
  namespace: Namespace;
  /** The service's micro service, where each task's enqueue endpoint is added. */
  micro: MicroService;
}

export interface HostedTasks {
  readonly subjects: string[];
  /**
   * What the task on an endpoint subject has done (running, succeeded, failed, retried, dead, durations) and its
   * queue now (queued, oldest_ms, dead_letters), for `$SRV.STATS`.
   */
  statsOf(subject: string): Promise<TaskStats | undefined>;
  /** Stops the workers: running attempts get `graceMs` to finish, the rest go back to the queue at once. */
  stop(graceMs: number): Promise<void>;
}

/** How long a request without a deadline waits for the result of the task it enqueued. */
const DEFAULT_WAIT_MS = 60_000;
/** The dead tasks an endpoint lists at most in its answer to `Mesh-Task-Queue`, oldest first. */
const DEAD_LISTED = 100;

type Method = (...args: unknown[]) => unknown;

function bindTask(name: string, declaration: TaskDeclaration, args: Args, kwargs: Kwargs): unknown[] {
  if (declaration.contract) return bindContract(name, declaration.contract, args, kwargs);
  return bindArguments(name, declaration.parameters!, args, kwargs);
}

/** The endpoint metadata of a task, as `@rpc`'s: the registry, docs and OpenAPI describe it like a procedure. */
function taskMetadata(declaration: TaskDeclaration): Record<string, string> {
  const { contract, parameters } = declaration;
  const metadata: Record<string, string> = {
    task: 'true',
    parameters: contract ? contract.signature : parameters!.map((p) => (p.rest ? `...${p.name}` : p.optional ? `${p.name}?` : p.name)).join(', '),
    access: 'public',
    retries: String(declaration.retries.max),
  };
  if (contract) metadata.params_schema = contract.paramsSchema;
  if (declaration.resultSchema) metadata.result_schema = declaration.resultSchema;
  if (declaration.description) metadata.description = declaration.description;
  if (declaration.ignoreResult) metadata.ignore_result = 'true';
  return metadata;
}

/** The headers a task message keeps from the request that enqueued it: its Content-Type and trace context. */
function keptHeaders(msg: Msg, codec: Codec) {
  const headers = natsHeaders();
  if (codec === msgpackCodec) headers.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
  for (const name of [TRACEPARENT_HEADER, TRACESTATE_HEADER]) {
    const value = msg.headers?.get(name);
    if (value) headers.set(name, value);
  }
  return headers;
}

class Tasks implements HostedTasks {
  readonly subjects: string[] = [];
  private readonly workers: TaskWorker[] = [];
  private readonly schedules: { stop(): void }[] = [];
  readonly client: TaskClient;

  constructor(
    private readonly instance: { readonly name: string },
    private readonly options: TaskHostOptions,
  ) {
    this.client = createTaskClient(options.nc, { namespace: options.namespace.name ?? null });
  }

  async start(): Promise<void> {
    const { nc, logger, namespace, micro } = this.options;
    const store = taskStore(nc, namespace);
    for (const declaration of tasksOf(this.instance).values()) {
      const name = `${this.instance.name}.${declaration.method}`;
      const method = (this.instance as unknown as Record<string, Method>)[declaration.method]!;
      this.workers.push(
        await startWorker({
          store,
          task: name,
          concurrency: declaration.concurrency,
          retries: declaration.retries,
          timeoutMs: declaration.timeoutMs,
          claimMs: declaration.claimMs,
          keepResults: !declaration.ignoreResult,
          logger,
          run: ({ args, kwargs, forwarded, progress }) => {
            const bound = bindTask(name, declaration, args, kwargs);
            // The attempt's progress is the call's: `this.progress()` in the method records it for the task.
            const channel = { watch: () => undefined, progress };
            const call = new ServedCall(undefined, name, undefined, hopFrom(name, 'consumer', forwarded), forwarded, undefined, channel);
            const result = runInCall(call, () => method.apply(this.instance, bound));
            return Promise.resolve(result).then(toReplyEnvelope);
          },
        }),
      );
      if (declaration.schedule) this.schedules.push(await this.schedule(name, declaration.schedule, store));
      const subject = namespace.subject(name);
      micro.addEndpoint(declaration.method, {
        subject,
        queue: namespace.queue,
        metadata: taskMetadata(declaration),
        handler: (msg) => this.enqueueRequest(name, declaration, msg),
      });
      this.subjects.push(subject);
    }
  }

  /** The task store of the service's connection and namespace (one per connection: no cost to ask again). */
  private get store(): TaskStore {
    return taskStore(this.options.nc, this.options.namespace);
  }

  async statsOf(subject: string): Promise<TaskStats | undefined> {
    const worker = this.workers.find((w) => this.options.namespace.subject(w.task) === subject);
    if (!worker) return undefined;
    return { ...worker.counters(), ...(await queueFigures(this.store, worker.task).catch(() => ({}))) };
  }

  async stop(graceMs: number): Promise<void> {
    for (const schedule of this.schedules) schedule.stop();
    await Promise.all(this.workers.map((worker) => worker.stop(graceMs)));
  }

  /**
   * Enqueues the task at each tick of its schedule, with no arguments, under the tick's key: every instance tries,
   * JetStream's dedupe stores one. With `missed: 'once'` each tick is also written down (`<task>.last_tick` in the
   * state bucket), and a start after a missed tick enqueues that one.
   */
  private async schedule(name: string, schedule: Schedule, store: TaskStore): Promise<{ stop(): void }> {
    const { logger } = this.options;
    const lastTick = store.names.stateSubject(`${name}.last_tick`);
    const enqueueTick = async (tick: number) => {
      try {
        await this.client.enqueue(name, [], {}, { key: tickKey(name, tick) });
        if (schedule.missed === 'once') await store.js.publish(lastTick, String(tick));
      } catch (err) {
        logger.warn({ err, task: name, schedule: schedule.text, tick: new Date(tick).toISOString() }, 'could not enqueue a scheduled tick');
      }
    };
    const previous = schedule.previous(Date.now());
    if (schedule.missed === 'once' && previous !== undefined) {
      const jsm = await store.jsm();
      const last = await jsm.direct.getMessage(store.names.stateStream, { last_by_subj: lastTick }).catch(() => null);
      if (!last || Number(last.string()) < previous) await enqueueTick(previous);
    }
    return runSchedule(schedule, enqueueTick);
  }

  /**
   * A request to a task's endpoint: arguments checked against its contract (nothing is stored when they do not
   * fit), then enqueued; answered with `{id}` at once when it asks to respond async or the task ignores its result,
   * else with the task's result.
   * With `Mesh-Task-Status: <id>` it answers that task's status instead, with `Mesh-Task-Queue` its queue and dead
   * tasks, with `Mesh-Task-Retry: <id>` it enqueues that dead task again: how a gateway, which has no JetStream
   * rights, reads and mends them (the gateway's policy decided who may). A NATS callback: it never throws.
   */
  private enqueueRequest(name: string, declaration: TaskDeclaration, msg: Msg): void {
    const { contentType, deadline } = readRequestHeaders(msg);
    const codec = codecForContentType(contentType);
    try {
      if (!codec) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type '${contentType}'`);
      const statusOf = msg.headers?.get(TASK_STATUS_HEADER);
      if (statusOf) return this.respondStatus(name, msg, codec, statusOf);
      if (msg.headers?.has(TASK_QUEUE_HEADER)) return this.respondWith(msg, codec, taskQueueView(this.store, name, DEAD_LISTED), `read the queue of ${name}`);
      const retryOf = msg.headers?.get(TASK_RETRY_HEADER);
      if (retryOf) return this.respondWith(msg, codec, this.retry(name, retryOf), `retry a task of ${name}`);
      const [args, kwargs] = parseEnvelope(codec.decode(msg.data));
      bindTask(name, declaration, args, kwargs);
      const delayText = msg.headers?.get(TASK_DELAY_HEADER);
      const delay = delayText ? Number(delayText) : undefined;
      const key = msg.headers?.get(TASK_KEY_HEADER) || undefined;
      const async = msg.headers?.has(RESPOND_ASYNC_HEADER) === true;
      this.client
        .enqueueEncoded(name, msg.data, keptHeaders(msg, codec), { delay, key })
        .then(async (handle) => {
          // A task that keeps no result has none to wait for: its id, as to a request that asked to respond async.
          if (async || declaration.ignoreResult) return this.respondId(msg, codec, handle.id);
          const waitMs = deadline === undefined ? DEFAULT_WAIT_MS : Math.max(0, deadline - Date.now());
          respondResult(msg, codec, await handle.result({ timeout: waitMs }));
        })
        .catch((err: unknown) => this.respondFailure(msg, codec, err));
    } catch (err) {
      this.respondFailure(msg, codec ?? jsonCodec, err);
    }
  }

  /** The status of one of this endpoint's tasks; an id of another task is NOT_FOUND here. */
  private respondStatus(name: string, msg: Msg, codec: Codec, id: string): void {
    if (parseTaskId(id).task !== name) throw new MeshError('NOT_FOUND', `no task with id ${quoteName(id)} among ${name}'s`);
    this.client
      .handle(id)
      .status()
      .then((status) => respondResult(msg, codec, [[status], {}]))
      .catch((err: unknown) => this.respondFailure(msg, codec, err));
  }

  /** Enqueues one of this endpoint's dead tasks again; an id of another task is NOT_FOUND here. */
  private async retry(name: string, id: string): Promise<{ id: string }> {
    if (parseTaskId(id).task !== name) throw new MeshError('NOT_FOUND', `no task with id ${quoteName(id)} among ${name}'s`);
    return { id: await retryDead(this.store, id) };
  }

  /** Answers `[[value], {}]` once the work resolves, its error else (`doing` names the work in an INTERNAL one). */
  private respondWith(msg: Msg, codec: Codec, work: Promise<unknown>, doing: string): void {
    work.then((value) => respondResult(msg, codec, [[value], {}])).catch((err: unknown) => this.respondFailure(msg, codec, err, doing));
  }

  private respondId(msg: Msg, codec: Codec, id: string): void {
    const headers = natsHeaders();
    headers.set(TASK_ID_HEADER, id);
    if (codec === msgpackCodec) headers.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
    msg.respond(codec.encode([[{ id }], {}]), { headers });
  }

  /** Answers a request to the endpoint with its error; `doing` says what failed (an enqueue, a queue read, a retry). */
  private respondFailure(msg: Msg, codec: Codec, err: unknown, doing = 'enqueue the task'): void {
    const error = err instanceof MeshError ? err : new MeshError('INTERNAL', `could not ${doing}`, { cause: err });
    const id = withErrorId(error);
    if (error.code === 'INTERNAL' || error.code === 'UNAVAILABLE') this.options.logger.error({ err, error_id: id }, `could not ${doing}`);
    try {
      respondError(msg, codec, error);
    } catch (replyErr) {
      this.options.logger.error({ err: replyErr, error_id: id }, 'could not reply to a request to a task endpoint');
    }
  }
}

const TASK_CLIENT = Symbol.for('nats-mesh.task-client');

/**
 * Enqueues a task from a hosted service instance: `await enqueueFrom(this, 'mailer.send_email', [to])`, what
 * Service's `this.enqueue` does. Inside a handler the task carries on the handler's trace.
 */
export function enqueueFrom(instance: object, task: string, args?: Args, kwargs?: Kwargs, options?: EnqueueOptions): Promise<TaskHandle> {
  const client = (instance as { [TASK_CLIENT]?: TaskClient })[TASK_CLIENT];
  const name = (instance as { name?: string }).name;
  if (!client) return Promise.reject(new Error(`${name ?? 'this object'} is not running in a service host, so it cannot enqueue`));
  // A service that declares `enqueues` enqueues only those: its NATS user may publish no other task's subject.
  const { enqueues } = declarationsOf(instance as Declarations & { name: string });
  if (enqueues && !enqueues.has(task)) return Promise.reject(refuse(name!, 'enqueues', task, enqueues));
  return client.enqueue(task, args, kwargs, options);
}

/**
 * Starts a worker and an enqueue endpoint for each @task of the instance (none when it declares no task), and
 * gives the instance the task client `enqueueFrom` uses.
 */
export async function hostTasks(instance: { readonly name: string }, options: TaskHostOptions): Promise<HostedTasks> {
  const tasks = new Tasks(instance, options);
  Object.defineProperty(instance, TASK_CLIENT, { value: tasks.client, configurable: true });
  await tasks.start();
  return tasks;
}
