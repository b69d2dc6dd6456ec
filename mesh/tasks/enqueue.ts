// Enqueuing tasks and following them, Celery's `delay(...)` and `.wait()`: one JetStream publish per task (the id
// is the sequence its PubAck names), and a handle that reads the task's status. It runs nothing.
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { runningCall } from '../calling/context.ts';
import { CONTENT_TYPE_HEADER, jsonCodec, msgpackCodec } from '../wire/codec.ts';
import type { Args, Envelope, Kwargs } from '../wire/envelope.ts';
import { errorFromBody, MeshError } from '../wire/errors.ts';
import { meshNamespace } from '../wire/namespace.ts';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER } from '../wire/propagation.ts';
import { checkTaskName, MSG_ID_HEADER, NOT_BEFORE_HEADER, parseTaskId, taskId } from './names.ts';
import { readStatus, waitForEnd, type TaskStatus } from './state.ts';
import { taskStore, type TaskStore } from './store.ts';

export interface EnqueueOptions {
  /** Start no sooner than this many ms from now. */
  delay?: number;
  /** An idempotency key: enqueuing again with the same key (within the dedupe window, 2 minutes) is the same task. */
  key?: string;
  encoding?: 'json' | 'msgpack';
}

/** A task enqueued: its id, and what became of it. */
export interface TaskHandle {
  readonly id: string;
  status(): Promise<TaskStatus>;
  /**
   * Waits for the task to end and resolves with its result [args, kwargs]; rejects with the last attempt's
   * error when it died, and with DEADLINE_EXCEEDED after `timeout` ms (60 s by default).
   */
  result(options?: { timeout?: number }): Promise<Envelope>;
}

export interface TaskClient {
  /** Stores the task in its work stream; rejects with UNKNOWN_PROCEDURE when no worker has ever declared it. */
  enqueue(task: string, args?: Args, kwargs?: Kwargs, options?: EnqueueOptions): Promise<TaskHandle>;
  /** Enqueues already encoded [args, kwargs] (a gateway forwarding a body); the headers go with it. */
  enqueueEncoded(task: string, body: Uint8Array, headers: MsgHdrs | undefined, options?: Omit<EnqueueOptions, 'encoding'>): Promise<TaskHandle>;
  /** A handle on a task enqueued earlier, by id. */
  handle(id: string): TaskHandle;
}

/** The longest delay an enqueue may ask for: a year (JetStream holds a task back by a delay in ns). */
export const MAX_DELAY_MS = 365 * 24 * 3600_000;

/** The longest key JetStream's Nats-Msg-Id is given: printable ASCII, no spaces. */
const KEY = /^[\x21-\x7e]{1,128}$/;

/** Throws INVALID_ARGUMENT for a key JetStream would not take or a delay that is not a number of ms. */
export function checkEnqueueOptions(options: Omit<EnqueueOptions, 'encoding'>): void {
  if (options.key !== undefined && !KEY.test(options.key)) throw new MeshError('INVALID_ARGUMENT', 'key must be 1 to 128 printable ASCII characters without spaces');
  if (options.delay !== undefined && !(Number.isFinite(options.delay) && options.delay >= 0 && options.delay <= MAX_DELAY_MS)) {
    throw new MeshError('INVALID_ARGUMENT', `delay must be a number of ms from 0 to ${MAX_DELAY_MS} (a year)`);
  }
}

/** What a failed write means for the enqueuer: no stream on the subject is no such task. */
function enqueueError(task: string, err: unknown): MeshError {
  if (err instanceof MeshError && err.code === 'NOT_FOUND') return new MeshError('UNKNOWN_PROCEDURE', `no task '${task}': no worker has declared it (or JetStream is off)`);
  const message = (err as Error | null)?.message ?? String(err);
  const kept = err instanceof MeshError && (err.code === 'DEADLINE_EXCEEDED' || err.code === 'PAYLOAD_TOO_LARGE');
  return new MeshError(kept ? err.code : 'UNAVAILABLE', `could not enqueue '${task}': ${message}`, { cause: err });
}

class Handle implements TaskHandle {
  constructor(
    private readonly store: TaskStore,
    readonly id: string,
  ) {}

  status(): Promise<TaskStatus> {
    return readStatus(this.store, this.id);
  }

  async result(options: { timeout?: number } = {}): Promise<Envelope> {
    const status = await waitForEnd(this.store, this.id, options.timeout ?? 60_000);
    if (status.state === 'succeeded') return status.result ?? [[], {}];
    throw status.error ? errorFromBody({ error: status.error }) : new MeshError('INTERNAL', `task ${this.id} is dead`);
  }
}

class Client implements TaskClient {
  constructor(private readonly store: TaskStore) {}

  enqueue(task: string, args: Args = [], kwargs: Kwargs = {}, options: EnqueueOptions = {}): Promise<TaskHandle> {
    const codec = options.encoding === 'msgpack' ? msgpackCodec : jsonCodec;
    // Headers only when there is one to send: a task message without any is read faster by its worker.
    let headers: MsgHdrs | undefined;
    if (codec === msgpackCodec) (headers ??= natsHeaders()).set(CONTENT_TYPE_HEADER, codec.contentType);
    // Inside a handler the task continues its trace: every attempt is a child of the enqueuing hop.
    const forwarded = runningCall()?.forwarded;
    for (const name of [TRACEPARENT_HEADER, TRACESTATE_HEADER] as const) {
      const value = forwarded?.[name];
      if (value !== undefined) (headers ??= natsHeaders()).set(name, value);
    }
    return this.enqueueEncoded(task, codec.encode([args, kwargs]), headers, options);
  }

  async enqueueEncoded(task: string, body: Uint8Array, headers: MsgHdrs | undefined, options: Omit<EnqueueOptions, 'encoding'> = {}): Promise<TaskHandle> {
    checkTaskName(task);
    checkEnqueueOptions(options);
    let sent = headers;
    if (options.delay) (sent ??= natsHeaders()).set(NOT_BEFORE_HEADER, String(Date.now() + Math.round(options.delay)));
    if (options.key !== undefined) (sent ??= natsHeaders()).set(MSG_ID_HEADER, options.key);
    try {
      const ack = await this.store.writer.written(this.store.names.subject(task), body, { headers: sent });
      return new Handle(this.store, taskId(task, ack.seq));
    } catch (err) {
      throw enqueueError(task, err);
    }
  }

  handle(id: string): TaskHandle {
    parseTaskId(id);
    return new Handle(this.store, id);
  }
}

/** A task client on a connection the caller owns, in a namespace (`nats.namespace`; none by default). */
export function createTaskClient(nc: NatsConnection, options: { namespace?: string | null } = {}): TaskClient {
  return createTaskClientOn(taskStore(nc, meshNamespace(options.namespace)));
}

/** A task client on a store already opened. */
export function createTaskClientOn(store: TaskStore): TaskClient {
  return new Client(store);
}
