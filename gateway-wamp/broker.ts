// The WAMP broker on NATS: one NATS subscription per subscribed subject per gateway, shared by every session on
// it (reference counted), and PUBLISH as a NATS publish in the publisher's serializer, so MessagePack binary
// values reach MessagePack subscribers unchanged. Each event is decoded once and encoded once per serializer.
// A publication is a producer span whose `traceparent` goes on in NATS headers, so @event handlers run in its trace.
// Meta topics (wamp.session.on_join, ...) are local topics without NATS: the router's meta API emits on them.
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  cannotEncode,
  codecForContentType,
  subscribe,
  CONTENT_TYPE_HEADER,
  MeshError,
  parseEnvelope,
  type Args,
  type Envelope,
  type Kwargs,
  type Logger,
  type Namespace,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  type Hop,
} from '../mesh/gateway.ts';
import { disclosedBy, disclosure } from './disclosure.ts';
import { randomId } from './ids.ts';
import type { PublishOptions } from './parse.ts';
import type { Peer } from './peer.ts';
import type { Serializer } from './serializer.ts';
import { MAX_ID, MAX_SESSION_LIST, MessageType } from './protocol.ts';
import { matchesPrefix, natsSubjectsOf, type MatchPolicy } from './uri.ts';

/**
 * Header carrying the publication id, so PUBLISHED and every EVENT on every gateway agree on it; with disclose_me,
 * `<id>;<publisher session>;<authid>;<authrole>` (both percent-encoded): a header every event is read for already.
 */
const PUBLICATION_HEADER = 'Wamp-Publication';
/** Header naming the publishing session (`<gateway id>/<session id>`) when it must not get its own event. */
const EXCLUDE_HEADER = 'Wamp-Exclude';
/** Header listing the session ids that must not get the event (PUBLISH option `exclude`), as `[1,2,3]`. */
const EXCLUDE_SESSIONS_HEADER = 'Wamp-Exclude-Sessions';
/** Header listing the only session ids that may get the event (PUBLISH option `eligible`), as `[1,2,3]`. */
const ELIGIBLE_HEADER = 'Wamp-Eligible';

/** Headers carrying the authid and authrole black/white lists of a PUBLISH, each as a nameList. */
const AUTH_LIST_HEADERS = {
  excludeAuthid: 'Wamp-Exclude-Authid',
  excludeAuthrole: 'Wamp-Exclude-Authrole',
  eligibleAuthid: 'Wamp-Eligible-Authid',
  eligibleAuthrole: 'Wamp-Eligible-Authrole',
} as const;
type AuthList = keyof typeof AUTH_LIST_HEADERS;

/** Names as a header value: each percent-encoded, so the value is header-safe, joined by commas; `-` for an empty list. */
function nameList(names: string[]): string {
  return names.length === 0 ? '-' : names.map(encodeURIComponent).join(',');
}

/** The names of a nameList header; undefined when it is absent, null when it is malformed (the event goes nowhere). */
function readNameList(headers: MsgHdrs | undefined, name: string): ReadonlySet<string> | undefined | null {
  const value = headers?.get(name);
  if (!value) return undefined;
  if (value === '-') return new Set();
  try {
    return new Set(value.split(',').map(decodeURIComponent));
  } catch {
    return null;
  }
}

/** A header value written by sessionList: digits and commas in brackets, so it is header-safe and bounded. */
const SESSION_LIST = /^\[(?:[0-9]{1,16}(?:,[0-9]{1,16})*)?\]$/;

function sessionList(ids: number[]): string {
  return `[${ids.join(',')}]`;
}

/** The session ids of a list header; undefined when it is absent, null when it is malformed (the event goes nowhere). */
function readSessionList(headers: MsgHdrs | undefined, name: string): ReadonlySet<number> | undefined | null {
  const value = headers?.get(name);
  if (!value) return undefined;
  if (value.length > MAX_SESSION_LIST * 17 + 2 || !SESSION_LIST.test(value)) return null;
  return new Set(value === '[]' ? [] : value.slice(1, -1).split(',').map(Number));
}

/** Bytes NATS counts for headers: the `NATS/1.0` line, each `name: value` line and the blank line. */
function headerBytes(headers: MsgHdrs): number {
  let size = 12;
  for (const [name, values] of headers) for (const value of values) size += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return size;
}

/** The EVENT details naming a publisher that disclosed itself (disclosure.ts); undefined when malformed. */
function publisherOf(value: string): Record<string, unknown> | undefined {
  const disclosed = disclosedBy(value);
  return disclosed && { publisher: disclosed.session, publisher_authid: disclosed.authid, publisher_authrole: disclosed.authrole };
}

/** What the subscription meta API tells of a subscription. */
export interface SubscriptionInfo {
  readonly id: number;
  /** The topic URI as subscribed (a prefix or wildcard pattern under those policies). */
  readonly uri: string;
  readonly match: MatchPolicy;
  /** When it was created, ISO 8601. */
  readonly created: string;
  readonly subscribers: ReadonlySet<Peer>;
}

/** Told of each subscription's life, for the subscription meta events (meta.ts). */
export interface SubscriptionWatcher {
  created(peer: Peer, subscription: SubscriptionInfo): void;
  subscribed(peer: Peer, subscription: SubscriptionInfo): void;
  unsubscribed(peer: Peer, subscription: SubscriptionInfo): void;
  deleted(peer: Peer, subscription: SubscriptionInfo): void;
}

/** A NATS subscription shared by the sessions subscribed to one topic under one match policy. */
interface Topic extends SubscriptionInfo {
  readonly key: string;
  readonly pattern: boolean;
  /** What a topic must start with to be delivered (a prefix of more than one part); undefined: NATS matched it. */
  readonly prefix: string | undefined;
  readonly subscribers: Set<Peer>;
  /** None for a meta topic, two for a one-part prefix (natsSubjectsOf). */
  nats: Subscription[];
  /** Settles once the NATS server has the subscription: a session joins only then. */
  ready: Promise<void>;
  /** Sessions waiting for `ready`; the subscription is kept while any are. */
  joining: number;
}

export class Broker {
  private readonly topics = new Map<string, Topic>();
  private readonly byId = new Map<number, Topic>();
  private lastId = 0;
  /** Meta topics with subscribers: while 0, nothing is built for a meta event. */
  private metaTopics = 0;
  /** Told of subscriptions made and dropped (the subscription meta events); unset: nothing is. */
  watcher: SubscriptionWatcher | undefined;

  constructor(
    private readonly nc: NatsConnection,
    /** Distinguishes this gateway's sessions from another gateway's in EXCLUDE_HEADER. */
    private readonly gatewayId: string,
    private readonly logger: Logger,
    /** Topics are subscribed and published on their subjects under it; events name the topic without its prefix. */
    private readonly namespace: Namespace,
  ) {}

  /** Number of topics subscribed, one per distinct topic and policy. */
  get natsSubscriptions(): number {
    return this.topics.size;
  }

  /**
   * Adds the peer to the shared subscription of the topic URI (its NATS subject `subject`, see uri.ts), creating it
   * if needed; the same topic and policy give the same id. Resolves once the NATS server has the subscription, so an
   * event published after SUBSCRIBED reaches the session and none reaches it before; rejects when NATS cannot confirm it.
   */
  async subscribe(peer: Peer, uri: string, subject: string, match: MatchPolicy): Promise<number> {
    const key = `${match} ${uri}`;
    let topic = this.topics.get(key);
    if (!topic) {
      const guard = { logger: this.logger, about: { topic: uri } };
      const created = (topic = this.newTopic(key, uri, match, match === 'prefix' && uri.includes('.') ? uri : undefined));
      created.nats = natsSubjectsOf(uri, match, subject).map((s) => subscribe(this.nc, this.namespace.subject(s), {}, guard, (msg) => this.deliver(created, msg)));
      created.ready = this.nc.flush();
      this.watcher?.created(peer, topic);
    }
    topic.joining++;
    try {
      await topic.ready;
    } finally {
      topic.joining--;
    }
    if (!peer.open) {
      this.release(topic);
      throw new Error('the session ended before its subscription was ready');
    }
    if (!topic.subscribers.has(peer)) {
      topic.subscribers.add(peer);
      this.watcher?.subscribed(peer, topic);
    }
    return topic.id;
  }

  /** Adds the peer to a meta topic of the router (wamp.session.on_join, ...), which NATS never carries. */
  subscribeMeta(peer: Peer, uri: string): number {
    const key = `meta ${uri}`;
    let topic = this.topics.get(key);
    topic ??= this.newTopic(key, uri, 'exact', undefined);
    if (topic.subscribers.size === 0) this.metaTopics++;
    topic.subscribers.add(peer);
    return topic.id;
  }

  /**
   * Sends an event on a meta topic to its subscribers that may see it; `event` builds its [args, kwargs] only when
   * someone is subscribed, so a meta event nobody listens to costs one comparison.
   */
  emitMeta(uri: string, event: () => [Args, Kwargs], visible?: (peer: Peer) => boolean): void {
    if (this.metaTopics === 0) return;
    const topic = this.topics.get(`meta ${uri}`);
    if (!topic || topic.subscribers.size === 0) return;
    const message = [MessageType.EVENT, topic.id, randomId(), {}, ...event()];
    const frames: [(Buffer | null)?, (Buffer | null)?] = [];
    for (const peer of topic.subscribers) {
      if (!peer.open || (visible && !visible(peer))) continue;
      const { serializer } = peer;
      let frame = frames[serializer.index];
      if (frame === undefined) frame = frames[serializer.index] = this.eventFrame(serializer, message, uri);
      if (frame) peer.sendFrame(frame);
    }
  }

  /** The subscriptions NATS carries (meta topics left out), for the subscription meta API. */
  subscriptions(): SubscriptionInfo[] {
    return [...this.byId.values()].filter((topic) => topic.nats.length > 0);
  }

  /** A subscription NATS carries, by id. */
  subscription(id: number): SubscriptionInfo | undefined {
    const topic = this.byId.get(id);
    return topic && topic.nats.length > 0 ? topic : undefined;
  }

  /** Whether the peer already holds the subscription of the topic under `match` (subscribing again gives the same one). */
  holds(peer: Peer, uri: string, match: MatchPolicy | 'meta'): boolean {
    return this.topics.get(`${match} ${uri}`)?.subscribers.has(peer) ?? false;
  }

  /** Removes the peer from a subscription; the NATS subscription goes with its last subscriber. False if the peer had none. */
  unsubscribe(peer: Peer, subscriptionId: number): boolean {
    const topic = this.byId.get(subscriptionId);
    if (!topic?.subscribers.delete(peer)) return false;
    if (topic.nats.length === 0) {
      if (topic.subscribers.size === 0) this.metaTopics--;
      return true;
    }
    this.watcher?.unsubscribed(peer, topic);
    if (this.release(topic)) this.watcher?.deleted(peer, topic);
    return true;
  }

  /**
   * Publishes [args, kwargs] on the subject in the publisher's serializer; returns the publication id that every
   * subscriber sees. `hop`, the publication's span while tracing is on (the publisher ends it), goes on in the NATS
   * headers. Throws INVALID_ARGUMENT when the arguments cannot be encoded (nested deeper than the codec goes), and
   * PAYLOAD_TOO_LARGE when the message passes the NATS server's max_payload, both before anything is sent; UNAVAILABLE
   * when NATS refuses it.
   */
  publish(peer: Peer, subject: string, args: Args, kwargs: Kwargs, options: PublishOptions, hop: Hop | undefined): number {
    const { codec } = peer.serializer;
    let payload: Uint8Array;
    try {
      payload = codec.encode([args, kwargs]);
    } catch (err) {
      throw cannotEncode('arguments cannot be encoded', err);
    }
    const headers = natsHeaders();
    const publicationId = randomId();
    headers.set(PUBLICATION_HEADER, options.discloseMe ? `${publicationId};${disclosure(peer)}` : String(publicationId));
    if (hop) headers.set(TRACEPARENT_HEADER, hop.traceparent);
    if (hop?.tracestate !== undefined) headers.set(TRACESTATE_HEADER, hop.tracestate);
    if (peer.serializer.natsHeaders) headers.set(CONTENT_TYPE_HEADER, codec.contentType);
    if (options.excludeMe) headers.set(EXCLUDE_HEADER, `${this.gatewayId}/${peer.id}`);
    if (options.exclude?.length) headers.set(EXCLUDE_SESSIONS_HEADER, sessionList(options.exclude));
    if (options.eligible) headers.set(ELIGIBLE_HEADER, sessionList(options.eligible));
    for (const [option, header] of Object.entries(AUTH_LIST_HEADERS) as [AuthList, string][]) {
      const names = options[option];
      // An empty exclusion excludes nobody; an empty eligible list lets nobody in.
      if (names && (names.length > 0 || option.startsWith('eligible'))) headers.set(header, nameList(names));
    }
    const size = payload.length + headerBytes(headers);
    const maxPayload = this.nc.info?.max_payload;
    if (maxPayload !== undefined && size > maxPayload) {
      throw new MeshError('PAYLOAD_TOO_LARGE', `the event takes ${size} bytes; the NATS server takes at most ${maxPayload}`);
    }
    try {
      this.nc.publish(this.namespace.subject(subject), payload, { headers });
    } catch (err) {
      throw new MeshError('UNAVAILABLE', `cannot publish: ${(err as Error).message}`, { cause: err });
    }
    return publicationId;
  }

  close(): void {
    for (const topic of this.topics.values()) for (const nats of topic.nats) nats.unsubscribe();
    this.topics.clear();
    this.byId.clear();
  }

  /** A topic with no subscriber and no NATS subscription yet, registered under its key and a new id. */
  private newTopic(key: string, uri: string, match: MatchPolicy, prefix: string | undefined): Topic {
    const topic: Topic = {
      id: ++this.lastId,
      key,
      uri,
      match,
      created: new Date().toISOString(),
      pattern: match !== 'exact',
      prefix,
      subscribers: new Set(),
      nats: [],
      ready: Promise.resolve(),
      joining: 0,
    };
    this.topics.set(key, topic);
    this.byId.set(topic.id, topic);
    return topic;
  }

  /** Drops the NATS subscription of a topic nobody has or is joining; true when it did. */
  private release(topic: Topic): boolean {
    if (topic.subscribers.size > 0 || topic.joining > 0 || this.byId.get(topic.id) !== topic) return false;
    this.topics.delete(topic.key);
    this.byId.delete(topic.id);
    for (const nats of topic.nats) nats.unsubscribe();
    return true;
  }

  /** A message with a reply subject is somebody's request, never an event: no session sees another caller's requests. */
  private deliver(topic: Topic, msg: Msg): void {
    if (topic.subscribers.size === 0 || msg.reply) return;
    const name = topic.pattern ? this.namespace.nameOf(msg.subject) : undefined;
    if (topic.prefix !== undefined && !matchesPrefix(name!, topic.prefix)) return;
    const envelope = this.decodeEvent(msg);
    if (!envelope) return;
    const headers = msg.headers;
    const publication = headers?.get(PUBLICATION_HEADER) ?? '';
    const semicolon = publication.indexOf(';');
    const stated = Number(semicolon < 0 ? publication : publication.slice(0, semicolon));
    const publicationId = Number.isInteger(stated) && stated >= 1 && stated <= MAX_ID ? stated : randomId();
    const excluded = this.excludedSession(headers);
    const excludedSessions = readSessionList(headers, EXCLUDE_SESSIONS_HEADER);
    const eligible = readSessionList(headers, ELIGIBLE_HEADER);
    const byAuth = {} as Record<AuthList, ReadonlySet<string> | undefined | null>;
    for (const [option, header] of Object.entries(AUTH_LIST_HEADERS) as [AuthList, string][]) byAuth[option] = readNameList(headers, header);
    if (excludedSessions === null || eligible === null || Object.values(byAuth).includes(null)) {
      this.logger.debug({ subject: msg.subject }, 'event with a malformed session list; not delivered');
      return;
    }
    const publisher = semicolon < 0 ? undefined : publisherOf(publication.slice(semicolon + 1));
    const details = name !== undefined ? { topic: name, ...publisher } : (publisher ?? {});
    const event = [MessageType.EVENT, topic.id, publicationId, details, envelope[0], envelope[1]];
    /** Each serializer's frame of the event, made once; null when that serializer cannot carry it (nested too deep). */
    const frames: [(Buffer | null)?, (Buffer | null)?] = [];
    for (const peer of topic.subscribers) {
      if (peer.id === excluded || excludedSessions?.has(peer.id) || (eligible && !eligible.has(peer.id))) continue;
      if (byAuth.excludeAuthid?.has(peer.authid) || (byAuth.eligibleAuthid && !byAuth.eligibleAuthid.has(peer.authid))) continue;
      if (byAuth.excludeAuthrole && peer.authroles.some((role) => byAuth.excludeAuthrole!.has(role))) continue;
      if (byAuth.eligibleAuthrole && !peer.authroles.some((role) => byAuth.eligibleAuthrole!.has(role))) continue;
      const { serializer } = peer;
      let frame = frames[serializer.index];
      if (frame === undefined) frame = frames[serializer.index] = this.eventFrame(serializer, event, msg.subject);
      if (frame) peer.sendFrame(frame);
    }
  }

  /** An event's frame in a serializer, or null (and a log line) when that serializer cannot encode it. */
  private eventFrame(serializer: Serializer, event: unknown[], subject: string): Buffer | null {
    try {
      return serializer.encode(event);
    } catch (err) {
      this.logger.warn({ subject, serializer: serializer.subprotocol, reason: (err as Error).message }, 'event cannot be encoded for these subscribers; not delivered to them');
      return null;
    }
  }

  private excludedSession(headers: MsgHdrs | undefined): number | undefined {
    const value = headers?.get(EXCLUDE_HEADER);
    if (!value) return undefined;
    const slash = value.lastIndexOf('/');
    return value.slice(0, slash) === this.gatewayId ? Number(value.slice(slash + 1)) : undefined;
  }

  private decodeEvent(msg: Msg): Envelope | undefined {
    const codec = codecForContentType(msg.headers?.get(CONTENT_TYPE_HEADER));
    try {
      if (!codec) throw new Error('unsupported Content-Type');
      return parseEnvelope(codec.decode(msg.data));
    } catch (err) {
      this.logger.debug({ subject: msg.subject, err }, 'event is not [args, kwargs]; not delivered');
      return undefined;
    }
  }
}
