// Runs one task's queue in this process: pulls from the shared durable consumer only as many tasks as it has free
// slots, keeps each claim alive while it runs, writes what happened to the state bucket, retries with backoff
// (a `nak` with delay) and buries what cannot succeed. What a task does is the `run` function's business.
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { codecForContentType, jsonCodec, jsonFits, jsonText } from '../wire/codec.ts';
import { MAX_DEPTH } from '../wire/depth.ts';
import { parseEnvelope, type Args, type Envelope, type Kwargs } from '../wire/envelope.ts';
import { MeshError, withErrorId } from '../wire/errors.ts';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER, type Forwarded } from '../wire/propagation.ts';
import type { Logger } from '../process/logger.ts';
import { bury, keptBody } from './dead-letter.ts';
import { publishSucceeded, publishTaskEvent, type TaskEvent } from './events.ts';
import { NOT_BEFORE_HEADER, taskId, WORKER_CONSUMER } from './names.ts';
import { retryDelay, type RetryPolicy } from './retry.ts';
import { emptyStatus, statusOfEntry, succeededRecord, type TaskStatus } from './state.ts';
import type { TaskStore } from './store.ts';
import type { WriteDone } from './stream-writer.ts';
import { isThenable } from '../process/thenable.ts';

/** One attempt at a task, as the run function gets it. */
export interface TaskAttempt {
  readonly id: string;
  readonly task: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly args: Args;
  readonly kwargs: Kwargs;
  /** The enqueuer's trace context, when it had one. */
  readonly forwarded: Forwarded;
  /** Records progress for the task's status and tells its listeners; ignored once the attempt has ended. */
  progress(value: unknown): void;
}

export interface WorkerOptions {
  store: TaskStore;
  /** `<service>.<method>`. */
  task: string;
  /** At most this many of the task's attempts run at once in this process (a whole number from 1: @task's options are checked). */
  concurrency: number;
  retries: RetryPolicy;
  /** An attempt running longer than this fails (its handler is no longer waited for). */
  timeoutMs: number;
  /** How long a claim lasts without a sign of life: a worker killed mid-task loses its tasks after this. */
  claimMs: number;
  /**
   * Whether a success is recorded in the state bucket (with its result) before its ack. When not, an attempt that
   * succeeds with nothing recorded of its task yet is acked at once; one that has a record (running, progress, an
   * earlier failure) still gets its end written, with a null result, so that no status is left behind.
   */
  keepResults: boolean;
  logger: Logger;
  /**
   * Runs an attempt and returns (or resolves with) its reply [args, kwargs]. An INVALID_ARGUMENT thrown before
   * the handler starts (arguments the schema refuses) buries the task at once: trying again cannot help.
   */
  run(attempt: TaskAttempt): Envelope | PromiseLike<Envelope>;
}

/** What a worker has done since it started. */
export interface TaskCounters {
  running: number;
  succeeded: number;
  /** Attempts that failed (each retried or buried). */
  failed: number;
  retried: number;
  dead: number;
  /** Attempt durations as `$SRV.STATS` latencies are sent: cumulative counts per bound in seconds, +Inf last. */
  duration: { buckets_s: number[]; counts: number[]; sum_s: number };
}

export interface TaskWorker {
  readonly task: string;
  counters(): TaskCounters;
  /** Stops pulling, lets running attempts finish for up to `graceMs`, then hands the rest back at once. */
  stop(graceMs: number): Promise<void>;
}

/** How long one pull waits for tasks before asking again. */
const PULL_EXPIRES_MS = 5_000;
/** An attempt still running after this is marked running in the state bucket (a shorter one goes straight to its end). */
const MARK_RUNNING_MS = 250;
const DURATION_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];

/** An attempt in progress. */
interface Running {
  readonly msg: JsMsg;
  readonly status: TaskStatus;
  readonly started: number;
  readonly body: Uint8Array;
  /** Set once the attempt's outcome is settled (or it was handed back): later results and progress are ignored. */
  over: boolean;
  /** Whether the attempt has written to the state bucket (running, progress). */
  written: boolean;
  /** Whether the attempt has been marked running (it ran MARK_RUNNING_MS). */
  marked: boolean;
}

/** An event as the worker states it: what happened, and when when it is not now. */
type AnnouncedEvent = Omit<TaskEvent, 'id' | 'task' | 'attempt' | 'at'> & { at?: string };

/**
 * `new Date(ms).toISOString()`, remembered for the last instant asked: a busy worker asks for the same millisecond
 * many times a turn (each task's start and end, and its enqueue time, tasks enqueued together sharing one).
 */
function isoTime(): (ms: number) => string {
  let last = Number.NaN;
  let text = '';
  return (ms) => {
    if (ms !== last) {
      last = ms;
      text = new Date(ms).toISOString();
    }
    return text;
  };
}

class Worker implements TaskWorker {
  readonly task: string;
  private free: number;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** The pulls still open, each read until it ends; with what the running attempts hold, they ask for at most `concurrency`. */
  private readonly pulls = new Set<ConsumerMessages>();
  private readonly reading = new Set<Promise<void>>();
  /** Tasks asked for by the open pulls and not delivered yet. */
  private requested = 0;
  private consumer: Consumer | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly running = new Set<Running>();
  /** Attempts that have ended and whose outcome is still being written (state, then ack or retry). */
  private recording = 0;
  /** What is left to do at the end of this turn (acks and events after state writes), in order. */
  private turnSteps: (() => void)[] = [];
  private idle: (() => void) | undefined;
  /** While attempts run, the one timer that looks at them (`watch`). */
  private watcher: NodeJS.Timeout | undefined;
  /** When the running attempts' claims are next renewed (performance.now()). */
  private renewAt = 0;
  private readonly stats: Omit<TaskCounters, 'duration'>;
  /** Attempts per duration bucket (not cumulative; the last is over every bound), and their total in ms. */
  private readonly durationCounts = new Array<number>(DURATION_BOUNDS_MS.length + 1).fill(0);
  private durationSumMs = 0;
  private readonly nowText = isoTime();
  private readonly enqueuedText = isoTime();

  constructor(
    private readonly options: WorkerOptions,
    private readonly bucket: KV,
  ) {
    this.task = options.task;
    this.free = options.concurrency;
    this.stats = { running: 0, succeeded: 0, failed: 0, retried: 0, dead: 0 };
  }

  start(): void {
    this.loopDone = this.loop();
  }

  counters(): TaskCounters {
    let total = 0;
    const counts = this.durationCounts.map((n) => (total += n));
    return { ...this.stats, running: this.running.size, duration: { buckets_s: DURATION_BOUNDS_MS.map((ms) => ms / 1000), counts, sum_s: this.durationSumMs / 1000 } };
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wakeUp();
    await Promise.all([...this.pulls].map((pull) => pull.close().catch(() => undefined)));
    await this.loopDone;
    if (this.running.size > 0 || this.recording > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (this.idle = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    for (const attempt of this.running) {
      this.options.logger.warn({ task: this.task, id: attempt.status.id }, 'task still running at stop: handed back');
      this.end(attempt);
      attempt.msg.nak();
    }
  }

  /**
   * Keeps pulls open for the free slots: one as soon as a slot is free and none is open, so a new task starts at once;
   * more only for half the slots at a time, so that short tasks do not cost a pull each. A pull runs while the loop
   * goes on, so slots that free up meanwhile are asked for without waiting for it to fill or expire.
   */
  private async loop(): Promise<void> {
    const batch = Math.max(1, Math.floor(this.options.concurrency / 2));
    while (!this.stopping) {
      const wanted = this.free - this.requested;
      if (wanted > 0 && (this.requested === 0 || wanted >= batch)) {
        try {
          await this.openPull(wanted);
        } catch (err) {
          if (this.stopping) break;
          this.options.logger.warn({ err, task: this.task }, 'could not pull tasks; trying again in a second');
          this.consumer = undefined;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    await Promise.all(this.reading);
  }

  private async openPull(count: number): Promise<void> {
    const { store, task } = this.options;
    this.consumer ??= await store.js.consumers.get(store.names.stream(task), WORKER_CONSUMER);
    const pull = await this.consumer.fetch({ max_messages: count, expires: PULL_EXPIRES_MS });
    this.requested += count;
    this.pulls.add(pull);
    const reading = this.read(pull, count);
    this.reading.add(reading);
    void reading.finally(() => this.reading.delete(reading));
  }

  /** Takes what one pull delivers; when it ends, what it did not deliver is asked for again. */
  private async read(pull: ConsumerMessages, count: number): Promise<void> {
    let delivered = 0;
    try {
      for await (const msg of pull) {
        delivered++;
        this.requested--;
        if (this.stopping) msg.nak();
        else this.take(msg);
        // a delayed task takes no slot: its place can be asked for again
        this.wakeUp();
      }
    } catch (err) {
      if (!this.stopping) {
        this.options.logger.warn({ err, task: this.task }, 'a pull of tasks failed; pulling again in a second');
        this.consumer = undefined;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    } finally {
      this.requested -= count - delivered;
      this.pulls.delete(pull);
      this.wakeUp();
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Starts an attempt at a delivered task; never throws (a failure here fails the attempt). */
  private take(msg: JsMsg): void {
    const { info, headers } = msg;
    const id = taskId(this.task, info.streamSequence);
    const notBefore = Number(headers?.get(NOT_BEFORE_HEADER) ?? 0);
    const wait = notBefore - Date.now();
    if (wait > 0 && info.deliveryCount === 1) {
      // A delayed task arrives at once and is held by JetStream until its time: no slot, no attempt counted.
      msg.nak(wait);
      return;
    }
    const attemptNo = notBefore > 0 ? Math.max(1, info.deliveryCount - 1) : info.deliveryCount;
    const status: TaskStatus = {
      ...emptyStatus(id, this.task),
      attempts: attemptNo,
      enqueued_at: this.enqueuedText(Math.floor(info.timestampNanos / 1e6)),
      started_at: this.now(),
    };
    const attempt: Running = { msg, status, started: performance.now(), body: msg.data, over: false, written: false, marked: false };
    this.free--;
    this.running.add(attempt);
    this.startWatching();
    try {
      const codec = codecForContentType(headers?.get('Content-Type'));
      if (!codec) throw new MeshError('INVALID_ARGUMENT', `unsupported Content-Type '${headers?.get('Content-Type')}'`);
      const [args, kwargs] = parseEnvelope(codec.decode(msg.data));
      const forwarded: Record<string, string> = {};
      for (const name of [TRACEPARENT_HEADER, TRACESTATE_HEADER] as const) {
        const value = headers?.get(name);
        if (value) forwarded[name] = value;
      }
      const progress = (value: unknown) => this.write(attempt, { state: 'running', progress: value }, { event: 'progress', progress: value });
      const result = this.options.run({ id, task: this.task, attempt: attemptNo, args, kwargs, forwarded, progress });
      if (!isThenable(result)) return void this.succeed(attempt, result);
      Promise.resolve(result).then(
        (value) => this.succeed(attempt, value),
        (err: unknown) => this.fail(attempt, err, false),
      );
    } catch (err) {
      // Before the handler ran: an argument the schema refuses, or a body that is not [args, kwargs].
      this.fail(attempt, err, err instanceof MeshError && err.code === 'INVALID_ARGUMENT');
    }
  }

  /**
   * Writes the success to the state bucket (unless the task keeps no results), then acks the task and tells its
   * listeners, together with the other acks of the turn (one socket write for all). A success that cannot be written
   * is run again when its claim lapses.
   */
  private succeed(attempt: Running, result: Envelope): void {
    if (!this.end(attempt, true)) return;
    const { logger } = this.options;
    const { id } = attempt.status;
    const notWritten = (err: unknown) => {
      logger.error({ err, task: this.task, id }, 'could not record a task that succeeded; it will run again when its claim lapses');
      this.recorded();
    };
    const at = this.now();
    const { store, keepResults } = this.options;
    try {
      // The result is written as JSON once, for the record and the event both; the event (`[[], event]`) holds it a
      // level deeper than the record does, so one at the record's limit goes without it.
      const resultText = jsonText(result, MAX_DEPTH - 1);
      const eventResult = jsonFits(result, resultText, MAX_DEPTH - 2) ? resultText : undefined;
      const acked = () =>
        this.afterTurn(() => {
          try {
            attempt.msg.ack();
            this.stats.succeeded++;
            publishSucceeded(store, { id, task: this.task, attempt: attempt.status.attempts, at }, eventResult, logger);
          } finally {
            this.recorded();
          }
        });
      if (!keepResults && attempt.status.attempts === 1 && !attempt.written) return acked();
      const record = succeededRecord(attempt.status, at, keepResults ? resultText : 'null');
      store.writer.write(store.names.stateSubject(id), record, { batched: true }, (err) => (err ? notWritten(err) : acked()));
    } catch (err) {
      notWritten(err);
    }
  }

  /** Now in ISO 8601. */
  private now(): string {
    return this.nowText(Date.now());
  }

  /** Runs `step` at the end of this event-loop turn, with the other steps of the turn: their publishes go in one write. */
  private afterTurn(step: () => void): void {
    if (this.turnSteps.push(step) === 1) setImmediate(this.runTurnSteps);
  }

  private readonly runTurnSteps = (): void => {
    const steps = this.turnSteps;
    this.turnSteps = [];
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        this.options.logger.error({ err, task: this.task }, 'could not ack a task; it will run again when its claim lapses');
      }
    }
  };

  /** Retries the task after its backoff, or buries it when out of retries or unrunnable. Never throws. */
  private async fail(attempt: Running, err: unknown, unrunnable: boolean): Promise<void> {
    if (!this.end(attempt, true)) return;
    const { logger, retries } = this.options;
    const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'the task failed', { cause: err });
    withErrorId(error);
    const { status } = attempt;
    logger.error({ err, task: this.task, id: status.id, attempt: status.attempts, error_id: error.id }, 'task attempt failed');
    this.stats.failed++;
    try {
      const earlier = status.attempts > 1 ? (statusOfEntry(await this.bucket.get(status.id))?.errors ?? []) : [];
      const errors = [...earlier, { attempt: status.attempts, error: error.toBody().error, at: new Date().toISOString() }];
      const outOfRetries = status.attempts > retries.max;
      if (!unrunnable && !outOfRetries) {
        const delay = retryDelay(retries, status.attempts);
        await this.finish(attempt, { state: 'failed', error: error.toBody().error, errors });
        attempt.msg.nak(delay);
        this.stats.retried++;
        this.announce(attempt, { event: 'failed', error: error.toBody().error, retry_in_ms: delay });
        return;
      }
      const reason = unrunnable ? `cannot run: ${error.message}` : `failed ${status.attempts} attempt${status.attempts === 1 ? '' : 's'}`;
      const died = new Date().toISOString();
      await bury(this.options.store, {
        id: status.id,
        task: this.task,
        reason,
        attempts: status.attempts,
        errors,
        ...keptBody(attempt.body, attempt.msg.headers),
        enqueued_at: status.enqueued_at!,
        died_at: died,
      });
      await this.finish(attempt, { state: 'dead', error: error.toBody().error, errors, finished_at: died });
      attempt.msg.ack();
      this.stats.dead++;
      this.announce(attempt, { event: 'dead', error: error.toBody().error, at: died });
    } catch (writeErr) {
      logger.error({ err: writeErr, task: this.task, id: status.id }, 'could not record a failed task; it will run again when its claim lapses');
    } finally {
      this.recorded();
    }
  }

  /**
   * Ends an attempt's hold on its slot, once; false when it had already ended (a late result, or handed back).
   * With `recording`, its outcome is being written: a stop waits for that (`recorded()`) too.
   */
  private end(attempt: Running, recording = false): boolean {
    if (attempt.over) return false;
    attempt.over = true;
    if (recording) this.recording++;
    this.running.delete(attempt);
    const ms = performance.now() - attempt.started;
    let bucket = 0;
    while (bucket < DURATION_BOUNDS_MS.length && ms > DURATION_BOUNDS_MS[bucket]!) bucket++;
    this.durationCounts[bucket]!++;
    this.durationSumMs += ms;
    this.free++;
    this.wakeUp();
    if (this.running.size === 0) {
      clearInterval(this.watcher);
      this.watcher = undefined;
    }
    this.checkIdle();
    return true;
  }

  private recorded(): void {
    this.recording--;
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.running.size === 0 && this.recording === 0) this.idle?.();
  }

  /**
   * Writes the attempt's status with `change` to the state bucket, together with the other writes of this turn; `done`
   * hears how it went. Throws when the status cannot be encoded.
   */
  private writeState(attempt: Running, change: Partial<TaskStatus>, done: WriteDone): void {
    const { store } = this.options;
    store.writer.write(store.names.stateSubject(attempt.status.id), jsonCodec.encode({ ...attempt.status, ...change }), { batched: true }, done);
  }

  /** The attempt's final word in the state bucket (failed, dead), once written. */
  private finish(attempt: Running, change: Partial<TaskStatus>): Promise<void> {
    return new Promise((resolve, reject) => this.writeState(attempt, change, (err) => (err ? reject(err) : resolve())));
  }

  /** A word while the attempt runs (running, progress), and its event: dropped once it has ended, and never fatal. */
  private write(attempt: Running, change: Partial<TaskStatus>, event: AnnouncedEvent): void {
    if (attempt.over) return;
    attempt.written = true;
    Object.assign(attempt.status, change);
    const { id } = attempt.status;
    this.writeState(attempt, {}, (err) => {
      if (err) this.options.logger.warn({ err, task: this.task, id }, 'could not record a running task');
    });
    this.announce(attempt, event);
  }

  /** Tells listeners of the task (`mesh.tasks.<id>`) what just happened to the attempt. */
  private announce(attempt: Running, event: AnnouncedEvent): void {
    const { id, task, attempts } = attempt.status;
    publishTaskEvent(this.options.store, { id, task, attempt: attempts, at: this.now(), ...event }, this.options.logger);
  }

  /**
   * While attempts run, one timer looks at them a few times per MARK_RUNNING_MS (or per timeout, when shorter) instead
   * of two timers an attempt: see `watch`.
   */
  private startWatching(): void {
    if (this.watcher) return;
    this.renewAt = performance.now() + this.renewMs;
    this.watcher = setInterval(this.watch, Math.max(5, Math.floor(Math.min(MARK_RUNNING_MS, this.options.timeoutMs) / 4)));
  }

  /** How often claims are renewed: a few times per claim period. */
  private get renewMs(): number {
    return Math.max(100, Math.floor(this.options.claimMs / 3));
  }

  /**
   * Marks an attempt running once it ran MARK_RUNNING_MS, fails one that ran past its timeout (each at most a tick
   * late), and renews every claim when due (`working()`, an in-progress ack).
   */
  private readonly watch = (): void => {
    const now = performance.now();
    const renew = now >= this.renewAt;
    if (renew) this.renewAt = now + this.renewMs;
    const { timeoutMs, logger } = this.options;
    for (const attempt of this.running) {
      const ran = now - attempt.started;
      if (ran >= timeoutMs) {
        this.fail(attempt, new MeshError('DEADLINE_EXCEEDED', `${this.task} ran longer than its timeout (${timeoutMs} ms)`), false);
        continue;
      }
      if (!attempt.marked && ran >= MARK_RUNNING_MS) {
        attempt.marked = true;
        this.write(attempt, { state: 'running' }, { event: 'running' });
      }
      if (!renew) continue;
      try {
        attempt.msg.working();
      } catch (err) {
        logger.warn({ err, task: this.task }, 'could not renew a task claim');
      }
    }
  };
}

/** Prepares the task's stream, consumer and state bucket, and starts pulling. */
export async function startWorker(options: WorkerOptions): Promise<TaskWorker> {
  const { store, task, claimMs } = options;
  const bucket = await store.prepare();
  await store.prepareTask(task, claimMs);
  const worker = new Worker(options, bucket);
  worker.start();
  return worker;
}
