// The part of JetStream that tasks use, on the in-process bus (memory-nats.ts), answering the `$JS.API` requests as
// nats-server 2.9 answers them: streams that keep what is published on their subjects (limits or work-queue
// retention, dedupe by Nats-Msg-Id, max_age, max_msgs_per_subject), durable pull consumers with explicit acks,
// claims that lapse, delayed naks and in-progress acks, direct gets, stream infos, lists and purges. So nats.js's own
// JetStream and KV clients run on it unchanged. Kept in memory for the bus's life: no replicas, mirrors, sources or
// push consumers; any other API request is answered with an error that names it.
import { headers as natsHeaders, MsgHdrsImpl, type MsgHdrs } from '@nats-io/transport-node';
import { isSubject, matches, overlaps } from './subjects.ts';

/** A message as the bus relays it: subject, reply, body and encoded header block. */
export interface JsFrame {
  subject: string;
  /** Where the bus routes it when not by its subject: a pulled message keeps its subject and goes to the pull's inbox. */
  to?: string;
  reply?: string;
  data: Uint8Array;
  header?: Uint8Array;
}

/** What the bus lends JetStream: sending a frame, and whether anyone listens on a subject. */
export interface JsBus {
  send(frame: JsFrame): void;
  hasInterest(subject: string): boolean;
}

/** What JetStream made of a frame: an API call or an ack it consumed, a message it stored, or nothing of its own. */
export type JsOutcome = 'consumed' | 'stored' | 'ignored';

type Config = Record<string, unknown>;

interface ApiError {
  code: number;
  err_code: number;
  description: string;
}

class JsApiError extends Error {
  constructor(readonly error: ApiError) {
    super(error.description);
  }
}

const STREAM_NOT_FOUND: ApiError = { code: 404, err_code: 10059, description: 'stream not found' };
const CONSUMER_NOT_FOUND: ApiError = { code: 404, err_code: 10014, description: 'consumer not found' };
const NO_MESSAGE: ApiError = { code: 404, err_code: 10037, description: 'no message found' };
const badRequest = (description: string): ApiError => ({ code: 400, err_code: 10003, description });

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NS_PER_MS = 1_000_000;
/** nats-server's defaults for what a stream or consumer config leaves out. */
const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;
const DEFAULT_ACK_WAIT_MS = 30_000;
const DEFAULT_MAX_ACK_PENDING = 1_000;
/** What a page of STREAM.LIST or of a stream info's subjects holds at most, as the server pages them. */
const PAGE = 256;

const msOf = (ns: unknown): number => (typeof ns === 'number' && ns > 0 ? ns / NS_PER_MS : 0);
/** The longest a Node timer waits; a longer wait (a year's ack_wait, say) is as good as forever here. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const timerMs = (ms: number): number => Math.min(ms, MAX_TIMER_MS);
/** Heartbeats come at most this often, whatever a pull asks (nats.js asks for 500 ms at least). */
const MIN_HEARTBEAT_MS = 100;

/** A subject a stream may take: one a subscription may (isSubject), but not in the bus's own API or inboxes. */
function streamSubject(subject: unknown): subject is string {
  return typeof subject === 'string' && isSubject(subject, true) && !['$JS.>', '_INBOX.>'].some((reserved) => overlaps(reserved, subject));
}

/** A stream or consumer name: no dots, wildcards, whitespace or path separators. */
const NAME = /^[^.*>\s/\\]{1,255}$/;

interface Stored {
  seq: number;
  subject: string;
  data: Uint8Array;
  header?: Uint8Array;
  /** When it was stored, in ms since the epoch. */
  time: number;
}

/** A message's time as the server writes it: RFC 3339 with nanoseconds. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000Z');
}

function headersOf(msg: Stored): MsgHdrs {
  return msg.header ? MsgHdrsImpl.decode(msg.header) : natsHeaders();
}

function encodeHeaders(headers: MsgHdrs): Uint8Array {
  return (headers as MsgHdrsImpl).encode();
}

/** The delay a `-NAK {"delay": ns}` asks for, in ms; 0 for a bare or unreadable nak (delivered again at once). */
function nakDelayMs(payload: string): number {
  try {
    return payload.length > 4 ? msOf((JSON.parse(payload.slice(4)) as { delay?: unknown } | null)?.delay) : 0;
  } catch {
    return 0;
  }
}

/** A claim on a delivered message: how often it was delivered, and when it goes back if not acked. */
interface Claim {
  deliveries: number;
  timer: NodeJS.Timeout | undefined;
}

/** A pull request waiting for messages: where they go, how many more, and its timers. */
interface Pull {
  reply: string;
  left: number;
  expires: NodeJS.Timeout | undefined;
  heartbeat: NodeJS.Timeout | undefined;
}

class Consumer {
  readonly created = new Date().toISOString();
  /** The next stream sequence not yet delivered once. */
  private cursor = 1;
  private consumerSeq = 0;
  private lastDelivered = 0;
  private redelivered = 0;
  readonly claims = new Map<number, Claim>();
  /** Claimed messages whose claim lapsed or was nak'd: delivered again before new ones, in the order they came back. */
  private readonly again = new Set<number>();
  private readonly pulls: Pull[] = [];

  constructor(
    private readonly stream: Stream,
    readonly name: string,
    public config: Config,
  ) {}

  private get ackWaitMs(): number {
    return msOf(this.config.ack_wait) || DEFAULT_ACK_WAIT_MS;
  }

  private get filter(): string | undefined {
    return typeof this.config.filter_subject === 'string' && this.config.filter_subject ? this.config.filter_subject : undefined;
  }

  private wants(msg: Stored): boolean {
    const filter = this.filter;
    return filter === undefined || matches(filter.split('.'), msg.subject.split('.'));
  }

  /** Messages not delivered yet. */
  pending(): number {
    let count = 0;
    for (const msg of this.stream.from(this.cursor)) if (this.wants(msg)) count++;
    return count;
  }

  info(): Config {
    let floor = this.lastDelivered;
    for (const seq of this.claims.keys()) floor = Math.min(floor, seq - 1);
    return {
      type: 'io.nats.jetstream.api.v1.consumer_info_response',
      stream_name: this.stream.name,
      name: this.name,
      created: this.created,
      config: this.config,
      delivered: { consumer_seq: this.consumerSeq, stream_seq: this.lastDelivered },
      ack_floor: { consumer_seq: 0, stream_seq: floor },
      num_ack_pending: this.claims.size,
      num_redelivered: this.redelivered,
      num_waiting: this.pulls.length,
      num_pending: this.pending(),
    };
  }

  /** A CONSUMER.MSG.NEXT request: `{batch, expires, idle_heartbeat, no_wait}`, answered on its reply subject. */
  pull(reply: string, request: Config): void {
    if (!reply) return;
    const expiresMs = msOf(request.expires);
    if (msOf(request.idle_heartbeat) > expiresMs / 2 && msOf(request.idle_heartbeat) > 0) {
      const headers = natsHeaders(400, 'Bad Request - heartbeat value too large');
      this.stream.bus.send({ subject: reply, data: new Uint8Array(0), header: encodeHeaders(headers) });
      return;
    }
    const batch = typeof request.batch === 'number' && request.batch > 0 ? request.batch : 1;
    const pull: Pull = { reply, left: batch, expires: undefined, heartbeat: undefined };
    this.pulls.push(pull);
    this.deliver();
    if (!this.pulls.includes(pull)) return;
    if (request.no_wait === true || expiresMs === 0) {
      if (request.no_wait === true) this.end(pull, 404, 'No Messages');
      return;
    }
    pull.expires = setTimeout(() => this.end(pull, 408, 'Request Timeout'), timerMs(expiresMs));
    const heartbeatMs = Math.max(MIN_HEARTBEAT_MS, msOf(request.idle_heartbeat));
    if (msOf(request.idle_heartbeat) > 0) {
      pull.heartbeat = setInterval(() => {
        const headers = natsHeaders(100, 'Idle Heartbeat');
        headers.set('Nats-Last-Consumer', String(this.consumerSeq));
        headers.set('Nats-Last-Stream', String(this.lastDelivered));
        this.stream.bus.send({ subject: pull.reply, data: new Uint8Array(0), header: encodeHeaders(headers) });
      }, timerMs(heartbeatMs));
    }
  }

  /** Ends a pull request, telling its client why (a status message) when it asks for more than it got. */
  private end(pull: Pull, code?: number, description?: string): void {
    const index = this.pulls.indexOf(pull);
    if (index >= 0) this.pulls.splice(index, 1);
    clearTimeout(pull.expires);
    clearInterval(pull.heartbeat);
    if (code === undefined || !this.stream.bus.hasInterest(pull.reply)) return;
    const headers = natsHeaders(code, description);
    headers.set('Nats-Pending-Messages', String(pull.left));
    headers.set('Nats-Pending-Bytes', '0');
    this.stream.bus.send({ subject: pull.reply, data: new Uint8Array(0), header: encodeHeaders(headers) });
  }

  private get maxAckPending(): number {
    const max = this.config.max_ack_pending;
    return typeof max === 'number' && max !== 0 ? max : DEFAULT_MAX_ACK_PENDING;
  }

  /** The next message to deliver: one to deliver again first, else the next new one; undefined when none. */
  private next(): Stored | undefined {
    for (const seq of this.again) {
      this.again.delete(seq);
      const msg = this.stream.get(seq);
      if (msg) return msg;
      this.claims.delete(seq);
    }
    const max = this.maxAckPending;
    if (max > 0 && this.claims.size >= max) return undefined;
    for (const msg of this.stream.from(this.cursor)) {
      this.cursor = msg.seq + 1;
      if (this.wants(msg)) return msg;
    }
    return undefined;
  }

  /** Hands messages to the waiting pulls, oldest pull first, while both last. */
  deliver(): void {
    while (this.pulls.length > 0) {
      const pull = this.pulls[0]!;
      if (!this.stream.bus.hasInterest(pull.reply)) {
        this.end(pull);
        continue;
      }
      const msg = this.next();
      if (!msg) return;
      const claim = this.claims.get(msg.seq) ?? { deliveries: 0, timer: undefined };
      claim.deliveries++;
      if (claim.deliveries > 1) this.redelivered++;
      this.claims.set(msg.seq, claim);
      this.claim(msg.seq, claim, this.ackWaitMs);
      this.consumerSeq++;
      this.lastDelivered = Math.max(this.lastDelivered, msg.seq);
      const ack = `$JS.ACK.${this.stream.name}.${this.name}.${claim.deliveries}.${msg.seq}.${this.consumerSeq}.${msg.time * NS_PER_MS}.${this.pending()}`;
      this.stream.bus.send({ subject: msg.subject, to: pull.reply, reply: ack, data: msg.data, ...(msg.header ? { header: msg.header } : {}) });
      if (--pull.left === 0) this.end(pull);
    }
  }

  /** (Re)starts a claim's clock: when it runs out, the message is delivered again. */
  private claim(seq: number, claim: Claim, ms: number): void {
    clearTimeout(claim.timer);
    claim.timer = setTimeout(() => {
      claim.timer = undefined;
      this.giveBack(seq);
    }, timerMs(ms));
  }

  private giveBack(seq: number): void {
    const max = this.config.max_deliver;
    const claim = this.claims.get(seq);
    if (claim && typeof max === 'number' && max > 0 && claim.deliveries >= max) {
      clearTimeout(claim.timer);
      this.claims.delete(seq);
      return;
    }
    this.again.add(seq);
    this.deliver();
  }

  /** An ack on `$JS.ACK.…`: +ACK (or nothing), -NAK (with a delay), +WPI (still working), +TERM; anything else is ignored. */
  acked(seq: number, payload: string): void {
    const claim = this.claims.get(seq);
    if (!claim || !/^(\+ACK|\+NXT|\+TERM|\+WPI|-NAK|)(\s|$)/.test(payload)) return;
    if (payload.startsWith('+WPI')) return this.claim(seq, claim, this.ackWaitMs);
    if (payload.startsWith('-NAK')) {
      const delayMs = nakDelayMs(payload);
      if (delayMs > 0) return this.claim(seq, claim, delayMs);
      clearTimeout(claim.timer);
      return this.giveBack(seq);
    }
    clearTimeout(claim.timer);
    this.claims.delete(seq);
    this.again.delete(seq);
    this.stream.consumed(seq);
    this.deliver();
  }

  close(): void {
    for (const claim of this.claims.values()) clearTimeout(claim.timer);
    for (const pull of [...this.pulls]) this.end(pull);
  }
}

class Stream {
  readonly created = new Date().toISOString();
  /** By sequence, oldest first (a Map keeps insertion order). */
  private readonly messages = new Map<number, Stored>();
  private readonly bySubject = new Map<string, number[]>();
  private readonly dedupe = new Map<string, { seq: number; time: number }>();
  private lastSeq = 0;
  private lastTime = 0;
  private bytes = 0;
  readonly consumers = new Map<string, Consumer>();

  constructor(
    readonly name: string,
    public config: Config,
    readonly bus: JsBus,
  ) {}

  get subjects(): string[] {
    return Array.isArray(this.config.subjects) ? (this.config.subjects as string[]) : [this.name];
  }

  takes(subject: string): boolean {
    return this.subjects.some((pattern) => matches(pattern.split('.'), subject.split('.')));
  }

  get(seq: number): Stored | undefined {
    this.expire();
    return this.messages.get(seq);
  }

  *from(seq: number): Iterable<Stored> {
    this.expire();
    for (const msg of this.messages.values()) if (msg.seq >= seq) yield msg;
  }

  lastOf(subject: string): Stored | undefined {
    this.expire();
    const seqs = this.bySubject.get(subject);
    return seqs && seqs.length > 0 ? this.messages.get(seqs[seqs.length - 1]!) : undefined;
  }

  /** Stores a published message; the same Nats-Msg-Id within the dedupe window is the message stored before. */
  store(frame: JsFrame): { seq: number; duplicate: boolean } {
    this.expire();
    const now = Date.now();
    const id = frame.header ? MsgHdrsImpl.decode(frame.header).get('Nats-Msg-Id') : '';
    const windowMs = msOf(this.config.duplicate_window) || DEFAULT_DUPLICATE_WINDOW_MS;
    for (const [key, seen] of this.dedupe) if (now - seen.time > windowMs) this.dedupe.delete(key);
    const seen = id ? this.dedupe.get(id) : undefined;
    if (seen) return { seq: seen.seq, duplicate: true };
    const msg: Stored = { seq: ++this.lastSeq, subject: frame.subject, data: frame.data, time: now, ...(frame.header ? { header: frame.header } : {}) };
    this.lastTime = now;
    if (id) this.dedupe.set(id, { seq: msg.seq, time: now });
    this.messages.set(msg.seq, msg);
    this.bytes += msg.data.length;
    const seqs = this.bySubject.get(msg.subject) ?? [];
    seqs.push(msg.seq);
    this.bySubject.set(msg.subject, seqs);
    const perSubject = this.config.max_msgs_per_subject;
    if (typeof perSubject === 'number' && perSubject > 0) while (seqs.length > perSubject) this.remove(seqs[0]!);
    for (const consumer of this.consumers.values()) consumer.deliver();
    return { seq: msg.seq, duplicate: false };
  }

  remove(seq: number): boolean {
    const msg = this.messages.get(seq);
    if (!msg) return false;
    this.messages.delete(seq);
    this.bytes -= msg.data.length;
    const seqs = this.bySubject.get(msg.subject)!;
    seqs.splice(seqs.indexOf(seq), 1);
    if (seqs.length === 0) this.bySubject.delete(msg.subject);
    return true;
  }

  /** A consumer acked a message: a work queue forgets it. */
  consumed(seq: number): void {
    if (this.config.retention === 'workqueue') this.remove(seq);
  }

  purge(): number {
    const count = this.messages.size;
    for (const seq of [...this.messages.keys()]) this.remove(seq);
    return count;
  }

  /** Drops what is older than max_age. */
  private expire(): void {
    const maxAgeMs = msOf(this.config.max_age);
    if (maxAgeMs === 0) return;
    const oldest = Date.now() - maxAgeMs;
    for (const msg of this.messages.values()) {
      if (msg.time >= oldest) break;
      this.remove(msg.seq);
    }
  }

  /** STREAM.INFO's answer; with `subjects_filter`, the count per matching subject, a page at a time. */
  info(request: Config = {}): Config {
    this.expire();
    const first = this.messages.values().next().value;
    const state: Config = {
      messages: this.messages.size,
      bytes: this.bytes,
      first_seq: first?.seq ?? this.lastSeq + 1,
      first_ts: first ? timestamp(first.time) : '0001-01-01T00:00:00Z',
      last_seq: this.lastSeq,
      last_ts: this.lastSeq > 0 ? timestamp(this.lastTime) : '0001-01-01T00:00:00Z',
      num_subjects: this.bySubject.size,
      consumer_count: this.consumers.size,
    };
    const answer: Config = { type: 'io.nats.jetstream.api.v1.stream_info_response', config: this.config, created: this.created, state };
    if (typeof request.subjects_filter === 'string' && request.subjects_filter) {
      const filter = request.subjects_filter;
      const all = [...this.bySubject].filter(([subject]) => matches(filter.split('.'), subject.split('.')));
      const offset = typeof request.offset === 'number' ? request.offset : 0;
      state.subjects = Object.fromEntries(all.slice(offset, offset + PAGE).map(([subject, seqs]) => [subject, seqs.length]));
      Object.assign(answer, { total: all.length, offset, limit: PAGE });
    }
    return answer;
  }

  close(): void {
    for (const consumer of this.consumers.values()) consumer.close();
  }
}

/** The JetStream of one in-process bus. */
export class MemoryJetStream {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly bus: JsBus) {}

  /** Takes a frame the bus routes: the API and acks are JetStream's; a stream's subject is stored, then routed as usual. */
  handle(frame: JsFrame): JsOutcome {
    if (frame.to !== undefined) return 'ignored';
    if (frame.subject.startsWith('$JS.API.')) {
      this.api(frame);
      return 'consumed';
    }
    if (frame.subject.startsWith('$JS.ACK.')) {
      this.ack(frame);
      return 'consumed';
    }
    for (const stream of this.streams.values()) {
      if (!stream.takes(frame.subject)) continue;
      const { seq, duplicate } = stream.store(frame);
      if (frame.reply) this.answer(frame.reply, { stream: stream.name, seq, ...(duplicate ? { duplicate: true } : {}) });
      return 'stored';
    }
    return 'ignored';
  }

  close(): void {
    for (const stream of this.streams.values()) stream.close();
  }

  private answer(reply: string, body: Config): void {
    this.bus.send({ subject: reply, data: encoder.encode(JSON.stringify(body)) });
  }

  private ack(frame: JsFrame): void {
    const [, , stream, consumer, , seq] = frame.subject.split('.');
    this.streams
      .get(stream ?? '')
      ?.consumers.get(consumer ?? '')
      ?.acked(Number(seq), decoder.decode(frame.data));
  }

  private stream(name: string | undefined): Stream {
    const stream = this.streams.get(name ?? '');
    if (!stream) throw new JsApiError(STREAM_NOT_FOUND);
    return stream;
  }

  private consumer(stream: string | undefined, name: string | undefined): Consumer {
    const consumer = this.stream(stream).consumers.get(name ?? '');
    if (!consumer) throw new JsApiError(CONSUMER_NOT_FOUND);
    return consumer;
  }

  private api(frame: JsFrame): void {
    const tokens = frame.subject.split('.').slice(2);
    const operation = tokens.slice(0, 2).join('.');
    let request: Config = {};
    try {
      if (frame.data.length > 0 && !operation.startsWith('CONSUMER.MSG')) request = JSON.parse(decoder.decode(frame.data)) as Config;
      if (typeof request !== 'object' || request === null || Array.isArray(request)) return this.fail(frame, badRequest('request must be a JSON object'));
    } catch {
      return this.fail(frame, badRequest('invalid JSON'));
    }
    try {
      if (operation === 'DIRECT.GET') return this.directGet(frame, tokens[2], tokens.slice(3).join('.'), request);
      if (operation === 'CONSUMER.MSG' && tokens[2] === 'NEXT') {
        const next = decoder.decode(frame.data);
        const pull = next ? (JSON.parse(next) as unknown) : {};
        if (typeof pull !== 'object' || pull === null) throw new JsApiError(badRequest('a pull request is a JSON object'));
        this.consumer(tokens[3], tokens[4]).pull(frame.reply ?? '', pull as Config);
        return;
      }
      const answer = this.call(operation, tokens, request);
      if (frame.reply) this.answer(frame.reply, answer);
    } catch (err) {
      this.fail(frame, err instanceof JsApiError ? err.error : badRequest((err as Error).message));
    }
  }

  private fail(frame: JsFrame, error: ApiError): void {
    if (frame.reply) this.answer(frame.reply, { type: 'io.nats.jetstream.api.v1.error_response', error });
  }

  private call(operation: string, tokens: string[], request: Config): Config {
    switch (operation) {
      case 'INFO':
        return { type: 'io.nats.jetstream.api.v1.account_info_response', memory: 0, storage: 0, streams: this.streams.size, consumers: 0, limits: {}, api: { total: 0, errors: 0 } };
      case 'STREAM.CREATE':
      case 'STREAM.UPDATE':
        return this.putStream(tokens[2], request, operation === 'STREAM.CREATE');
      case 'STREAM.INFO':
        return this.stream(tokens[2]).info(request);
      case 'STREAM.DELETE':
        this.stream(tokens[2]).close();
        this.streams.delete(tokens[2]!);
        return { type: 'io.nats.jetstream.api.v1.stream_delete_response', success: true };
      case 'STREAM.PURGE':
        return { type: 'io.nats.jetstream.api.v1.stream_purge_response', success: true, purged: this.stream(tokens[2]).purge() };
      case 'STREAM.NAMES':
      case 'STREAM.LIST':
        return this.listStreams(operation === 'STREAM.LIST', request);
      case 'STREAM.MSG': {
        if (tokens[2] !== 'GET') break;
        const stream = this.stream(tokens[3]);
        const msg = typeof request.last_by_subj === 'string' ? stream.lastOf(request.last_by_subj) : stream.get(Number(request.seq));
        if (!msg) throw new JsApiError(NO_MESSAGE);
        const message = { subject: msg.subject, seq: msg.seq, time: timestamp(msg.time), data: Buffer.from(msg.data).toString('base64') };
        return { type: 'io.nats.jetstream.api.v1.stream_msg_get_response', message: msg.header ? { ...message, hdrs: Buffer.from(msg.header).toString('base64') } : message };
      }
      case 'CONSUMER.CREATE':
      case 'CONSUMER.DURABLE':
        return this.putConsumer(tokens[2] === 'CREATE' ? tokens[3] : tokens[2], request);
      case 'CONSUMER.INFO':
        return this.consumer(tokens[2], tokens[3]).info();
      case 'CONSUMER.DELETE': {
        const stream = this.stream(tokens[2]);
        this.consumer(tokens[2], tokens[3]).close();
        stream.consumers.delete(tokens[3]!);
        return { type: 'io.nats.jetstream.api.v1.consumer_delete_response', success: true };
      }
    }
    throw new JsApiError(badRequest(`the in-memory JetStream does not implement $JS.API.${tokens.join('.')}`));
  }

  private putStream(name: string | undefined, config: Config, create: boolean): Config {
    if (!name || config.name !== name) throw new JsApiError(badRequest('stream name in subject does not match request'));
    if (!NAME.test(name)) throw new JsApiError(badRequest('invalid stream name'));
    if (config.subjects !== undefined && !(Array.isArray(config.subjects) && config.subjects.every(streamSubject))) {
      throw new JsApiError(badRequest('invalid subjects: each a subject, none in $JS or _INBOX'));
    }
    if (config.retention !== undefined && !['limits', 'interest', 'workqueue'].includes(config.retention as string)) throw new JsApiError(badRequest('invalid retention'));
    const existing = this.streams.get(name);
    if (!create && !existing) throw new JsApiError(STREAM_NOT_FOUND);
    const full: Config = { retention: 'limits', storage: 'file', num_replicas: 1, duplicate_window: DEFAULT_DUPLICATE_WINDOW_MS * NS_PER_MS, subjects: [name], ...config };
    for (const other of this.streams.values()) {
      if (other.name === name) continue;
      if ((full.subjects as string[]).some((mine) => other.subjects.some((theirs) => overlaps(mine, theirs)))) {
        throw new JsApiError({ code: 400, err_code: 10065, description: 'subjects overlap with an existing stream' });
      }
    }
    if (existing) {
      if (create && JSON.stringify(existing.config) !== JSON.stringify(full)) {
        throw new JsApiError({ code: 400, err_code: 10058, description: 'stream name already in use with a different configuration' });
      }
      existing.config = full;
      return { ...existing.info(), type: 'io.nats.jetstream.api.v1.stream_create_response' };
    }
    const stream = new Stream(name, full, this.bus);
    this.streams.set(name, stream);
    return { ...stream.info(), type: 'io.nats.jetstream.api.v1.stream_create_response', did_create: true };
  }

  private listStreams(full: boolean, request: Config): Config {
    const offset = typeof request.offset === 'number' ? request.offset : 0;
    const subject = typeof request.subject === 'string' ? request.subject : undefined;
    const all = [...this.streams.values()].filter((s) => subject === undefined || s.takes(subject)).sort((a, b) => a.name.localeCompare(b.name));
    const page = all.slice(offset, offset + PAGE);
    const common = { total: all.length, offset, limit: PAGE };
    if (full) return { type: 'io.nats.jetstream.api.v1.stream_list_response', ...common, streams: page.map((s) => s.info()) };
    return { type: 'io.nats.jetstream.api.v1.stream_names_response', ...common, streams: page.map((s) => s.name) };
  }

  private putConsumer(streamName: string | undefined, request: Config): Config {
    const stream = this.stream(streamName);
    const config = (typeof request.config === 'object' && request.config !== null ? request.config : {}) as Config;
    const name = config.durable_name ?? config.name;
    if (typeof name !== 'string' || !name) throw new JsApiError(badRequest('the in-memory JetStream has durable consumers only'));
    if (!NAME.test(name)) throw new JsApiError(badRequest('invalid consumer name'));
    if (config.filter_subject !== undefined && typeof config.filter_subject !== 'string') throw new JsApiError(badRequest('invalid filter subject'));
    if (config.deliver_subject) throw new JsApiError(badRequest('the in-memory JetStream has pull consumers only'));
    const existing = stream.consumers.get(name);
    if (request.action === 'update') {
      if (!existing) throw new JsApiError({ code: 404, err_code: 10149, description: 'consumer does not exist' });
      existing.config = { ...existing.config, ...config };
      return existing.info();
    }
    if (existing) {
      const same = Object.entries(config).every(([key, value]) => JSON.stringify(existing.config[key]) === JSON.stringify(value));
      if (!same) throw new JsApiError({ code: 400, err_code: 10148, description: 'consumer already exists' });
      return existing.info();
    }
    const consumer = new Consumer(stream, name, { ack_policy: 'explicit', deliver_policy: 'all', ack_wait: DEFAULT_ACK_WAIT_MS * NS_PER_MS, max_deliver: -1, ...config, name });
    stream.consumers.set(name, consumer);
    return consumer.info();
  }

  /** DIRECT.GET: the message itself with Nats-Stream, -Subject, -Sequence and -Time-Stamp headers, or a 404 status. */
  private directGet(frame: JsFrame, streamName: string | undefined, subject: string, request: Config): void {
    if (!frame.reply) return;
    const stream = this.stream(streamName);
    const last = subject || (typeof request.last_by_subj === 'string' ? request.last_by_subj : '');
    let msg: Stored | undefined;
    if (last) msg = stream.lastOf(last);
    else if (typeof request.next_by_subj === 'string') {
      const next = request.next_by_subj;
      for (const candidate of stream.from(typeof request.seq === 'number' ? request.seq : 1)) {
        if (matches(next.split('.'), candidate.subject.split('.'))) {
          msg = candidate;
          break;
        }
      }
    } else msg = stream.get(Number(request.seq));
    if (!msg) {
      this.bus.send({ subject: frame.reply, data: new Uint8Array(0), header: encodeHeaders(natsHeaders(404, 'Message Not Found')) });
      return;
    }
    const headers = headersOf(msg);
    headers.set('Nats-Stream', stream.name);
    headers.set('Nats-Subject', msg.subject);
    headers.set('Nats-Sequence', String(msg.seq));
    headers.set('Nats-Time-Stamp', timestamp(msg.time));
    this.bus.send({ subject: frame.reply, data: msg.data, header: encodeHeaders(headers) });
  }
}
