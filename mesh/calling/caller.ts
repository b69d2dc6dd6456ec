// The lean request mux shared by the gateways and the client: one wildcard inbox subscription, a map of
// pending requests and one coarse timer for every deadline. It moves bytes; encoding is the caller's job.
// Every request carries its deadline (`Mesh-Deadline`), so the responder and its own calls know it.
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { MeshError } from '../wire/errors.ts';
import { HEARTBEAT_HEADER, isHeartbeat, silenceLimitMs } from '../wire/heartbeat.ts';
import { meshNamespace, type Namespace } from '../wire/namespace.ts';
import { sealedWith, sealHeaders } from '../wire/sealed-headers.ts';
import { tracingOn } from '../observability/tracing.ts';
import { DEADLINE_HEADER, headersWith, TRACEPARENT_HEADER, TRACESTATE_HEADER } from '../wire/propagation.ts';
import type { Logger } from '../process/logger.ts';
import { inboxPrefixOf } from '../process/connection.ts';
import { subscribe, watchStatus } from '../process/nats-callbacks.ts';
import { cancelHeaders, cancelSubject, type CancelMode } from '../wire/cancel.ts';
import { isProgress, STREAM_HEADER } from '../wire/stream.ts';

export interface RequestOptions {
  /** Per-request timeout; defaults to the caller's timeoutMs. */
  timeoutMs?: number;
  /**
   * An absolute deadline (ms since the epoch) inherited from the request being served; takes the place of
   * timeoutMs. One already past fails at once with DEADLINE_EXCEEDED and nothing is published.
   */
  deadline?: number;
  headers?: MsgHdrs;
  /** Aborting cancels the request (see `cancel`); a late reply is dropped. */
  signal?: AbortSignal;
  /**
   * What aborting the signal does, in WAMP's terms: `killnowait` (the default) rejects with CANCELED at once and tells
   * the responder to abort its handler; `kill` tells it too but waits for its answer (normally CANCELED) until the
   * deadline; `skip` rejects at once and tells the responder nothing. An abort whose reason is one of these three
   * words takes that mode instead (a WAMP CANCEL names its mode only when it comes).
   */
  cancel?: 'skip' | CancelMode;
  /**
   * Asks for progressive results (`Mesh-Stream: 1`): each one the responder sends comes here, in order, before the
   * promise settles with the final reply. They also show the responder is alive, as heartbeats do.
   */
  onProgress?: (msg: Msg) => void;
  /** The trace context of the request's span (`traceparent`, `tracestate`), added to its headers while tracing is on. */
  trace?: TraceHeaders;
}

export interface TraceHeaders {
  traceparent: string;
  tracestate?: string | undefined;
}

const CANCEL_CHOICES: ReadonlySet<unknown> = new Set(['skip', 'kill', 'killnowait']);
const isCancelChoice = (reason: unknown): reason is 'skip' | CancelMode => CANCEL_CHOICES.has(reason);

/** The (sealed, shared) headers with the request's own trace context added, for this request only. */
function withTrace(headers: MsgHdrs, trace: TraceHeaders): MsgHdrs {
  return sealedWith(headers, { [TRACEPARENT_HEADER]: trace.traceparent, [TRACESTATE_HEADER]: trace.tracestate });
}

export interface Caller {
  /** Sends a request to a name (on its subject under the caller's namespace) and resolves with the reply message, or rejects with a MeshError. */
  request(subject: string, payload: Uint8Array, options?: RequestOptions): Promise<Msg>;
  /** The NATS subject a request to a name goes to: the name under the caller's namespace. */
  subjectOf(name: string): string;
  /** False while the NATS connection is down; requests then fail at once with UNAVAILABLE. */
  readonly connected: boolean;
  /** Rejects what is pending and unsubscribes; the connection stays open. */
  close(): void;
}

export interface CallerOptions {
  timeoutMs: number;
  /** Where a failure inside the reply subscription is logged; without one, it is a process warning. */
  logger?: Logger;
  /** How often deadlines are checked; a deadline fires at most this late. */
  tickMs?: number;
  /** Where its replies come; by default the connection's (`nats.inboxPrefix`, connection.ts's inboxPrefixOf). */
  inboxPrefix?: string;
  /** The namespace (`nats.namespace`) whose subjects requests go to; none by default. */
  namespace?: string | null;
  /**
   * What the registry knows of a subject: undefined when it is no known procedure. A request to a known procedure
   * that nothing answers right now is UNAVAILABLE (its instances are away, e.g. reconnecting), not
   * UNKNOWN_PROCEDURE. When its instances promise heartbeats, a request asks for them and fails with UNAVAILABLE
   * when neither a reply nor a heartbeat comes in time: the instance that took it is gone. A request to any other
   * subject is watched the same way once its first heartbeat comes.
   */
  known?: (subject: string) => KnownProcedure | undefined;
  /**
   * Publish the requests made in one turn of the event loop together, at its end. nats.js writes to its socket once
   * per microtask checkpoint, and a gateway makes each request in a callback of its own (one per HTTP connection or
   * websocket that had data): published at once, each request would cost a write of its own. A caller whose
   * requests already come in batches (replies read together, each making the next request) gains nothing from it.
   */
  coalesce?: boolean;
}

export interface KnownProcedure {
  /** The heartbeat interval every instance promises, or undefined when not all of them do. */
  readonly heartbeatMs: number | undefined;
}

interface OutgoingHeaders {
  deadline: number;
  /** Sealed sets by what they ask for: 1 heartbeats, 2 progressive results, 3 both. */
  sets: MsgHdrs[];
}

/** A request built and waiting for the outbox to be published. */
interface Outgoing {
  token: string;
  subject: string;
  payload: Uint8Array;
  headers: MsgHdrs;
}

interface Pending {
  subject: string;
  onProgress?: (msg: Msg) => void;
  /** Once published: the subject its cancel goes to, so that aborting can tell the responder. */
  published?: boolean;
  /** The deadline bucket holding this request's token. */
  tick: number;
  /** The bucket at which silence from the responder means it is gone, when heartbeats are expected. */
  silenceTick?: number;
  resolve(msg: Msg): void;
  reject(err: MeshError): void;
  cleanup?: () => void;
}

class MuxCaller implements Caller {
  private readonly pending = new Map<string, Pending>();
  /** Tokens by the tick at which they expire; swept in order, so no timer per request. */
  private readonly deadlines = new Map<number, Set<string>>();
  private readonly prefix: string;
  private readonly namespace: Namespace;
  private readonly tickMs: number;
  private readonly timeoutMs: number;
  private readonly known: ((subject: string) => KnownProcedure | undefined) | undefined;
  /** Request headers with the deadline (and heartbeat) headers added, by the headers a request came with. */
  private readonly outgoing = new WeakMap<MsgHdrs, OutgoingHeaders>();
  /** The key of `outgoing` for a request that came with no headers. */
  private readonly noHeaders: MsgHdrs = natsHeaders();
  private readonly coalesce: boolean;
  /** With coalesce, the requests made since the outbox was last published, in order. */
  private outbox: Outgoing[] = [];
  private nextToken = 0;
  private sweptTick: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  connected = true;

  constructor(
    private readonly nc: NatsConnection,
    options: CallerOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
    this.tickMs = options.tickMs ?? 50;
    this.known = options.known;
    this.coalesce = options.coalesce ?? false;
    this.namespace = meshNamespace(options.namespace);
    this.sweptTick = this.tickNow();
    this.prefix = `${createInbox(options.inboxPrefix ?? inboxPrefixOf(nc))}.`;
    const guard = { logger: options.logger, about: { inbox: this.prefix } };
    subscribe(nc, `${this.prefix}*`, {}, guard, (msg) => this.onReply(msg));
    watchStatus(
      nc,
      guard,
      (status) => {
        if (status.type === 'disconnect') {
          this.connected = false;
          this.failAll(new MeshError('UNAVAILABLE', 'NATS connection lost before the reply'));
        } else if (status.type === 'reconnect') {
          this.connected = true;
        }
      },
      () => {
        this.connected = false;
        this.failAll(new MeshError('UNAVAILABLE', 'NATS connection closed'));
      },
    );
  }

  request(subject: string, payload: Uint8Array, options: RequestOptions = {}): Promise<Msg> {
    if (this.closed || this.nc.isClosed()) return Promise.reject(new MeshError('UNAVAILABLE', 'NATS connection is closed'));
    if (!this.connected) return Promise.reject(new MeshError('UNAVAILABLE', 'NATS is unreachable'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new MeshError('CANCELED', 'request canceled'));
    const now = Date.now();
    const deadline = options.deadline ?? now + (options.timeoutMs ?? this.timeoutMs);
    if (deadline <= now) return Promise.reject(new MeshError('DEADLINE_EXCEEDED', `the deadline passed before '${subject}' was called`));
    const token = (this.nextToken++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const tick = this.tickNow() + Math.ceil((deadline - now) / this.tickMs) + 1;
      const entry: Pending = { subject, tick, resolve, reject, onProgress: options.onProgress };
      const heartbeatMs = this.known?.(subject)?.heartbeatMs;
      if (heartbeatMs !== undefined) this.expectHeartbeat(token, entry, heartbeatMs);
      if (signal) this.watchAbort(token, entry, signal, options.cancel ?? 'killnowait');
      this.pending.set(token, entry);
      this.schedule(token, tick);
      try {
        const shared = this.outgoingHeaders(options.headers, heartbeatMs !== undefined, deadline, options.onProgress !== undefined);
        const headers = options.trace && tracingOn() ? withTrace(shared, options.trace) : shared;
        if (!this.coalesce) this.publish(token, subject, payload, headers);
        else if (this.outbox.push({ token, subject, payload, headers }) === 1) setImmediate(this.publishOutbox);
      } catch (err) {
        this.cannotPublish(token, err);
      }
    });
  }

  /**
   * Cancels the request when `signal` aborts, in the mode its reason names or else `mode`. (Listeners made here rather
   * than in `request`: a closure bound to a name there costs a defineProperty per request where names are kept, as tsx keeps them.)
   */
  private watchAbort(token: string, entry: Pending, signal: AbortSignal, mode: 'skip' | CancelMode): void {
    const onAbort = this.abortListener(token, signal, mode);
    signal.addEventListener('abort', onAbort, { once: true });
    entry.cleanup = () => signal.removeEventListener('abort', onAbort);
  }

  private abortListener(token: string, signal: AbortSignal, mode: 'skip' | CancelMode): () => void {
    return () => this.abort(token, isCancelChoice(signal.reason) ? signal.reason : mode, signal.reason);
  }

  private publish(token: string, subject: string, payload: Uint8Array, headers: MsgHdrs): void {
    this.nc.publish(this.namespace.subject(subject), payload, { reply: this.prefix + token, headers });
    const entry = this.pending.get(token);
    if (entry) entry.published = true;
  }

  /**
   * The caller gave up on a request: the responder is told unless `skip`, and the promise settles unless `kill`,
   * with the signal's reason when it is a MeshError (a handler's signal says DEADLINE_EXCEEDED at its deadline).
   */
  private abort(token: string, mode: 'skip' | CancelMode, reason: unknown): void {
    const entry = mode === 'kill' ? this.pending.get(token) : this.settle(token);
    if (!entry) return;
    const error = reason instanceof MeshError ? reason : new MeshError('CANCELED', 'request canceled');
    if (mode !== 'kill') entry.reject(error);
    if (mode === 'skip' || !entry.published) {
      if (mode === 'kill') this.settle(token)?.reject(error);
      return;
    }
    try {
      this.nc.publish(this.namespace.subject(cancelSubject(entry.subject)), this.prefix + token, { headers: cancelHeaders(mode) });
    } catch {
      // The connection is going: the responder's own deadline ends the work.
    }
  }

  private cannotPublish(token: string, err: unknown): void {
    this.settle(token)?.reject(new MeshError('UNAVAILABLE', `cannot publish: ${(err as Error).message}`));
  }

  /**
   * With coalesce: publishes the requests made since the last time, once the event loop's I/O callbacks of this
   * turn have run, so that one write carries them all. A request settled meanwhile (canceled, the connection lost)
   * is not published.
   */
  private readonly publishOutbox = (): void => {
    const outbox = this.outbox;
    this.outbox = [];
    for (const { token, subject, payload, headers } of outbox) {
      if (!this.pending.has(token)) continue;
      try {
        this.publish(token, subject, payload, headers);
      } catch (err) {
        this.cannotPublish(token, err);
      }
    }
  };

  subjectOf(name: string): string {
    return this.namespace.subject(name);
  }

  close(): void {
    this.closed = true;
    this.failAll(new MeshError('UNAVAILABLE', 'caller closed'));
    clearInterval(this.timer);
  }

  private onReply(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    // Statuses (no responders, heartbeats) have no body; checking that first spares decoding every reply's headers.
    // Read once: on a message with headers (a MessagePack reply) each read of msg.data makes a new view.
    const empty = msg.data.length === 0;
    if (empty && isHeartbeat(msg)) {
      const entry = this.pending.get(token);
      if (entry) this.expectHeartbeat(token, entry, Number(msg.headers!.get(HEARTBEAT_HEADER)));
      return;
    }
    const entry = this.pending.get(token);
    if (!entry) return;
    // Only a request that asked for progressive results can get one: a plain reply's headers are not read here.
    if (entry.onProgress && isProgress(msg)) return this.progress(token, entry, entry.onProgress, msg);
    this.release(token, entry);
    if (empty && msg.headers?.code === 503) {
      entry.reject(
        this.known?.(entry.subject)
          ? new MeshError('UNAVAILABLE', `no instance of '${entry.subject}' is reachable right now`)
          : new MeshError('UNKNOWN_PROCEDURE', `no service answers '${entry.subject}'`),
      );
    } else {
      entry.resolve(msg);
    }
  }

  /** A progressive result: to the request's listener, and proof that the responder lives. */
  private progress(token: string, entry: Pending, onProgress: (msg: Msg) => void, msg: Msg): void {
    if (entry.silenceTick !== undefined) {
      const heartbeatMs = this.known?.(entry.subject)?.heartbeatMs;
      if (heartbeatMs !== undefined) this.expectHeartbeat(token, entry, heartbeatMs);
    }
    onProgress(msg);
  }

  private settle(token: string): Pending | undefined {
    const entry = this.pending.get(token);
    if (entry) this.release(token, entry);
    return entry;
  }

  /** Takes a request out of the pending map and its deadline buckets. */
  private release(token: string, entry: Pending): void {
    this.pending.delete(token);
    this.deadlines.get(entry.tick)?.delete(token);
    if (entry.silenceTick !== undefined) this.deadlines.get(entry.silenceTick)?.delete(token);
    entry.cleanup?.();
  }

  /** Moves a request's silence deadline to a few heartbeats from now (never past its own deadline). */
  private expectHeartbeat(token: string, entry: Pending, heartbeatMs: number): void {
    if (!(heartbeatMs > 0)) return;
    const silenceTick = this.tickNow() + Math.ceil(silenceLimitMs(heartbeatMs) / this.tickMs) + 1;
    if (silenceTick >= entry.tick) return;
    if (entry.silenceTick !== undefined) this.deadlines.get(entry.silenceTick)?.delete(token);
    entry.silenceTick = silenceTick;
    this.schedule(token, silenceTick);
  }

  /**
   * The request's headers plus Mesh-Deadline (rounded up to the tick, the timer's own precision) and the heartbeat
   * request when wanted. Reused while the rounded deadline stays the same, so a busy caller builds one set per tick.
   */
  private outgoingHeaders(headers: MsgHdrs | undefined, heartbeat: boolean, deadline: number, stream: boolean): MsgHdrs {
    const base = headers ?? this.noHeaders;
    const rounded = Math.ceil(deadline / this.tickMs) * this.tickMs;
    let entry = this.outgoing.get(base);
    if (entry?.deadline !== rounded) {
      entry = { deadline: rounded, sets: [] };
      this.outgoing.set(base, entry);
    }
    const key = (heartbeat ? 1 : 0) + (stream ? 2 : 0);
    let combined = entry.sets[key];
    if (!combined) {
      const more = { [DEADLINE_HEADER]: String(rounded), [HEARTBEAT_HEADER]: heartbeat ? '1' : undefined, [STREAM_HEADER]: stream ? '1' : undefined };
      combined = entry.sets[key] = sealHeaders(headersWith(base, more));
    }
    return combined;
  }

  private tickNow(): number {
    return Math.floor(performance.now() / this.tickMs);
  }

  private schedule(token: string, tick: number): void {
    const bucket = this.deadlines.get(tick);
    if (bucket) bucket.add(token);
    else this.deadlines.set(tick, new Set([token]));
    this.timer ??= setInterval(() => this.sweep(), this.tickMs).unref();
  }

  private sweep(): void {
    const now = this.tickNow();
    for (; this.sweptTick <= now; this.sweptTick++) {
      const bucket = this.deadlines.get(this.sweptTick);
      if (!bucket) continue;
      this.deadlines.delete(this.sweptTick);
      for (const token of [...bucket]) {
        const entry = this.pending.get(token);
        if (entry?.tick === this.sweptTick) {
          this.settle(token)?.reject(new MeshError('DEADLINE_EXCEEDED', 'no reply before the deadline'));
        } else if (entry?.silenceTick === this.sweptTick) {
          this.settle(token)?.reject(new MeshError('UNAVAILABLE', `the instance of '${entry.subject}' that took the request stopped answering`));
        }
      }
    }
    if (this.deadlines.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private failAll(err: MeshError): void {
    for (const token of [...this.pending.keys()]) this.settle(token)?.reject(err);
    this.deadlines.clear();
  }
}

export function createCaller(nc: NatsConnection, options: CallerOptions): Caller {
  return new MuxCaller(nc, options);
}
