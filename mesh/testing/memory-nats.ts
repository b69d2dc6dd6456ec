// An in-process message bus with the wire semantics of a NATS server, behind nats.js's NatsConnection: subjects with
// `*` and `>`, queue groups, headers sent encoded and read decoded, replies, "no responders". Not JetStream, not a network.
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
  const tokens = subject.split('.');
  const valid = subject.length > 0 && !/\s/.test(subject) && tokens.every((t, i) => t.length > 0 && (wildcards ? t !== '>' || i === tokens.length - 1 : t !== '*' && t !== '>'));
  if (!valid) throw new errors.InvalidSubjectError(subject);
  return tokens;
}

function matches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '>') return subject.length > i;
    if (i >= subject.length || (pattern[i] !== '*' && pattern[i] !== subject[i])) return false;
  }
  return pattern.length === subject.length;
}

/** What travels between publisher and subscriber: the bytes a server would relay. */
interface Frame {
  subject: string;
  reply?: string;
  data: Uint8Array;
  /** The encoded header block, as nats.js writes it; decoded anew for each subscriber. */
  header?: Uint8Array;
}

class MemoryMsg implements Msg {
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  constructor(
    frame: Frame,
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

  deliver(frame: Frame): void {
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
  private readonly outbox: Frame[] = [];
  private scheduled = false;
  private nextSid = 1;
  private state: 'open' | 'draining' | 'closed' = 'open';
  private readonly statusWaiters = new Set<() => void>();
  private readonly closedPromise: Promise<void | Error>;
  private markClosed!: () => void;
  readonly info = undefined;

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
    this.outbox.push({ subject, data, ...(options?.reply ? { reply: options.reply } : {}), ...(header && header.length > 0 ? { header } : {}) });
    this.schedule();
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
    for (const sub of [...this.subscriptions]) sub.close();
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

  /** No status events: an in-process bus never disconnects. The iteration ends when the bus closes. */
  // eslint-disable-next-line require-yield -- an iteration that yields nothing is the point: it only ends, when the bus closes
  async *status(): AsyncIterable<Status> {
    if (this.state === 'closed') return;
    await new Promise<void>((resolve) => this.statusWaiters.add(resolve));
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

  private route(frame: Frame): void {
    const tokens = frame.subject.split('.');
    const groups = new Map<string, MemorySubscription[]>();
    const plain: MemorySubscription[] = [];
    for (const sub of this.subscriptions) {
      if (!matches(sub.tokens, tokens)) continue;
      if (sub.queue === undefined) plain.push(sub);
      else groups.set(sub.queue, [...(groups.get(sub.queue) ?? []), sub]);
    }
    const chosen = [...plain, ...[...groups.values()].map((members) => members[Math.floor(Math.random() * members.length)]!)];
    if (chosen.length === 0 && frame.reply) {
      this.route({ subject: frame.reply, data: new Uint8Array(0), header: (natsHeaders(503, 'No Responders') as MsgHdrsImpl).encode() });
      return;
    }
    for (const sub of chosen) sub.deliver(frame);
  }
}

/**
 * A NatsConnection on a new in-process bus. What the mesh's hosts and callers use is there; any other member
 * (JetStream, KV, stats of the socket) throws a MeshError naming it, so nothing silently behaves otherwise than a server.
 */
export function memoryNats(): NatsConnection {
  const bus = new MemoryNats();
  // The bus implements the subset of NatsConnection the mesh uses; the proxy refuses the rest by name.
  return new Proxy(bus, {
    get(target, property, receiver) {
      if (property in target || typeof property === 'symbol' || property === 'then') return Reflect.get(target, property, receiver) as unknown;
      throw new MeshError('UNAVAILABLE', `the in-memory mesh has no ${String(property)} (JetStream and @task need a NATS server)`);
    },
  }) as unknown as NatsConnection;
}
