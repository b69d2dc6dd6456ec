// Writes messages to JetStream streams the lean way: one inbox subscription for every PubAck, a map of writes
// waiting for theirs and one coarse timer, and, when asked, the writes of one event-loop turn published together.
// It stores nothing itself and knows no task: what a write means is its caller's business (enqueue.ts, worker.ts).
//
// Why not `js.publish`: nats.js makes each publish a request, which builds two Error objects (for their stack traces)
// and a timer per write; a worker writing a task's state per attempt spent 13% of its CPU there (.scratch profile,
// 20,000 tiny tasks). Batching a turn's writes saves a socket write per task (24% of that CPU went to writes).
import { createInbox, errors, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefixOf } from '../process/connection.ts';
import type { Logger } from '../process/logger.ts';
import { subscribe, watchStatus } from '../process/nats-callbacks.ts';
import { MeshError } from '../wire/errors.ts';

/** What a stream answers for a message it stored: where, at which sequence, and whether it was a duplicate. */
export interface PubAck {
  stream: string;
  seq: number;
  /** The message's Nats-Msg-Id was seen within the stream's duplicate window: `seq` is the first one's. */
  duplicate: boolean;
}

/**
 * Called once per write: with the PubAck, or with why it was not stored: NOT_FOUND (no stream takes the subject),
 * PAYLOAD_TOO_LARGE (over the server's max_payload: not sent), UNAVAILABLE (the stream refused it, or the connection
 * is gone), DEADLINE_EXCEEDED (no answer in time: it may be stored).
 */
export type WriteDone = (err: MeshError | undefined, ack: PubAck | undefined) => void;

export interface WriteOptions {
  headers?: MsgHdrs | undefined;
  /** Publish at the end of this event-loop turn, with the other writes made in it (one socket write for all). */
  batched?: boolean;
}

export interface StreamWriter {
  write(subject: string, payload: Uint8Array, options: WriteOptions, done: WriteDone): void;
  /** The same write as a promise of its PubAck. */
  written(subject: string, payload: Uint8Array, options?: WriteOptions): Promise<PubAck>;
}

/** How long a write waits for its PubAck (JetStream's own default is 5 s). */
const ACK_TIMEOUT_MS = 5_000;
/** How often writes waiting too long are failed. */
const SWEEP_MS = 250;

interface Waiting {
  readonly subject: string;
  readonly done: WriteDone;
  readonly expires: number;
}

interface Outgoing {
  readonly token: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/** What a stream's answer to a write on `subject` says: its PubAck, or the error it names. */
function readAck(msg: Msg, subject: string): PubAck | MeshError {
  // No stream listens on the subject: the server answers "no responders", a 503 status without a body.
  if (msg.data.length === 0 && msg.headers?.code === 503) return new MeshError('NOT_FOUND', `no stream takes subject ${subject}`);
  let reply: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: { description?: unknown } };
  try {
    reply = msg.json();
  } catch {
    return new MeshError('UNAVAILABLE', 'the stream answered something that is not a PubAck');
  }
  if (reply.error) return new MeshError('UNAVAILABLE', `the stream refused the write: ${String(reply.error.description ?? 'no reason given')}`);
  if (typeof reply.stream !== 'string' || !Number.isSafeInteger(reply.seq)) return new MeshError('UNAVAILABLE', 'the stream answered something that is not a PubAck');
  return { stream: reply.stream, seq: reply.seq as number, duplicate: reply.duplicate === true };
}

class Writer implements StreamWriter {
  private readonly prefix: string;
  private readonly waiting = new Map<string, Waiting>();
  private outbox: Outgoing[] = [];
  private nextToken = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    logger: Logger | undefined,
  ) {
    this.prefix = `${createInbox(inboxPrefixOf(nc))}.`;
    const guard = { logger, about: { inbox: this.prefix } };
    subscribe(nc, `${this.prefix}*`, {}, guard, (msg) => this.onAck(msg));
    const lost = (why: string) => this.failAll(new MeshError('UNAVAILABLE', `${why} before the stream answered (the write may be stored)`));
    watchStatus(
      nc,
      guard,
      (status) => status.type === 'disconnect' && lost('NATS connection lost'),
      () => lost('NATS connection closed'),
    );
  }

  write(subject: string, payload: Uint8Array, options: WriteOptions, done: WriteDone): void {
    if (this.nc.isClosed()) return done(new MeshError('UNAVAILABLE', 'NATS connection is closed'), undefined);
    const token = (this.nextToken++).toString(36);
    this.waiting.set(token, { subject, done, expires: Date.now() + ACK_TIMEOUT_MS });
    this.sweeper ??= setInterval(this.sweep, SWEEP_MS).unref();
    if (!options.batched) this.publish({ token, subject, payload, headers: options.headers });
    else if (this.outbox.push({ token, subject, payload, headers: options.headers }) === 1) setImmediate(this.publishOutbox);
  }

  written(subject: string, payload: Uint8Array, options: WriteOptions = {}): Promise<PubAck> {
    return new Promise((resolve, reject) => this.write(subject, payload, options, (err, ack) => (err ? reject(err) : resolve(ack!))));
  }

  private publish({ token, subject, payload, headers }: Outgoing): void {
    try {
      this.nc.publish(subject, payload, { reply: this.prefix + token, headers });
    } catch (err) {
      // Refused before it left: a payload over the server's max_payload (the writer's own fault: 413), a closed connection.
      const tooLarge = err instanceof errors.InvalidArgumentError && /max_payload/.test(err.message);
      this.settle(token)?.(new MeshError(tooLarge ? 'PAYLOAD_TOO_LARGE' : 'UNAVAILABLE', `cannot publish: ${(err as Error).message}`, { cause: err }), undefined);
    }
  }

  private readonly publishOutbox = (): void => {
    const outbox = this.outbox;
    this.outbox = [];
    // a write failed meanwhile (the connection lost) is not sent
    for (const outgoing of outbox) if (this.waiting.has(outgoing.token)) this.publish(outgoing);
  };

  private onAck(msg: Msg): void {
    const entry = this.take(msg.subject.slice(this.prefix.length));
    if (!entry) return;
    const ack = readAck(msg, entry.subject);
    if (ack instanceof MeshError) entry.done(ack, undefined);
    else entry.done(undefined, ack);
  }

  private take(token: string): Waiting | undefined {
    const entry = this.waiting.get(token);
    if (!entry) return undefined;
    this.waiting.delete(token);
    if (this.waiting.size === 0) this.stopSweeping();
    return entry;
  }

  private settle(token: string): WriteDone | undefined {
    return this.take(token)?.done;
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const [token, { expires }] of this.waiting) {
      if (expires <= now) this.settle(token)?.(new MeshError('DEADLINE_EXCEEDED', `the stream did not answer within ${ACK_TIMEOUT_MS} ms (the write may be stored)`), undefined);
    }
  };

  private stopSweeping(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private failAll(err: MeshError): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    this.stopSweeping();
    for (const { done } of waiting) done(err, undefined);
  }
}

/** A writer on a connection the caller owns; its inbox subscription lasts as long as the connection. */
export function createStreamWriter(nc: NatsConnection, logger?: Logger): StreamWriter {
  return new Writer(nc, logger);
}
