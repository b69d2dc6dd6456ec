// The JetStream side of tasks, opened once per connection and namespace: the client handles, the per-task work
// stream with its shared durable consumer, the state bucket and the dead-letter stream. Workers create; enqueuers only use.
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import type { Namespace } from '../wire/namespace.ts';
import { taskNames, WORKER_CONSUMER, type TaskNames } from './names.ts';
import { createStreamWriter, type StreamWriter } from './stream-writer.ts';

/** How long JetStream remembers an enqueue key: the same key within it is the same task. */
export const DEDUPE_WINDOW_MS = 2 * 60_000;
/** How long what happened to a task stays readable in the state bucket. */
export const STATE_TTL_MS = 7 * 24 * 3600_000;
/** How long a dead task stays in the dead-letter stream. */
export const DEAD_TTL_MS = 30 * 24 * 3600_000;

export interface TaskStore {
  readonly nc: NatsConnection;
  readonly names: TaskNames;
  readonly js: JetStreamClient;
  /** Enqueues and state writes: publishes with a PubAck, leaner than `js.publish` (stream-writer.ts). */
  readonly writer: StreamWriter;
  jsm(): Promise<JetStreamManager>;
  /** Makes the state bucket and the dead-letter stream when missing (a worker, at start). */
  prepare(): Promise<KV>;
  /** Makes a task's work stream and consumer when missing; a claim lasts `claimMs` without a sign of life. */
  prepareTask(task: string, claimMs: number): Promise<void>;
}

const stores = new WeakMap<NatsConnection, Map<string, TaskStore>>();

function isMissing(err: unknown): boolean {
  return /not found/i.test((err as Error | null)?.message ?? '');
}

class Store implements TaskStore {
  readonly names: TaskNames;
  private client: JetStreamClient | undefined;
  private streamWriter: StreamWriter | undefined;
  private manager: Promise<JetStreamManager> | undefined;

  constructor(
    readonly nc: NatsConnection,
    namespace: Namespace,
  ) {
    this.names = taskNames(namespace);
  }

  /**
   * Made at first use: a host whose service neither declares nor enqueues a task never touches JetStream. No
   * `$JS.API.INFO` probe (also the one Kvm's create makes): a process whose NATS user has only its own tasks' subjects may not ask it.
   */
  get js(): JetStreamClient {
    return (this.client ??= jetstream(this.nc, { checkAPI: false }));
  }

  get writer(): StreamWriter {
    return (this.streamWriter ??= createStreamWriter(this.nc));
  }

  jsm(): Promise<JetStreamManager> {
    return (this.manager ??= jetstreamManager(this.nc, { checkAPI: false }).catch((err: unknown) => {
      this.manager = undefined;
      throw err;
    }));
  }

  async prepare(): Promise<KV> {
    const jsm = await this.jsm();
    const { deadStream, deadSubjects, bucket } = this.names;
    try {
      await jsm.streams.info(deadStream);
    } catch (err) {
      if (!isMissing(err)) throw err;
      await jsm.streams.add({
        name: deadStream,
        subjects: [deadSubjects],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(DEAD_TTL_MS),
        allow_direct: true,
      });
    }
    return new Kvm(this.js).create(bucket, { history: 1, ttl: STATE_TTL_MS, storage: StorageType.File });
  }

  async prepareTask(task: string, claimMs: number): Promise<void> {
    const jsm = await this.jsm();
    const stream = this.names.stream(task);
    try {
      await jsm.streams.info(stream);
    } catch (err) {
      if (!isMissing(err)) throw err;
      await jsm.streams.add({
        name: stream,
        subjects: [this.names.subject(task)],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(DEDUPE_WINDOW_MS),
        allow_direct: true,
      });
    }
    // Every instance declares the same consumer: adding it again with the same settings is a no-op, and an
    // instance with a new claim time updates it. Unlimited ack-pending: retries waiting out their backoff count there.
    const consumer = {
      durable_name: WORKER_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(claimMs),
      max_deliver: -1,
      max_ack_pending: -1,
    };
    try {
      await jsm.consumers.add(stream, consumer);
    } catch {
      await jsm.consumers.update(stream, WORKER_CONSUMER, { ack_wait: consumer.ack_wait });
    }
  }
}

/** The task store of a connection and namespace, shared by every worker and enqueuer on it. */
export function taskStore(nc: NatsConnection, namespace: Namespace): TaskStore {
  let byNamespace = stores.get(nc);
  if (!byNamespace) stores.set(nc, (byNamespace = new Map()));
  let store = byNamespace.get(namespace.name ?? '');
  if (!store) byNamespace.set(namespace.name ?? '', (store = new Store(nc, namespace)));
  return store;
}
