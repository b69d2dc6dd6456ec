// One WAMP session on one websocket: HELLO/WELCOME, then each message dispatched to the broker or the dealer,
// protocol violations answered with ABORT, and sends bounded by maxBufferedBytes. It owns no NATS subscription.
import type { WebSocket } from 'ws';
import { MeshError, newErrorId, startHop, tracingOn, type Logger, type GatewayAuth, type Identity, quoteName, RateLimitedError, type RateLimiter } from '../mesh/gateway.ts';
import type { Broker } from './broker.ts';
import { answerHello, answerTicket, type AuthStep, type Authenticated } from './authenticate.ts';
import type { Dealer, SessionRpc } from './dealer.ts';
import { errorPayload, errorUri } from './errors.ts';
import { recordRouterError, routerError, type CrashDetail } from './router-errors.ts';
import type { Guard } from './guard.ts';
import type { Authenticate, Call, ClientMessage, Hello, Publish, Register, Subscribe, Unsubscribe } from './parse.ts';
import { parseMessage } from './parse.ts';
import { CloseCode, MessageType, ROUTER_ROLES, WampUri } from './protocol.ts';
import type { Serializer } from './serializer.ts';
import { subjectOf, type MatchPolicy } from './uri.ts';
import type { WampMeta, MetaSession } from './wamp-meta.ts';

/** What a session needs from the router that accepted it. */
export interface SessionContext {
  readonly realm: string;
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly maxBufferedBytes: number;
  /** Longest topic URI, and NATS subject built from it, in bytes. */
  readonly maxNameBytes: number;
  readonly maxSubscriptionsPerSession: number;
  /** Budgets per caller, for CALL, PUBLISH, SUBSCRIBE and REGISTER; undefined or not enabled: no limit. */
  readonly rateLimiter?: RateLimiter;
  readonly guard: Guard;
  /** Authentication and the policy; undefined when nothing is configured (every session anonymous). */
  readonly auth: GatewayAuth | undefined;
  readonly logger: Logger;
  /** WAMP's meta API: its meta topics are subscribed here, and it hears of sessions that join and leave. */
  readonly meta: WampMeta;
  /** Issues a session id no other session of this gateway has. */
  join(): number;
  leave(session: Session): void;
}

/** Whether HELLO's details announce a feature of a role: `roles.<role>.features.<feature>` is true. */
function announces(details: Record<string, unknown>, role: string, feature: string): boolean {
  const roles = details.roles as Record<string, unknown>;
  const features = (roles[role] as { features?: Record<string, unknown> } | undefined)?.features;
  return typeof features === 'object' && features !== null && features[feature] === true;
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

/** `challenged`: CHALLENGE sent, AUTHENTICATE awaited; `authenticating`: the ticket is being checked. */
type State = 'hello' | 'challenged' | 'authenticating' | 'open' | 'closed';

/** The messages that take from a session's rate budget. */
type Counted = Call | Publish | Register | Subscribe;
const COUNTED = new Set<number>([MessageType.CALL, MessageType.PUBLISH, MessageType.REGISTER, MessageType.SUBSCRIBE]);
const isCounted = (message: ClientMessage): message is Counted => COUNTED.has(message.type);

export class Session implements MetaSession {
  id = 0;
  authid = '';
  authroles: readonly string[] = [];
  authrole = '';
  authmethod = '';
  authprovider = '';
  /** Who the session is; undefined when nothing is configured. */
  identity: Identity | undefined;
  private state: State = 'hello';
  private helloMessage: Hello | undefined;
  private claimedAuthid: string | undefined;
  private subscriptions: Set<number> | undefined;
  /** SUBSCRIBEs accepted and waiting for NATS to confirm the subscription. */
  private pendingSubscribes = 0;
  private rpc: SessionRpc | undefined;
  /** Messages behind a rate check still under way, in the order they came. */
  private backlog: Promise<void> | undefined;
  private backlogSize = 0;

  constructor(
    private readonly socket: WebSocket,
    readonly serializer: Serializer,
    private readonly context: SessionContext,
    /** The client's address, as the socket saw it: the rate limit's key for a session without identity. */
    readonly address = '',
  ) {
    socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    socket.on('close', () => this.end());
    socket.on('error', (err) => context.logger.debug({ err, session: this.id }, 'websocket error'));
  }

  get open(): boolean {
    return this.state === 'open';
  }

  send(message: unknown[]): boolean {
    if (this.state !== 'open') return true;
    let frame: Buffer;
    try {
      frame = this.serializer.encode(message);
    } catch (err) {
      const errorId = newErrorId();
      this.context.logger.error({ err, error_id: errorId, session: this.id, type: message[0] }, `a message cannot be encoded for this ${this.serializer.subprotocol} session; not sent`);
      return false;
    }
    this.sendFrame(frame);
    return true;
  }

  /** Sends unless the client has left more than maxBufferedBytes unread; such a client is closed instead. */
  sendFrame(frame: Buffer): void {
    if (this.state !== 'open') return;
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.context.maxBufferedBytes) {
      this.context.logger.warn({ session: this.id, buffered }, 'closing a WAMP session that does not read');
      this.closeSocket(CloseCode.SLOW_CONSUMER, `slow consumer: over ${this.context.maxBufferedBytes} bytes unread`);
      return;
    }
    this.socket.send(frame, this.serializer.binary ? BINARY : TEXT);
  }

  /** The gateway is stopping: GOODBYE to an open session, then the websocket closes. */
  shutdown(): void {
    if (this.state === 'open') this.sendFrame(this.serializer.encode([MessageType.GOODBYE, {}, WampUri.SYSTEM_SHUTDOWN]));
    this.closeSocket(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    const decoded = this.serializer.decode(data, isBinary);
    if (!decoded.ok) return this.violate(decoded.reason);
    const parsed = parseMessage(decoded.value);
    if (!parsed.ok) return this.violate(parsed.reason);
    this.admit(parsed.message);
  }

  /**
   * A counted message waits for its rate check and is refused over budget; every message after it waits its turn
   * (a CANCEL never overtakes its CALL). With no rate limit, or nothing waiting, a message is handled at once.
   */
  private admit(message: ClientMessage): void {
    const limiter = this.context.rateLimiter?.enabled ? this.context.rateLimiter : undefined;
    if (!this.backlog && !(limiter && this.state === 'open' && isCounted(message))) return this.route(message);
    this.backlogSize++;
    this.backlog = (this.backlog ?? Promise.resolve())
      .then(async () => {
        const refused = limiter && this.state === 'open' && isCounted(message) ? await limiter.take({ address: this.address, identity: this.identity }) : undefined;
        if (this.state === 'closed') return;
        if (refused && isCounted(message)) this.refuse(message, refused);
        else this.route(message);
      })
      .catch((err: unknown) => this.context.logger.error({ err, session: this.id }, 'rate check failed'))
      .finally(() => {
        if (--this.backlogSize === 0) this.backlog = undefined;
      });
  }

  private route(message: ClientMessage): void {
    if (this.state === 'open') this.dispatch(message);
    else if (this.state !== 'closed') this.establish(message);
  }

  /** Over budget: ERROR mesh.error.resource_exhausted with `retry_after` (seconds); an unacknowledged PUBLISH is dropped. */
  private refuse(message: Counted, error: RateLimitedError): void {
    if (message.type === MessageType.PUBLISH && !message.options.acknowledge) return;
    const name = message.type === MessageType.CALL || message.type === MessageType.REGISTER ? message.procedure : message.topic;
    this.record(error, name);
    this.send([MessageType.ERROR, message.type, message.requestId, { retry_after: error.retryAfterS }, errorUri(error), ...errorPayload(error)]);
  }

  private establish(message: ClientMessage): void {
    if (message.type === MessageType.ABORT) return this.closeSocket(CloseCode.NORMAL, 'aborted');
    if (this.state === 'hello' && message.type === MessageType.HELLO) return this.hello(message);
    if (this.state === 'challenged' && message.type === MessageType.AUTHENTICATE) return void this.authenticate(message);
    const expected = this.state === 'hello' ? 'HELLO' : this.state === 'challenged' ? 'AUTHENTICATE' : 'WELCOME';
    this.violate(`message type ${message.type} before ${expected}`);
  }

  private hello(hello: Hello): void {
    const { realm, details } = hello;
    if (typeof details.roles !== 'object' || details.roles === null || Array.isArray(details.roles)) {
      return this.violate('HELLO details must announce the client roles');
    }
    if (realm !== this.context.realm) return this.abort(WampUri.NO_SUCH_REALM, `no realm '${realm}' on this router`);
    this.helloMessage = hello;
    this.proceed(answerHello(this.context.auth, details));
  }

  /** AUTHENTICATE with the ticket: WELCOME, or ABORT wamp.error.authentication_failed. */
  private async authenticate({ signature }: Authenticate): Promise<void> {
    this.state = 'authenticating';
    const step = await answerTicket(this.context.auth!, signature, this.claimedAuthid, this.address);
    if (this.state === 'authenticating') this.proceed(step);
  }

  private proceed(step: AuthStep): void {
    if (step.step === 'abort') return this.refuseSession(step.uri, step.error);
    if (step.step === 'challenge') {
      this.state = 'challenged';
      this.claimedAuthid = step.claimedAuthid;
      return this.sendNow([MessageType.CHALLENGE, 'ticket', {}]);
    }
    this.welcome(step.authenticated);
  }

  private welcome({ identity, authmethod, authprovider }: Authenticated): void {
    const { realm, details } = this.helloMessage!;
    this.id = this.context.join();
    this.identity = identity;
    this.authid = identity?.id ?? String(this.id);
    this.authroles = identity?.roles ?? ['anonymous'];
    const authrole = (this.authrole = this.authroles[0] ?? (authmethod === 'anonymous' ? 'anonymous' : 'authenticated'));
    this.authmethod = authmethod;
    this.authprovider = authprovider;
    this.state = 'open';
    this.rpc = this.context.dealer.attach(this, identity, announces(details, 'callee', 'registration_revocation'));
    const authextra = identity ? { authextra: { roles: [...identity.roles] } } : {};
    this.send([MessageType.WELCOME, this.id, { realm, authid: this.authid, authrole, authmethod, authprovider, ...authextra, roles: ROUTER_ROLES }]);
    this.context.meta.joined(this);
  }

  private abort(uri: string, message: string): void {
    this.sendNow([MessageType.ABORT, { message }, uri]);
    this.closeSocket(CloseCode.NORMAL, 'aborted');
  }

  /**
   * A session refused at HELLO or AUTHENTICATE: ABORT whose details carry the error's code and id (logged once under
   * it) and, when the address has used its failures, `retry_after` in seconds.
   */
  private refuseSession(uri: string, error: MeshError): void {
    this.record(error, 'HELLO');
    const retry = error instanceof RateLimitedError ? { retry_after: error.retryAfterS } : {};
    this.sendNow([MessageType.ABORT, { message: error.message, code: error.code, id: error.id, ...retry }, uri]);
    this.closeSocket(CloseCode.NORMAL, 'aborted');
  }

  private dispatch(message: ClientMessage): void {
    const rpc = this.rpc!;
    switch (message.type) {
      case MessageType.HELLO:
        return this.violate('HELLO in an open session');
      case MessageType.AUTHENTICATE:
        return this.violate('AUTHENTICATE in an open session');
      case MessageType.ABORT:
        return this.closeSocket(CloseCode.NORMAL, 'aborted');
      case MessageType.GOODBYE:
        this.send([MessageType.GOODBYE, {}, WampUri.GOODBYE_AND_OUT]);
        this.leave('hello');
        return;
      case MessageType.SUBSCRIBE:
        return void this.subscribe(message);
      case MessageType.UNSUBSCRIBE:
        return this.unsubscribe(message);
      case MessageType.PUBLISH:
        return this.publish(message);
      case MessageType.CALL:
        return void rpc.call(message);
      case MessageType.CANCEL:
        return rpc.cancel(message);
      case MessageType.REGISTER:
        return void rpc.register(message);
      case MessageType.UNREGISTER:
        return rpc.unregister(message);
      case MessageType.YIELD:
        return rpc.yield(message);
      case MessageType.ERROR:
        if (message.requestType !== MessageType.INVOCATION) return this.violate(`ERROR for message type ${message.requestType}; a client only sends ERROR for INVOCATION`);
        return rpc.error(message);
      default: {
        // Every client message is handled above: a new one added to ClientMessage fails to compile here.
        const unhandled: never = message;
        return this.violate(`message type ${(unhandled as ClientMessage).type} in an open session`);
      }
    }
  }

  private async subscribe({ requestId, options: { match }, topic }: Subscribe): Promise<void> {
    const refuse = (error: MeshError) => this.error(MessageType.SUBSCRIBE, requestId, topic, error);
    if (match === 'exact' && this.context.meta.isTopic(topic)) return this.subscribeMeta(requestId, topic, refuse);
    const { subject, problem } = subjectOf(topic, match, this.context.maxNameBytes);
    if (subject === undefined) {
      return refuse(routerError('INVALID_ARGUMENT', WampUri.INVALID_URI, `${quoteName(topic)} is not a topic URI for ${match} matching: ${problem}`));
    }
    const refusal = this.context.guard.subscribe(this.identity, topic, subject, match);
    if (refusal) return refuse(routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    if (this.atSubscriptionLimit(topic, match)) return refuse(this.tooManySubscriptions());
    let subscriptionId: number;
    this.pendingSubscribes++;
    try {
      subscriptionId = await this.context.broker.subscribe(this, topic, subject, match);
    } catch {
      return refuse(new MeshError('UNAVAILABLE', 'NATS did not confirm the subscription'));
    } finally {
      this.pendingSubscribes--;
    }
    (this.subscriptions ??= new Set()).add(subscriptionId);
    this.send([MessageType.SUBSCRIBED, requestId, subscriptionId]);
  }

  /** A meta topic (wamp.session.on_join, ...): the router's own events, as the policy's `subscribe` allows. */
  private subscribeMeta(requestId: number, topic: string, refuse: (error: MeshError) => void): void {
    const refusal = this.context.guard.subscribeMeta(this.identity, topic);
    if (refusal) return refuse(routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    if (this.atSubscriptionLimit(topic, 'meta')) return refuse(this.tooManySubscriptions());
    const subscriptionId = this.context.broker.subscribeMeta(this, topic);
    (this.subscriptions ??= new Set()).add(subscriptionId);
    this.send([MessageType.SUBSCRIBED, requestId, subscriptionId]);
  }

  /** SUBSCRIBEs still waiting for NATS count too: a burst of them sent without waiting is held to the limit. */
  private atSubscriptionLimit(topic: string, match: MatchPolicy | 'meta'): boolean {
    const held = (this.subscriptions?.size ?? 0) + this.pendingSubscribes;
    return held >= this.context.maxSubscriptionsPerSession && !this.context.broker.holds(this, topic, match);
  }

  private tooManySubscriptions(): MeshError {
    return routerError('RESOURCE_EXHAUSTED', WampUri.TOO_MANY_SUBSCRIPTIONS, `a session may hold at most ${this.context.maxSubscriptionsPerSession} subscriptions`);
  }

  private unsubscribe({ requestId, subscriptionId }: Unsubscribe): void {
    if (!this.subscriptions?.delete(subscriptionId)) {
      const error = routerError('NOT_FOUND', WampUri.NO_SUCH_SUBSCRIPTION, `no subscription ${subscriptionId} in this session`);
      return this.error(MessageType.UNSUBSCRIBE, requestId, String(subscriptionId), error);
    }
    this.context.broker.unsubscribe(this, subscriptionId);
    this.send([MessageType.UNSUBSCRIBED, requestId]);
  }

  /**
   * A PUBLISH that cannot be carried out is dropped; it is answered with ERROR only when acknowledged, as the spec asks.
   * While tracing is on, the publication is a producer span, a child of the `traceparent` option (a malformed or absent
   * one starts a fresh trace); an unexpected exception is logged and reported as a crash either way.
   */
  private publish({ requestId, options, topic, args, kwargs }: Publish): void {
    const refuse = (error: MeshError, crash?: CrashDetail) => {
      if (options.acknowledge) this.error(MessageType.PUBLISH, requestId, topic, error, crash);
      else if (crash) this.record(error, topic, crash);
    };
    const { subject, problem } = subjectOf(topic, 'exact', this.context.maxNameBytes);
    if (subject === undefined) return refuse(routerError('INVALID_ARGUMENT', WampUri.INVALID_URI, `${quoteName(topic)} is not a topic URI: ${problem}`));
    if (options.passthru) return refuse(routerError('INVALID_ARGUMENT', WampUri.OPTION_NOT_ALLOWED, 'payload passthru mode (enc_algo) is not supported'));
    const refusal = this.context.guard.publish(this.identity, subject);
    if (refusal) return refuse(routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    const started = performance.now();
    const hop = tracingOn() ? startHop(subject, 'producer', options.traceparent, options.tracestate) : undefined;
    let publicationId: number;
    try {
      publicationId = this.context.broker.publish(this, subject, args, kwargs, options, hop);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error', { cause: err });
      // An unexpected exception is a crash; without tracing its report still names the publisher's trace (or a fresh one).
      refuse(error, error === err ? undefined : { started, hop: hop ?? startHop(subject, 'producer', options.traceparent), cause: err });
      return hop?.end(error);
    }
    hop?.end();
    if (options.acknowledge) this.send([MessageType.PUBLISHED, requestId, publicationId]);
  }

  /** An ERROR for a request of this session: its kwargs carry the error body with the error's id. */
  private error(requestType: number, requestId: number, name: string, error: MeshError, crash?: CrashDetail): void {
    this.record(error, name, crash);
    this.send([MessageType.ERROR, requestType, requestId, {}, errorUri(error), ...errorPayload(error)]);
  }

  /** Logs an error this session's router made, once, under its id (see recordRouterError). */
  private record(error: MeshError, name: string, crash?: CrashDetail): void {
    recordRouterError(this.context.dealer.options, error, { name, session: this.id, caller: this.identity?.id }, crash);
  }

  violate(reason: string): void {
    this.context.logger.debug({ session: this.id, reason }, 'WAMP protocol violation');
    this.sendNow([MessageType.ABORT, { message: reason }, WampUri.PROTOCOL_VIOLATION]);
    this.closeSocket(CloseCode.PROTOCOL_ERROR, 'protocol violation');
  }

  /** Sends outside an open session (ABORT); still bounded, since such a message ends the session. */
  private sendNow(message: unknown[]): void {
    this.socket.send(this.serializer.encode(message), this.serializer.binary ? BINARY : TEXT);
  }

  private closeSocket(code: number, reason: string): void {
    this.end();
    this.socket.close(code, reason);
  }

  /** Leaves the realm: subscriptions and registrations go, calls in flight are dropped. */
  private leave(next: State): void {
    if (this.state === 'open') {
      for (const subscriptionId of this.subscriptions ?? []) this.context.broker.unsubscribe(this, subscriptionId);
      this.subscriptions = undefined;
      this.rpc?.close();
      this.rpc = undefined;
      this.context.leave(this);
    }
    this.state = next;
  }

  private end(): void {
    this.leave('closed');
  }
}
