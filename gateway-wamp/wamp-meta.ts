// WAMP's meta API on one gateway process: the session, registration and subscription meta procedures and meta
// events, and testaments. It sees this process's sessions only (not the mesh's); the policy filters what each sees.
import type { Args, Kwargs, Logger } from '../mesh/gateway.ts';
import { isKwargs, quoteName } from '../mesh/gateway.ts';
import type { Broker, SubscriptionInfo, SubscriptionWatcher } from './broker.ts';
import type { Guard } from './guard.ts';
import { parsePublishOptions, type PublishOptions } from './parse.ts';
import type { Peer } from './peer.ts';
import { MAX_ID, MESH_ERROR_PREFIX, WampUri } from './protocol.ts';
import type { Registration, RegistrationWatcher, Registrations } from './registrations.ts';
import { routerError } from './router-errors.ts';
import { isMatchPolicy, subjectOf, uriMatches, type MatchPolicy } from './uri.ts';

/** A session as the meta API describes it. */
export interface MetaSession extends Peer {
  readonly authmethod: string;
  readonly authprovider: string;
}

/** The meta events a session may subscribe to; they never travel on NATS. */
export const MetaTopic = {
  SESSION_ON_JOIN: 'wamp.session.on_join',
  SESSION_ON_LEAVE: 'wamp.session.on_leave',
  REGISTRATION_ON_CREATE: 'wamp.registration.on_create',
  REGISTRATION_ON_REGISTER: 'wamp.registration.on_register',
  REGISTRATION_ON_UNREGISTER: 'wamp.registration.on_unregister',
  REGISTRATION_ON_DELETE: 'wamp.registration.on_delete',
  SUBSCRIPTION_ON_CREATE: 'wamp.subscription.on_create',
  SUBSCRIPTION_ON_SUBSCRIBE: 'wamp.subscription.on_subscribe',
  SUBSCRIPTION_ON_UNSUBSCRIBE: 'wamp.subscription.on_unsubscribe',
  SUBSCRIPTION_ON_DELETE: 'wamp.subscription.on_delete',
} as const;

const META_TOPICS: ReadonlySet<string> = new Set(Object.values(MetaTopic));

/** WAMP's error for a session id no session has. */
const NO_SUCH_SESSION = 'wamp.error.no_such_session';

/** Meta procedures that act on the caller's own session only: no policy grant is needed (a testament's topic is checked). */
const OWN_SESSION: ReadonlySet<string> = new Set(['wamp.session.add_testament', 'wamp.session.flush_testaments']);

/** Most testaments one session may leave, over both scopes. */
export const MAX_TESTAMENTS = 64;

const SCOPES = ['detached', 'destroyed'] as const;
type Scope = (typeof SCOPES)[number];

interface Testament {
  subject: string;
  args: Args;
  kwargs: Kwargs;
  options: PublishOptions;
  bytes: number;
}

interface Testaments {
  detached: Testament[];
  destroyed: Testament[];
  bytes: number;
}

export interface WampMetaOptions {
  broker: Broker;
  guard: Guard;
  maxNameBytes: number;
  /** What the testaments of one session may take in all, encoded (the smaller of wamp.maxMessageBytes and NATS's max_payload). */
  maxTestamentBytes: number;
  logger: Logger;
}

type Answer = (caller: Peer, args: Args, kwargs: Kwargs) => Args | undefined;

const invalid = (message: string) => routerError('INVALID_ARGUMENT', WampUri.INVALID_ARGUMENT, message);

/** The positional argument at `index` as an id, or INVALID_ARGUMENT naming it. */
function idArgument(args: Args, index: number, name: string): number {
  const value = args[index];
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_ID) throw invalid(`argument ${index + 1} (${name}) must be an id`);
  return value as number;
}

function uriArgument(args: Args, name: string): string {
  const value = args[0];
  if (typeof value !== 'string' || value.length === 0) throw invalid(`argument 1 (${name}) must be a URI`);
  return value;
}

/** The optional `filter_authroles` argument of wamp.session.count and list. */
function authroleFilter(args: Args): ReadonlySet<string> | undefined {
  const value = args[0];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((role) => typeof role === 'string')) throw invalid('argument 1 (filter_authroles) must be a list of strings');
  return new Set(value as string[]);
}

/** The `match` of a lookup's options, exact by default. */
function matchOption(args: Args): MatchPolicy {
  const options = args[1] ?? {};
  if (!isKwargs(options)) throw invalid('argument 2 (options) must be a dict');
  const match = options.match ?? 'exact';
  if (!isMatchPolicy(match)) throw invalid('option match must be "exact", "prefix" or "wildcard"');
  return match;
}

function scopeOf(kwargs: Kwargs): Scope {
  const scope = kwargs.scope ?? 'destroyed';
  if (scope !== 'destroyed' && scope !== 'detached') throw invalid('scope must be "destroyed" or "detached"');
  return scope;
}

export class WampMeta implements SubscriptionWatcher, RegistrationWatcher {
  private readonly sessions = new Map<number, MetaSession>();
  private readonly testaments = new Map<number, Testaments>();
  private registrations: Registrations | undefined;
  private readonly procedures: ReadonlyMap<string, Answer>;

  constructor(private readonly options: WampMetaOptions) {
    options.broker.watcher = this;
    this.procedures = new Map<string, Answer>([
      ['wamp.session.count', (_caller, args) => [this.sessionsWith(authroleFilter(args)).length]],
      ['wamp.session.list', (_caller, args) => [this.sessionsWith(authroleFilter(args)).map((s) => s.id)]],
      ['wamp.session.get', (_caller, args) => [this.sessionDetails(this.session(idArgument(args, 0, 'session')))]],
      ['wamp.session.add_testament', (caller, args, kwargs) => this.addTestament(caller, args, kwargs)],
      ['wamp.session.flush_testaments', (caller, _args, kwargs) => this.flushTestaments(caller, kwargs)],
      ['wamp.registration.list', (caller) => [this.listed(this.visibleRegistrations(caller))]],
      ['wamp.registration.lookup', (caller, args) => [this.lookupRegistration(caller, uriArgument(args, 'procedure'), matchOption(args))]],
      ['wamp.registration.match', (caller, args) => [this.matchRegistration(caller, uriArgument(args, 'procedure'))]],
      ['wamp.registration.get', (caller, args) => [this.registrationDetails(this.registration(caller, args))]],
      ['wamp.registration.list_callees', (caller, args) => [this.registration(caller, args).calleeIds()]],
      ['wamp.registration.count_callees', (caller, args) => [this.registration(caller, args).calleeCount]],
      ['wamp.subscription.list', (caller) => [this.listed(this.visibleSubscriptions(caller))]],
      ['wamp.subscription.lookup', (caller, args) => [this.lookupSubscription(caller, uriArgument(args, 'topic'), matchOption(args))]],
      ['wamp.subscription.match', (caller, args) => [this.matchSubscriptions(caller, uriArgument(args, 'topic'))]],
      ['wamp.subscription.get', (caller, args) => [this.subscriptionDetails(this.subscription(caller, args))]],
      ['wamp.subscription.list_subscribers', (caller, args) => [[...this.subscription(caller, args).subscribers].map((peer) => peer.id)]],
      ['wamp.subscription.count_subscribers', (caller, args) => [this.subscription(caller, args).subscribers.size]],
    ]);
  }

  /** The dealer's registrations, whose life the registration meta events tell. */
  watch(registrations: Registrations): void {
    this.registrations = registrations;
    registrations.watcher = this;
  }

  /** Whether the router answers the procedure itself here. */
  has(procedure: string): boolean {
    return this.procedures.has(procedure);
  }

  /** Whether the procedure acts on the caller's own session only, so that the policy need not grant it. */
  ownSession(procedure: string): boolean {
    return OWN_SESSION.has(procedure);
  }

  /** Whether the topic is a meta topic (subscribed exactly, it never reaches NATS). */
  isTopic(topic: string): boolean {
    return META_TOPICS.has(topic);
  }

  /**
   * The positional results of a meta procedure the caller may call (the dealer asks the guard first, see ownSession),
   * or undefined for none; a bad argument throws the spec's error.
   */
  answer(caller: Peer, procedure: string, args: Args, kwargs: Kwargs): Args | undefined {
    return this.procedures.get(procedure)!(caller, args, kwargs);
  }

  joined(session: MetaSession): void {
    this.sessions.set(session.id, session);
    this.options.broker.emitMeta(MetaTopic.SESSION_ON_JOIN, () => [[this.sessionDetails(session)], {}]);
  }

  /** The session is gone: its testaments are published (detached before destroyed), then wamp.session.on_leave. */
  left(session: MetaSession): void {
    if (!this.sessions.delete(session.id)) return;
    const testaments = this.testaments.get(session.id);
    if (testaments) {
      this.testaments.delete(session.id);
      for (const scope of SCOPES) for (const testament of testaments[scope]) this.publishTestament(session, testament);
    }
    this.options.broker.emitMeta(MetaTopic.SESSION_ON_LEAVE, () => [[session.id, session.authid, session.authrole], {}]);
  }

  created(peer: Peer, subscription: SubscriptionInfo): void {
    this.emitSubscription(MetaTopic.SUBSCRIPTION_ON_CREATE, subscription, () => [peer.id, this.subscriptionDetails(subscription)]);
  }

  subscribed(peer: Peer, subscription: SubscriptionInfo): void {
    this.emitSubscription(MetaTopic.SUBSCRIPTION_ON_SUBSCRIBE, subscription, () => [peer.id, subscription.id]);
  }

  unsubscribed(peer: Peer, subscription: SubscriptionInfo): void {
    this.emitSubscription(MetaTopic.SUBSCRIPTION_ON_UNSUBSCRIBE, subscription, () => [peer.id, subscription.id]);
  }

  deleted(peer: Peer, subscription: SubscriptionInfo): void {
    this.emitSubscription(MetaTopic.SUBSCRIPTION_ON_DELETE, subscription, () => [peer.id, subscription.id]);
  }

  registrationCreated(sessionId: number, registration: Registration): void {
    this.emitRegistration(MetaTopic.REGISTRATION_ON_CREATE, registration, () => [sessionId, this.registrationDetails(registration)]);
  }

  registered(sessionId: number, registration: Registration): void {
    this.emitRegistration(MetaTopic.REGISTRATION_ON_REGISTER, registration, () => [sessionId, registration.id]);
  }

  unregistered(sessionId: number, registration: Registration): void {
    this.emitRegistration(MetaTopic.REGISTRATION_ON_UNREGISTER, registration, () => [sessionId, registration.id]);
  }

  registrationDeleted(sessionId: number, registration: Registration): void {
    this.emitRegistration(MetaTopic.REGISTRATION_ON_DELETE, registration, () => [sessionId, registration.id]);
  }

  /** A registration event goes to the meta subscribers who may see the registration. */
  private emitRegistration(topic: string, registration: Registration, args: () => Args): void {
    this.options.broker.emitMeta(
      topic,
      () => [args(), {}],
      (peer) => this.maySee(peer, registration),
    );
  }

  /** Whether the peer may call the registration's procedure (a pattern's: every procedure it matches). */
  private maySee(peer: Peer, { uri, match }: Registration): boolean {
    return this.options.guard.allowsEvery(peer.identity, 'call', uri, match);
  }

  /** A subscription event goes to the meta subscribers who may subscribe to its topic. */
  private emitSubscription(topic: string, subscription: SubscriptionInfo, args: () => Args): void {
    const { broker, guard } = this.options;
    broker.emitMeta(
      topic,
      () => [args(), {}],
      (peer) => guard.allows(peer.identity, 'subscribe', subscription.uri),
    );
  }

  private sessionsWith(authroles: ReadonlySet<string> | undefined): MetaSession[] {
    const sessions = [...this.sessions.values()];
    return authroles ? sessions.filter((session) => authroles.has(session.authrole)) : sessions;
  }

  private session(id: number): MetaSession {
    const session = this.sessions.get(id);
    if (!session) throw routerError('NOT_FOUND', NO_SUCH_SESSION, `no session ${id} on this gateway`);
    return session;
  }

  private sessionDetails(session: MetaSession): Kwargs {
    const { id, authid, authrole, authmethod, authprovider, serializer } = session;
    return { session: id, authid, authrole, authmethod, authprovider, transport: { type: 'websocket', protocol: serializer.subprotocol } };
  }

  private listed(items: { id: number; match: MatchPolicy }[]): Record<MatchPolicy, number[]> {
    const lists: Record<MatchPolicy, number[]> = { exact: [], prefix: [], wildcard: [] };
    for (const { id, match } of items) lists[match].push(id);
    return lists;
  }

  private visibleRegistrations(caller: Peer): Registration[] {
    return (this.registrations?.all() ?? []).filter((r) => this.maySee(caller, r));
  }

  private lookupRegistration(caller: Peer, uri: string, match: MatchPolicy): number | null {
    const registration = this.registrations?.find(uri, match);
    return registration && this.maySee(caller, registration) ? registration.id : null;
  }

  /** The registration of this process a call of the procedure reaches (dealer.ts routePattern), if the caller may call it. */
  private matchRegistration(caller: Peer, procedure: string): number | null {
    if (!this.options.guard.allows(caller.identity, 'call', procedure)) return null;
    return this.registrations?.answering(procedure)?.id ?? null;
  }

  /** The registration the first argument names, if the caller may see it; else wamp.error.no_such_registration. */
  private registration(caller: Peer, args: Args): Registration {
    const id = idArgument(args, 0, 'registration');
    const registration = this.visibleRegistrations(caller).find((r) => r.id === id);
    if (!registration) throw routerError('NOT_FOUND', WampUri.NO_SUCH_REGISTRATION, `no registration ${id} on this gateway`);
    return registration;
  }

  private registrationDetails({ id, created, uri, match, policy }: Registration): Kwargs {
    return { id, created, uri, match, invoke: policy };
  }

  private visibleSubscriptions(caller: Peer): SubscriptionInfo[] {
    return this.options.broker.subscriptions().filter((s) => this.options.guard.allows(caller.identity, 'subscribe', s.uri));
  }

  private lookupSubscription(caller: Peer, topic: string, match: MatchPolicy): number | null {
    return this.visibleSubscriptions(caller).find((s) => s.uri === topic && s.match === match)?.id ?? null;
  }

  private matchSubscriptions(caller: Peer, topic: string): number[] | null {
    const ids = this.visibleSubscriptions(caller)
      .filter((s) => uriMatches(topic, s.uri, s.match))
      .map((s) => s.id);
    return ids.length > 0 ? ids : null;
  }

  private subscription(caller: Peer, args: Args): SubscriptionInfo {
    const id = idArgument(args, 0, 'subscription');
    const subscription = this.options.broker.subscription(id);
    if (!subscription || !this.options.guard.allows(caller.identity, 'subscribe', subscription.uri)) {
      throw routerError('NOT_FOUND', WampUri.NO_SUCH_SUBSCRIPTION, `no subscription ${id} on this gateway`);
    }
    return subscription;
  }

  private subscriptionDetails({ id, created, uri, match }: SubscriptionInfo): Kwargs {
    return { id, created, uri, match };
  }

  /**
   * wamp.session.add_testament(topic, args, kwargs; publish_options, scope): kept until the session goes, when it is
   * published as the session's PUBLISH would be. The topic must be one the session may publish to now.
   */
  private addTestament(caller: Peer, args: Args, kwargs: Kwargs): undefined {
    const { guard, maxNameBytes, maxTestamentBytes } = this.options;
    const topic = uriArgument(args, 'topic');
    const { subject, problem } = subjectOf(topic, 'exact', maxNameBytes);
    if (subject === undefined) throw routerError('INVALID_ARGUMENT', WampUri.INVALID_URI, `${quoteName(topic)} is not a topic URI: ${problem}`);
    const [, eventArgs = [], eventKwargs = {}] = args;
    if (!Array.isArray(eventArgs)) throw invalid('argument 2 (args) must be a list');
    if (!isKwargs(eventKwargs)) throw invalid('argument 3 (kwargs) must be a dict');
    const scope = scopeOf(kwargs);
    const given = kwargs.publish_options ?? {};
    if (!isKwargs(given)) throw invalid('publish_options must be a dict');
    const options = parsePublishOptions(given);
    if (typeof options === 'string') throw invalid(options);
    if (options.passthru) throw routerError('INVALID_ARGUMENT', WampUri.OPTION_NOT_ALLOWED, 'payload passthru mode (enc_algo) is not supported');
    const refusal = guard.publish(caller.identity, subject);
    if (refusal) throw routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal);
    const testaments = this.testaments.get(caller.id) ?? { detached: [], destroyed: [], bytes: 0 };
    if (testaments.detached.length + testaments.destroyed.length >= MAX_TESTAMENTS) {
      throw routerError('RESOURCE_EXHAUSTED', `${MESH_ERROR_PREFIX}resource_exhausted`, `a session may leave at most ${MAX_TESTAMENTS} testaments`);
    }
    let bytes: number;
    try {
      bytes = caller.serializer.codec.encode([eventArgs, eventKwargs]).length + Buffer.byteLength(topic);
    } catch {
      throw invalid('the testament cannot be encoded');
    }
    if (testaments.bytes + bytes > maxTestamentBytes) {
      throw invalid(`the testaments of a session take at most ${maxTestamentBytes} bytes; this one takes ${bytes} and ${testaments.bytes} are taken`);
    }
    testaments[scope].push({ subject, args: eventArgs as Args, kwargs: eventKwargs, options: { ...options, excludeMe: false, acknowledge: false }, bytes });
    testaments.bytes += bytes;
    this.testaments.set(caller.id, testaments);
    return undefined;
  }

  /** wamp.session.flush_testaments(; scope): the session's testaments of that scope are dropped. */
  private flushTestaments(caller: Peer, kwargs: Kwargs): undefined {
    const scope = scopeOf(kwargs);
    const testaments = this.testaments.get(caller.id);
    if (!testaments) return undefined;
    for (const { bytes } of testaments[scope]) testaments.bytes -= bytes;
    testaments[scope] = [];
    return undefined;
  }

  private publishTestament(session: MetaSession, { subject, args, kwargs, options }: Testament): void {
    try {
      this.options.broker.publish(session, subject, args, kwargs, options, undefined);
    } catch (err) {
      this.options.logger.warn({ err, session: session.id, topic: subject }, 'a testament could not be published');
    }
  }
}
