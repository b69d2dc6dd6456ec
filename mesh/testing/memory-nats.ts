// An in-process message bus with the wire semantics of a NATS server, behind nats.js's NatsConnection: subjects with
// `*` and `>`, queue groups, headers sent encoded and read decoded, replies, "no responders", and the part of JetStream
// that tasks use (memory-jetstream.ts). Not a network: one process, kept in memory.
import {
  errors,
  headers as natsHeaders,
  MsgHdrsImpl,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Payload,
  type PublishOptions,
  type RequestManyOptions,
  type RequestOptions,
  type Status,
  type SubscriptionOptions,
} from '@nats-io/transport-node';
import { MeshError } from '../wire/errors.ts';
import { MemoryJetStream, type JsFrame } from './memory-jetstream.ts';
import { isSubject, matches } from './subjects.ts';

/** What nats.js's JetStream clients register to hear of the connection's close. */
interface ConnectionClosedListener {
  connectionClosedCallback(): void;
}

/** The server the bus answers as: nats-server 2.9, whose JetStream features nats.js asks by name. */
const SERVER_VERSION = '2.9.10';
const SERVER_FEATURES = new Set(['js_kv', 'js_objectstore', 'js_pull_max_bytes', 'js_new_consumer_create', 'js_allow_direct', 'js_simplification']);

/** The server's default max_payload: a larger message is refused at publish, as nats.js refuses it. */
const MAX_PAYLOAD = 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytesOf(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === 'string' ? encoder.encode(payload) : payload.slice();
}

/** A subject as a server takes it: tokens separated by dots, none empty, no whitespace; wildcards only when subscribing. */
function checkSubject(subject: string, wildcards: boolean): string[] {
  if (!isSubject(subject, wildcards)) throw new errors.InvalidSubjectError(subject);
  return subject.split('.');
}

class MemoryMsg implements Msg {
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  constructor(
    frame: JsFrame,
    readonly sid: number,
    private readonly bus: MemoryNats,
  ) {
    this.subject = frame.subject;
    this.reply = frame.reply ?? '';
    this.data = frame.data;
    this.headers = frame.header ? MsgHdrsImpl.decode(frame.header) : undefined;
  }

  respond(payload?: Payload, options?: PublishOptions): boolean {
    if (!this.reply) return false;
    this.bus.publish(this.reply, payload, options);
    return true;
  }

  json<T>(): T {
    return JSON.parse(this.string()) as T;
  }

  string(): string {
    return decoder.decode(this.data);
  }
}

class MemorySubscription implements AsyncIterable<Msg> {
  private received = 0;
  private max: number | undefined;
  private done = false;
  private readonly waiting: Msg[] = [];
  private wake: (() => void) | undefined;
  readonly tokens: string[];
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(
    readonly sid: number,
    private readonly subject: string,
    readonly queue: string | undefined,
    private readonly options: SubscriptionOptions,
    private readonly bus: MemoryNats,
  ) {
    this.tokens = checkSubject(subject, true);
    this.max = options.max;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  deliver(frame: JsFrame): void {
    if (this.done) return;
    this.received++;
    const msg = new MemoryMsg(frame, this.sid, this.bus);
    if (this.max !== undefined && this.received >= this.max) this.close();
    if (this.options.callback) this.options.callback(null, msg);
    else {
      this.waiting.push(msg);
      this.wake?.();
    }
  }

  unsubscribe(max?: number): void {
    if (max !== undefined && max > this.received) this.max = max;
    else this.close();
  }

  async drain(): Promise<void> {
    await this.bus.flush();
    this.close();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.bus.forget(this);
    this.markClosed();
    this.wake?.();
  }

  isDraining(): boolean {
    return false;
  }

  isClosed(): boolean {
    return this.done;
  }

  getSubject(): string {
    return this.subject;
  }

  getReceived(): number {
    return this.received;
  }

  getProcessed(): number {
    return this.received;
  }

  getPending(): number {
    return this.waiting.length;
  }

  getID(): number {
    return this.sid;
  }

  getMax(): number | undefined {
    return this.max;
  }

  callback(err: Error | null, msg: Msg): void {
    this.options.callback?.(err, msg);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Msg> {
    while (true) {
      const next = this.waiting.shift();
      if (next) yield next;
      else if (this.done) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** The members of NatsConnection the bus has; the others are refused with a MeshError naming them (see memoryNats). */
class MemoryNats {
  private readonly subscriptions = new Set<MemorySubscription>();
  private readonly outbox: JsFrame[] = [];
  private scheduled = false;
  private nextSid = 1;
  private state: 'open' | 'draining' | 'closed' = 'open';
  private readonly statusWaiters = new Set<() => void>();
  private readonly closeListeners = new Set<ConnectionClosedListener>();
  private readonly closedPromise: Promise<void | Error>;
  private markClosed!: () => void;
  private readonly jetstream = new MemoryJetStream({ send: (frame) => this.send(frame), hasInterest: (subject) => this.hasInterest(subject) });
  readonly info = undefined;
  /** What nats.js's JetStream client reads of a connection: the inbox prefix, and the server's features (2.9's). */
  readonly options = { inboxPrefix: '_INBOX' };
  readonly features = { get: (feature: string) => ({ ok: SERVER_FEATURES.has(feature), min: SERVER_VERSION }), supports: (feature: string) => SERVER_FEATURES.has(feature) };

  constructor() {
    this.closedPromise = new Promise((resolve) => (this.markClosed = () => resolve()));
  }

  publish(subject: string, payload?: Payload, options?: PublishOptions): void {
    if (this.state !== 'open') throw new errors.ClosedConnectionError();
    checkSubject(subject, false);
    const data = bytesOf(payload);
    const header = (options?.headers as MsgHdrsImpl | undefined)?.encode();
    if (data.length + (header?.length ?? 0) > MAX_PAYLOAD) throw new errors.InvalidArgumentError(`message of ${data.length} bytes exceeds max_payload ${MAX_PAYLOAD}`);
    if (options?.reply !== undefined) checkSubject(options.reply, false);
    this.send({ subject, data, ...(options?.reply ? { reply: options.reply } : {}), ...(header && header.length > 0 ? { header } : {}) });
  }

  private send(frame: JsFrame): void {
    if (this.state === 'closed') return;
    this.outbox.push(frame);
    this.schedule();
  }

  /** Whether a subscription would take a message on the subject (JetStream drops pulls nobody reads any more). */
  private hasInterest(subject: string): boolean {
    const tokens = subject.split('.');
    for (const sub of this.subscriptions) if (matches(sub.tokens, tokens)) return true;
    return false;
  }

  getServerVersion(): { major: number; minor: number; micro: number } {
    const [major, minor, micro] = SERVER_VERSION.split('.').map(Number) as [number, number, number];
    return { major, minor, micro };
  }

  addCloseListener(listener: ConnectionClosedListener): void {
    this.closeListeners.add(listener);
  }

  removeCloseListener(listener: ConnectionClosedListener): void {
    this.closeListeners.delete(listener);
  }

  subscribe(subject: string, options: SubscriptionOptions = {}): MemorySubscription {
    if (this.state === 'closed') throw new errors.ClosedConnectionError();
    const sub = new MemorySubscription(this.nextSid++, subject, options.queue, options, this);
    this.subscriptions.add(sub);
    return sub;
  }

  forget(sub: MemorySubscription): void {
    this.subscriptions.delete(sub);
  }

  async request(subject: string, payload?: Payload, options: RequestOptions = { timeout: 1000 }): Promise<Msg> {
    const replies = this.requestMany(subject, payload, { maxMessages: 1, maxWait: options.timeout, ...(options.headers ? { headers: options.headers } : {}) });
    for await (const msg of await replies) return msg;
    throw new errors.TimeoutError();
  }

  async requestMany(subject: string, payload?: Payload, options: Partial<RequestManyOptions> = {}): Promise<AsyncIterable<Msg>> {
    const inbox = `_INBOX.memory.${this.nextSid}`;
    const sub = this.subscribe(inbox);
    const maxWait = options.maxWait ?? 1000;
    const end = setTimeout(() => sub.close(), maxWait);
    void sub.closed.then(() => clearTimeout(end));
    this.publish(subject, payload, { reply: inbox, ...(options.headers ? { headers: options.headers } : {}) });
    const iterator = sub[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (!first.done && first.value.data.length === 0 && first.value.headers?.code === 503) {
      sub.close();
      throw new errors.NoRespondersError(subject);
    }
    return (async function* () {
      let count = 0;
      let stall: ReturnType<typeof setTimeout> | undefined;
      const restartStall = () => {
        clearTimeout(stall);
        if (options.strategy === 'stall') stall = setTimeout(() => sub.close(), options.stall ?? 300);
      };
      try {
        for (let next = first; !next.done; next = await iterator.next()) {
          yield next.value;
          count++;
          if ((options.strategy === 'count' || options.maxMessages !== undefined) && count >= (options.maxMessages ?? Infinity)) return;
          if (options.strategy === 'sentinel' && next.value.data.length === 0) return;
          restartStall();
        }
      } finally {
        clearTimeout(stall);
        sub.close();
      }
    })();
  }

  /** Resolves once every message published before it has been delivered. */
  flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  }

  async drain(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'draining';
    await this.flush();
    for (const sub of [...this.subscriptions]) sub.close();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.outbox.length = 0;
    this.jetstream.close();
    for (const sub of [...this.subscriptions]) sub.close();
    for (const listener of this.closeListeners) listener.connectionClosedCallback();
    this.markClosed();
    for (const wake of this.statusWaiters) wake();
  }

  closed(): Promise<void | Error> {
    return this.closedPromise;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  isDraining(): boolean {
    return this.state === 'draining';
  }

  getServer(): string {
    return 'memory';
  }

  /**
   * No status events: an in-process bus never disconnects. The iteration ends when the bus closes, or at `stop()`
   * (as nats.js's status iterator, which its JetStream consumers stop when they end).
   */
  status(): AsyncIterable<Status> & { stop(): void } {
    let end: (() => void) | undefined;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const closed = this.state === 'closed';
    if (!closed) this.statusWaiters.add(end!);
    const stop = () => {
      this.statusWaiters.delete(end!);
      end!();
    };
    return {
      stop,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Status>> => {
          if (!closed) await ended;
          return { done: true, value: undefined };
        },
        return: async (): Promise<IteratorResult<Status>> => {
          stop();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  /** Delivers in a later turn of the event loop, in publishing order, as a server's messages arrive. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const frame of this.outbox.splice(0)) this.route(frame);
    });
  }

  private route(frame: JsFrame): void {
    const taken = this.jetstream.handle(frame);
    if (taken === 'consumed') return;
    const tokens = (frame.to ?? frame.subject).split('.');
    const groups = new Map<string, MemorySubscription[]>();
    const plain: MemorySubscription[] = [];
    for (const sub of this.subscriptions) {
      if (!matches(sub.tokens, tokens)) continue;
      if (sub.queue === undefined) plain.push(sub);
      else groups.set(sub.queue, [...(groups.get(sub.queue) ?? []), sub]);
    }
    const chosen = [...plain, ...[...groups.values()].map((members) => members[Math.floor(Math.random() * members.length)]!)];
    if (chosen.length === 0 && frame.reply && taken !== 'stored') {
      this.route({ subject: frame.reply, data: new Uint8Array(0), header: (natsHeaders(503, 'No Responders') as MsgHdrsImpl).encode() });
      return;
    }
    for (const sub of chosen) sub.deliver(frame);
  }
}

/**
 * A NatsConnection on a new in-process bus. What the mesh's hosts, callers and tasks use is there (JetStream and KV
 * clients work on it); any other member (stats of the socket, reconnects) throws a MeshError naming it, so nothing silently behaves otherwise than a server.
 */
export function memoryNats(): NatsConnection {
  const bus = new MemoryNats();
  // The bus implements the subset of NatsConnection the mesh uses; the proxy refuses the rest by name.
  return new Proxy(bus, {
    get(target, property, receiver) {
      if (property in target || typeof property === 'symbol' || property === 'then') return Reflect.get(target, property, receiver) as unknown;
      throw new MeshError('UNAVAILABLE', `the in-memory mesh has no ${String(property)} (it is not a network connection)`);
    },
  }) as unknown as NatsConnection;
}
