// The WAMP dealer on NATS. CALL is a NATS request through the shared caller; REGISTER makes the session answer a
// NATS subject in the mesh queue group (a pattern: its subjects in a group of its own), by INVOCATION and YIELD/ERROR.
// Per-session state and limits live in SessionRpc.
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  codecForContentType,
  CONTENT_TYPE_HEADER,
  decodeReply,
  isErrorReply,
  jsonCodec,
  MeshError,
  parseEnvelope,
  respondError,
  respondResult,
  replyStatus,
  type Args,
  type Caller,
  type Codec,
  type Kwargs,
  type Logger,
  type Namespace,
  type Reports,
  cancelModeOf,
  cancelSubject,
  cannotEncode,
  progressHeadersFor,
  quoteName,
  startHop,
  STREAM_HEADER,
  subscribe,
  TRACEPARENT_HEADER,
  withErrorId,
  type CancelMode,
  type Hop,
  type RefusalLog,
  type Identity,
  type IdentityForwarder,
  type PatternMatch,
} from '../mesh/gateway.ts';
import { errorFromWamp, errorPayload, errorUri, WampError, wampDetailOf } from './errors.ts';
import { recordRouterError, routerError, type CrashDetail } from './router-errors.ts';
import type { Call, Cancel, ErrorMessage, Register, Unregister, Yield } from './parse.ts';
import type { Peer } from './peer.ts';
import { MESH_ERROR_PREFIX, MessageType, WampUri } from './protocol.ts';
import { isInvokePolicy, Registrations, type Callee, type Registration } from './registrations.ts';
import type { Guard } from './guard.ts';
import type { MetaProcedures } from './meta.ts';
import { isTaskCall, parseTaskCall, taskCallHeaders, taskCallResult, type TaskCall, type TaskProcedures } from './task-procedures.ts';
import type { WampMeta } from './wamp-meta.ts';
import { disclosedBy, disclosure } from './disclosure.ts';
import { isMatchPolicy, moreSpecific, specificity, subjectOf, uriMatches, type MatchPolicy } from './uri.ts';

/** Per-session limits: one session over them gets an ERROR, nobody else notices. */
export interface DealerLimits {
  /** Longest procedure URI, in bytes of UTF-8 (wamp.maxNameBytes). */
  maxNameBytes: number;
  maxRegistrationsPerSession: number;
  /** CALLs of one session waiting for their RESULT. */
  maxPendingCallsPerSession: number;
  /** INVOCATIONs one session owes a YIELD or ERROR for. */
  maxPendingInvocationsPerSession: number;
}

export interface DealerOptions {
  nc: NatsConnection;
  caller: Caller;
  logger: Logger;
  /** Deadline of a CALL without a `timeout` option, and how long an INVOCATION is kept waiting for its YIELD. */
  timeoutMs: number;
  limits: DealerLimits;
  guard: Guard;
  /** Mints the `Mesh-Identity` header of each CALL; undefined when no mesh key is configured (nothing forwarded). */
  forwarder: IdentityForwarder | undefined;
  /** How often registrations are checked against the registry (rpc.registryRefreshMs). */
  revokeCheckMs: number;
  /** Procedures the router answers itself from its registry, before the policy (mesh.services). */
  meta: MetaProcedures;
  /** WAMP's meta procedures (wamp.session.*, wamp.registration.*, wamp.subscription.*), after the policy. */
  wampMeta?: WampMeta;
  /** Counts a CALL forwarded to NATS, with the HTTP status its outcome maps to; undefined when metrics are off. */
  measure?: (procedure: string, status: number, seconds: number) => void;
  /** The task procedures (mesh.tasks.*), each checked against the policy for the task it names. */
  tasks: TaskProcedures;
  /** Procedures the gateway answers itself once the policy allows them (mesh.stats): never forwarded. */
  gatewayProcedures?: ReadonlyMap<string, () => Promise<unknown>>;
  /** Registrations answer on their URI's subject under it, in its queue group. */
  namespace: Namespace;
  /** Where crash reports of the router's own INTERNAL errors go; undefined: they are only logged. */
  reports?: Reports;
  /** The lines of client errors the router refuses, rate-limited per code (INTERNAL errors never pass through it). */
  refusals: RefusalLog;
  /** Tells the mesh's registries of a registration NATS confirmed; the callee hears REGISTERED once it resolves. */
  announce?: (registration: Registration) => Promise<void>;
  /**
   * Whether something outside this process answers the procedure exactly (a hosted service, another gateway's
   * registration, as the registry shows): a pattern registration then leaves the call to it. Unset: nothing does.
   */
  answeredElsewhere?: (procedure: string) => boolean;
  /** The pattern registrations of other gateway processes, as the registry shows them. Unset: none. */
  patternsElsewhere?: () => readonly { subject: string; match?: PatternMatch }[];
}

/** A NATS request waiting for the WAMP callee's YIELD or ERROR. */
interface Invocation {
  msg: Msg;
  codec: Codec;
  procedure: string;
  started: number;
  expires: number;
  /** The NATS caller takes progressive results (`Mesh-Stream`): the INVOCATION said receive_progress. */
  stream: boolean;
}

/**
 * Header disclosing the caller to the callee (CALL option disclose_me, see disclosure.ts). A WAMP callee finds it in
 * INVOCATION's details; it is what the calling gateway states.
 */
const CALLER_HEADER = 'Wamp-Caller';

/** INVOCATION details naming the caller, from the request's headers; undefined when it did not disclose itself. */
function callerOf(headers: MsgHdrs): Record<string, unknown> | undefined {
  const value = headers.get(CALLER_HEADER);
  const disclosed = value ? disclosedBy(value) : undefined;
  return disclosed && { caller: disclosed.session, caller_authid: disclosed.authid, caller_authrole: disclosed.authrole };
}

/** WAMP's cancel modes (CANCEL's `mode`), the default first. */
const CANCEL_MODES: ReadonlySet<unknown> = new Set(['kill', 'skip', 'killnowait']);

function codecOf(msg: Msg): Codec | undefined {
  return codecForContentType(msg.headers?.get(CONTENT_TYPE_HEADER));
}

/** Answers an error reply; a WAMP detail too large for NATS is left out rather than leaving the caller waiting. */
function replyError(msg: Msg, codec: Codec, error: MeshError, logger: Logger): void {
  try {
    respondError(msg, codec, error);
  } catch (err) {
    if (!(error instanceof WampError)) return logger.warn({ err }, 'could not answer an invocation');
    try {
      respondError(msg, codec, error.plain());
    } catch (plainErr) {
      logger.warn({ err: plainErr }, 'could not answer an invocation');
    }
  }
}

export class Dealer {
  readonly registrations: Registrations;
  private readonly revokeTimer: NodeJS.Timeout;
  /** The sessions owing an answer, by the reply subject of the NATS request: what a cancel message names. */
  readonly owing = new Map<string, SessionRpc>();
  private readonly cancels: Subscription;

  constructor(readonly options: DealerOptions) {
    this.registrations = new Registrations(options.nc, options.namespace, (registration, msg) => this.route(registration, msg), options.logger);
    this.revokeTimer = setInterval(() => this.revokeTaken(), options.revokeCheckMs).unref();
    // A caller's cancel for any procedure: the callee this gateway invoked for that request, if any, is interrupted.
    const cancels = options.namespace.subject(cancelSubject('>'));
    this.cancels = subscribe(options.nc, cancels, {}, { logger: options.logger, about: { cancels } }, (msg) => {
      const reply = msg.string();
      this.owing.get(reply)?.interrupt(reply, cancelModeOf(msg.headers));
    });
  }

  /**
   * The RPC state of one session: its calls in flight, its registrations and the invocations it owes.
   * `revocation`: the callee announced registration_revocation, so it is told when a registration is taken away.
   */
  attach(peer: Peer, identity: Identity | undefined, revocation = false): SessionRpc {
    return new SessionRpc(this, peer, identity, revocation);
  }

  /** Closes the start-up race: a URI registered before its hosted service started is taken back once the registry shows the service. */
  revokeTaken(): void {
    const { guard, logger } = this.options;
    // A pattern takes nothing over: an exact responder on the mesh answers before it (routePattern).
    for (const registration of this.registrations.all()) {
      if (registration.match !== 'exact') continue;
      const taken = registration.holders().filter((callee) => !guard.mayKeep(callee.identity, registration.uri));
      if (taken.length === 0) continue;
      logger.warn({ procedure: registration.uri, callees: taken.length }, 'revoking a WAMP registration of a procedure a hosted service answers');
      this.registrations.revoke(registration, taken);
    }
  }

  close(): void {
    clearInterval(this.revokeTimer);
    if (!this.options.nc.isClosed()) this.cancels.unsubscribe();
  }

  /** Why a procedure URI (or a pattern under `match`) cannot be called or registered, or undefined. */
  procedureProblem(uri: string, match: MatchPolicy = 'exact'): string | undefined {
    const { problem } = subjectOf(uri, match, this.options.limits.maxNameBytes);
    return problem && `${quoteName(uri)} is not a procedure URI${match === 'exact' ? '' : ` for ${match} matching`}: ${problem}`;
  }

  private route(registration: Registration, msg: Msg): void {
    if (registration.match !== 'exact') return this.routePattern(registration, msg);
    const callee = registration.pick();
    if (callee) return callee.invoke(registration, msg);
    if (msg.reply) {
      const error = new MeshError('UNKNOWN_PROCEDURE', `no WAMP session answers ${quoteName(registration.uri)} any more`);
      recordRouterError(this.options, error, { name: registration.uri, session: 0, caller: undefined });
      replyError(msg, codecOf(msg) ?? jsonCodec, error, this.options.logger);
    }
  }

  /**
   * A request on a pattern registration's subjects (each pattern gets its own copy, uri.ts patternQueue). It is
   * answered only when the procedure called matches the pattern (a prefix by string), no exact responder answers it
   * here or elsewhere, and no other pattern here or on another gateway is more specific; otherwise this
   * registration stays silent and the one that should answers. A request it cannot answer is not refused: another
   * responder may have it.
   */
  private routePattern(registration: Registration, msg: Msg): void {
    if (!msg.reply) return;
    const procedure = this.options.namespace.nameOf(msg.subject);
    if (procedure === undefined || this.registrations.answering(procedure) !== registration) return;
    if (this.options.answeredElsewhere?.(procedure) || this.morePreciseElsewhere(registration, procedure)) return;
    registration.pick()?.invoke(registration, msg, procedure);
  }

  /** Whether another gateway's pattern registration matches the procedure more specifically than this one. */
  private morePreciseElsewhere(registration: Registration, procedure: string): boolean {
    for (const { subject: pattern, match } of this.options.patternsElsewhere?.() ?? []) {
      if (match && uriMatches(procedure, pattern, match) && moreSpecific(specificity(pattern, match), registration.rank)) return true;
    }
    return false;
  }
}

function sendError(peer: Peer, requestType: number, requestId: number, uri: string, args: Args = [], kwargs: Kwargs = {}): void {
  peer.send([MessageType.ERROR, requestType, requestId, {}, uri, args, kwargs]);
}

/** The span of a CALL: a child of its `traceparent` option (a malformed or absent one starts a fresh trace). */
function callHop(procedure: string, options: Call['options']): Hop {
  const { traceparent, tracestate } = options;
  return startHop(procedure, 'client', typeof traceparent === 'string' ? traceparent : undefined, typeof tracestate === 'string' ? tracestate : undefined);
}

/** A mesh error as an ERROR; its kwargs (the error body) carry its id, made here unless it came with one. */
function sendMeshError(peer: Peer, requestType: number, requestId: number, error: MeshError, uri = errorUri(error)): void {
  if (!(error instanceof WampError)) withErrorId(error);
  sendError(peer, requestType, requestId, uri, ...errorPayload(error));
}

export class SessionRpc implements Callee {
  private calls: Map<number, AbortController> | undefined;
  /** Calls in flight, counted apart from `calls`, whose keys a client may reuse. */
  private pendingCalls = 0;
  private registrations: Map<number, Registration> | undefined;
  private invocations: Map<number, Invocation> | undefined;
  private lastInvocationId = 0;

  constructor(
    private readonly dealer: Dealer,
    private readonly peer: Peer,
    /** Who the session is; undefined when nothing is configured. */
    readonly identity: Identity | undefined,
    private readonly revocation: boolean,
  ) {}

  private get limits(): DealerLimits {
    return this.dealer.options.limits;
  }

  get sessionId(): number {
    return this.peer.id;
  }

  /** A CALL; `taskCall`, when it is the call of a task's endpoint that `mesh.tasks.enqueue`, `.get` or `.retry` stands for. */
  async call(message: Call, taskCall?: TaskCall): Promise<void> {
    const { requestId, options, procedure, args, kwargs } = message;
    const { peer, limits } = this;
    if (this.dealer.options.wampMeta?.has(procedure)) return this.callWampMeta(requestId, procedure, args, kwargs);
    const problem = this.dealer.procedureProblem(procedure);
    if (problem) return this.refuse(MessageType.CALL, requestId, procedure, routerError('INVALID_ARGUMENT', WampUri.INVALID_URI, problem));
    // Every session may list what it may call: the answer is filtered by the same policy.
    if (this.dealer.options.meta.has(procedure)) return void peer.send([MessageType.RESULT, requestId, {}, ...this.dealer.options.meta.answer(procedure, this.identity)]);
    if (!taskCall && this.dealer.options.tasks.has(procedure)) return this.answerTasks(message);
    const refusal = this.dealer.options.guard.call(this.identity, procedure);
    if (refusal) return this.refuse(MessageType.CALL, requestId, procedure, routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    const own = this.dealer.options.gatewayProcedures?.get(procedure);
    if (own) return this.answerMeta(requestId, procedure, options, own);
    const timeout = options.timeout ?? 0;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) {
      return this.refuse(MessageType.CALL, requestId, procedure, routerError('INVALID_ARGUMENT', WampUri.INVALID_ARGUMENT, 'option timeout must be a whole number of milliseconds'));
    }
    if (this.pendingCalls >= limits.maxPendingCallsPerSession) {
      const error = routerError(
        'RESOURCE_EXHAUSTED',
        `${MESH_ERROR_PREFIX}resource_exhausted`,
        `this session already has ${limits.maxPendingCallsPerSession} calls in flight (wamp.maxPendingCallsPerSession)`,
      );
      return this.refuse(MessageType.CALL, requestId, procedure, error);
    }
    const { serializer } = peer;
    let payload: Uint8Array;
    try {
      payload = serializer.codec.encode([args, kwargs]);
    } catch (err) {
      return this.refuse(MessageType.CALL, requestId, procedure, routerError('INVALID_ARGUMENT', WampUri.INVALID_ARGUMENT, cannotEncode('arguments cannot be encoded', err).message));
    }
    const controller = new AbortController();
    (this.calls ??= new Map()).set(requestId, controller);
    this.pendingCalls++;
    const { measure } = this.dealer.options;
    const started = performance.now();
    let reply: Msg;
    const hop = callHop(procedure, options);
    try {
      const deadline = Date.now() + (timeout || this.dealer.options.timeoutMs);
      reply = await this.dealer.options.caller.request(procedure, payload, {
        deadline,
        signal: controller.signal,
        cancel: 'kill',
        onProgress: options.receive_progress === true ? (msg) => this.progressResult(requestId, msg) : undefined,
        headers: this.callHeaders(procedure, deadline, options.disclose_me === true, taskCall),
        trace: hop,
      });
      hop.end();
      measure?.(procedure, replyStatus(reply), (performance.now() - started) / 1000);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      this.recordIfMade(procedure, error, { started, hop, cause: err });
      hop.end(error);
      measure?.(procedure, error.status, (performance.now() - started) / 1000);
      // Only the caller's own deadline is WAMP's timeout; a service that answers DEADLINE_EXCEEDED keeps its code.
      return sendMeshError(peer, MessageType.CALL, requestId, error, error.code === 'DEADLINE_EXCEEDED' ? WampUri.TIMEOUT : errorUri(error));
    } finally {
      this.pendingCalls--;
      if (this.calls?.get(requestId) === controller) this.calls.delete(requestId);
    }
    // Canceled with `kill`: the callee has answered now, and the caller hears that its call was canceled.
    if (controller.signal.aborted) return this.refuse(MessageType.CALL, requestId, procedure, routerError('CANCELED', WampUri.CANCELED, 'the call was canceled'));
    this.answer(requestId, reply, procedure, hop, started, taskCall);
  }

  /** A WAMP meta procedure, if the policy lets the session call it: RESULT, or ERROR with the spec's URI for a bad argument. */
  private callWampMeta(requestId: number, procedure: string, args: Args, kwargs: Kwargs): void {
    const refusal = this.dealer.options.wampMeta!.ownSession(procedure) ? undefined : this.dealer.options.guard.call(this.identity, procedure);
    if (refusal) return this.refuse(MessageType.CALL, requestId, procedure, routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    let results: Args | undefined;
    try {
      results = this.dealer.options.wampMeta!.answer(this.peer, procedure, args, kwargs);
    } catch (err) {
      if (err instanceof MeshError) return this.refuse(MessageType.CALL, requestId, procedure, err);
      const error = new MeshError('INTERNAL', 'internal error', { cause: err });
      const hop = callHop(procedure, {});
      this.record(error, procedure, { started: performance.now(), hop, cause: err });
      hop.end(error);
      return sendMeshError(this.peer, MessageType.CALL, requestId, error);
    }
    this.peer.send(results ? [MessageType.RESULT, requestId, {}, results] : [MessageType.RESULT, requestId, {}]);
  }

  /** A progressive result for a caller that asked for them (receive_progress): RESULT with `progress: true`. */
  private progressResult(requestId: number, msg: Msg): void {
    let envelope: [Args, Kwargs];
    try {
      envelope = decodeReply(msg);
    } catch {
      return;
    }
    this.peer.send([MessageType.RESULT, requestId, { progress: true }, ...envelope]);
  }

  /**
   * `mesh.tasks.*`. An enqueue, a status read or a retry is a call of the task's endpoint, under the same rules as
   * calling it (a retry also takes `call` on mesh.tasks.retry), once the registry shows a task there; queues asks every task's endpoint.
   */
  private async answerTasks(message: Call): Promise<void> {
    const { requestId, options, procedure, args, kwargs } = message;
    const { tasks, guard } = this.dealer.options;
    if (!isTaskCall(procedure)) return this.answerMeta(requestId, procedure, options, () => tasks.answer(procedure, this.identity));
    let taskCall: TaskCall;
    try {
      taskCall = parseTaskCall(procedure, args, kwargs);
    } catch (err) {
      const error = err instanceof MeshError && err.code === 'NOT_FOUND' ? err : new MeshError('INVALID_ARGUMENT', (err as Error).message);
      return this.refuse(MessageType.CALL, requestId, procedure, routerError(error.code, errorUri(error), error.message));
    }
    const { task } = taskCall;
    const problem = this.dealer.procedureProblem(task);
    if (problem) return this.refuse(MessageType.CALL, requestId, task, routerError('INVALID_ARGUMENT', WampUri.INVALID_ARGUMENT, problem));
    const refusal = guard.call(this.identity, task) ?? tasks.refusal(this.identity, taskCall);
    if (refusal) return this.refuse(MessageType.CALL, requestId, task, routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    if (!(await tasks.isTask(task))) {
      return this.refuse(MessageType.CALL, requestId, task, routerError('UNKNOWN_PROCEDURE', WampUri.NO_SUCH_PROCEDURE, `no service runs a task ${quoteName(task)}`));
    }
    if (!this.peer.open) return;
    const call = taskCall.kind === 'enqueue' ? { ...message, procedure: task, args: taskCall.request.args, kwargs: taskCall.request.kwargs } : { ...message, procedure: task, args: [], kwargs: {} };
    return this.call(call, taskCall);
  }

  /** A procedure the gateway answers itself: RESULT with its value as the one argument. */
  private async answerMeta(requestId: number, procedure: string, options: Call['options'], meta: () => Promise<unknown>): Promise<void> {
    const hop = callHop(procedure, options);
    const started = performance.now();
    try {
      const value = await meta();
      hop.end();
      if (this.peer.open) this.peer.send([MessageType.RESULT, requestId, {}, [value]]);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      this.recordIfMade(procedure, error, { started, hop, cause: err });
      hop.end(error);
      if (this.peer.open) sendMeshError(this.peer, MessageType.CALL, requestId, error);
    }
  }

  /**
   * An error without an id was made here (a service's error keeps the id it was logged under): it gets its id and
   * one log line under it; an INTERNAL one a crash report too.
   */
  private recordIfMade(procedure: string, error: MeshError, crash: CrashDetail): void {
    if (error.id === undefined) this.record(error, procedure, crash);
  }

  private record(error: MeshError, procedure: string, crash?: CrashDetail): void {
    recordRouterError(this.dealer.options, error, { name: procedure, session: this.peer.id, caller: this.identity?.id }, crash);
  }

  /** An ERROR the router makes for a request of this session, logged once under its id. */
  private refuse(requestType: number, requestId: number, procedure: string, error: MeshError): void {
    this.record(error, procedure);
    sendMeshError(this.peer, requestType, requestId, error);
  }

  /**
   * CANCEL in WAMP's modes: `skip` answers the caller at once and leaves the callee alone; `killnowait` answers at once
   * and interrupts the callee; `kill` (the default) interrupts the callee and answers once it has answered.
   */
  cancel({ requestId, options }: Cancel): void {
    const mode = options.mode ?? 'kill';
    if (!CANCEL_MODES.has(mode)) {
      const error = routerError('INVALID_ARGUMENT', WampUri.INVALID_ARGUMENT, `option mode must be skip, kill or killnowait, not ${quoteName(String(mode))}`);
      return this.refuse(MessageType.CANCEL, requestId, String(requestId), error);
    }
    this.calls?.get(requestId)?.abort(mode);
  }

  /** REGISTERED goes out once the NATS server has the queue subscription, so a call made after it is answered. */
  async register({ requestId, options, procedure }: Register): Promise<void> {
    const { peer, limits } = this;
    const match = options.match ?? 'exact';
    if (!isMatchPolicy(match)) {
      const message = `option match must be exact, prefix or wildcard, not ${quoteName(String(match))}`;
      return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('INVALID_ARGUMENT', WampUri.OPTION_NOT_ALLOWED, message));
    }
    const policy = options.invoke ?? 'single';
    if (!isInvokePolicy(policy)) {
      const shown = typeof policy === 'string' ? quoteName(policy) : `a ${typeof policy}`;
      const message = `option invoke must be single, roundrobin, random, first or last, not ${shown}`;
      return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('INVALID_ARGUMENT', WampUri.INVALID_ARGUMENT, message));
    }
    const problem = this.dealer.procedureProblem(procedure, match);
    if (problem) return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('INVALID_ARGUMENT', WampUri.INVALID_URI, problem));
    if (this.dealer.options.meta.has(procedure) || this.dealer.options.tasks.has(procedure) || this.dealer.options.gatewayProcedures?.has(procedure)) {
      return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, `${quoteName(procedure)} is answered by the router itself`));
    }
    const refusal = await this.dealer.options.guard.register(this.identity, procedure, match);
    if (!peer.open) return;
    if (refusal) return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('PERMISSION_DENIED', WampUri.NOT_AUTHORIZED, refusal));
    const registrations = (this.registrations ??= new Map());
    const what = match === 'exact' ? quoteName(procedure) : `the ${match} ${quoteName(procedure)}`;
    for (const registration of registrations.values()) {
      if (registration.uri === procedure && registration.match === match) {
        return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('CONFLICT', WampUri.PROCEDURE_ALREADY_EXISTS, `this session already registered ${what}`));
      }
    }
    if (registrations.size >= limits.maxRegistrationsPerSession) {
      const error = routerError(
        'RESOURCE_EXHAUSTED',
        `${MESH_ERROR_PREFIX}resource_exhausted`,
        `this session already has ${limits.maxRegistrationsPerSession} registrations (wamp.maxRegistrationsPerSession)`,
      );
      return this.refuse(MessageType.REGISTER, requestId, procedure, error);
    }
    const registration = this.dealer.registrations.join(this, procedure, policy, match, subjectOf(procedure, match, limits.maxNameBytes).subject);
    if (!registration) {
      const held = this.dealer.registrations.find(procedure, match)?.policy;
      const reason = held === 'single' || policy === 'single' ? 'and does not share it' : `with invoke ${held}`;
      return this.refuse(MessageType.REGISTER, requestId, procedure, routerError('CONFLICT', WampUri.PROCEDURE_ALREADY_EXISTS, `another session registered ${what} ${reason}`));
    }
    registrations.set(registration.id, registration);
    try {
      await registration.ready;
    } catch {
      if (this.registrations?.get(registration.id) === registration) this.drop(registration);
      return this.refuse(MessageType.REGISTER, requestId, procedure, new MeshError('UNAVAILABLE', 'NATS did not confirm the registration'));
    }
    // The session may have ended while NATS confirmed; close() has then let the registration go.
    if (this.registrations?.get(registration.id) !== registration) return;
    this.dealer.registrations.confirm(this, registration);
    // Whoever the callee tells of its registration (a caller over HTTP) then finds it in any gateway's registry.
    await this.dealer.options.announce?.(registration);
    if (peer.open) peer.send([MessageType.REGISTERED, requestId, registration.id]);
  }

  unregister({ requestId, registrationId }: Unregister): void {
    const registration = this.registrations?.get(registrationId);
    if (!registration) {
      const error = routerError('NOT_FOUND', WampUri.NO_SUCH_REGISTRATION, `no registration ${registrationId} in this session`);
      return this.refuse(MessageType.UNREGISTER, requestId, String(registrationId), error);
    }
    this.drop(registration);
    this.peer.send([MessageType.UNREGISTERED, requestId]);
  }

  /**
   * A YIELD answers its NATS request; one for an invocation that is gone (expired, answered) is ignored. A value that
   * cannot be sent (not encodable, over the NATS max_payload) is the router's INTERNAL error: logged and reported as a
   * crash in the caller's trace.
   */
  yield({ requestId, options, args, kwargs }: Yield): void {
    if (options.progress === true) return this.yieldProgress(requestId, args, kwargs);
    const invocation = this.takeInvocation(requestId);
    if (!invocation) return;
    try {
      respondResult(invocation.msg, invocation.codec, [args, kwargs]);
    } catch (err) {
      const error = new MeshError('INTERNAL', 'the WAMP callee yielded a value that cannot be sent');
      const { procedure, msg, started } = invocation;
      const hop = startHop(procedure, 'server', msg.headers?.get(TRACEPARENT_HEADER) || undefined);
      this.replyError(msg, invocation.codec, procedure, error, { started, hop, cause: err });
      hop.end(error);
    }
  }

  /**
   * An ERROR for an INVOCATION becomes an error reply: the mesh code its URI names, and the URI, args and kwargs. It
   * enters the mesh here, so it gets its id here.
   */
  error({ requestId, error, args, kwargs }: ErrorMessage): void {
    const invocation = this.takeInvocation(requestId);
    if (invocation) this.replyError(invocation.msg, invocation.codec, invocation.procedure, errorFromWamp(error, args, kwargs, this.limits.maxNameBytes));
  }

  /** The session ended: calls are dropped, registrations leave NATS, callers of the invocations it owes get wamp.error.canceled. */
  close(): void {
    for (const controller of this.calls?.values() ?? []) controller.abort();
    for (const registration of this.registrations?.values() ?? []) this.dealer.registrations.leave(this, registration);
    for (const { msg, codec, procedure } of this.invocations?.values() ?? []) {
      this.replyError(msg, codec, procedure, routerError('UNAVAILABLE', WampUri.CANCELED, 'the WAMP callee left before answering'));
    }
    this.calls = undefined;
    this.registrations = undefined;
    this.invocations = undefined;
  }

  /** The router took a registration back: it is gone from this session, which hears of it if it asked to. */
  revoked(registration: Registration): void {
    if (!this.registrations?.delete(registration.id)) return;
    if (this.revocation) this.peer.send([MessageType.UNREGISTERED, 0, { registration: registration.id, reason: WampUri.NOT_AUTHORIZED }]);
  }

  /**
   * A NATS request for one of this session's registrations: an INVOCATION, unless the session owes too many. For a
   * pattern registration `procedure` is the URI called, which the INVOCATION's details name.
   */
  invoke(registration: Registration, msg: Msg, procedure = registration.uri): void {
    if (!msg.reply) return;
    const codec = codecOf(msg);
    if (!codec) return this.replyError(msg, jsonCodec, procedure, new MeshError('UNSUPPORTED_MEDIA_TYPE', 'request is neither JSON nor MessagePack'));
    let args: Args;
    let kwargs: Kwargs;
    try {
      [args, kwargs] = parseEnvelope(codec.decode(msg.data));
    } catch (err) {
      return this.replyError(msg, codec, procedure, err instanceof MeshError ? err : new MeshError('INVALID_ARGUMENT', 'malformed request'));
    }
    const invocations = (this.invocations ??= new Map());
    const now = performance.now();
    const max = this.limits.maxPendingInvocationsPerSession;
    if (invocations.size >= max) {
      // Invocations whose caller has given up no longer count.
      for (const [id, pending] of invocations) if (pending.expires < now) invocations.delete(id);
    }
    if (invocations.size >= max) {
      const error = routerError(
        'RESOURCE_EXHAUSTED',
        `${MESH_ERROR_PREFIX}resource_exhausted`,
        `the WAMP callee of ${quoteName(procedure)} already owes ${max} answers (wamp.maxPendingInvocationsPerSession)`,
      );
      return this.replyError(msg, codec, procedure, error);
    }
    const invocationId = this.lastInvocationId + 1;
    const stream = msg.headers?.get(STREAM_HEADER) === '1';
    const caller = msg.headers && callerOf(msg.headers);
    const called = registration.match === 'exact' ? undefined : { procedure };
    const details = stream ? { receive_progress: true, ...called, ...caller } : called || caller ? { ...called, ...caller } : {};
    let frame: Buffer;
    try {
      frame = this.peer.serializer.encode([MessageType.INVOCATION, invocationId, registration.id, details, args, kwargs]);
    } catch (err) {
      return this.replyError(msg, codec, procedure, cannotEncode(`arguments cannot be encoded for the callee (${this.peer.serializer.subprotocol})`, err));
    }
    this.lastInvocationId = invocationId;
    invocations.set(invocationId, { msg, codec, procedure, started: now, expires: now + this.dealer.options.timeoutMs, stream });
    this.dealer.owing.set(msg.reply, this);
    this.peer.sendFrame(frame);
  }

  /**
   * RESULT for a reply; ERROR for an error reply, with the callee's own URI, args and kwargs when it has them. A
   * reply that cannot be read is the router's own INTERNAL error, reported as a crash.
   */
  private answer(requestId: number, reply: Msg, procedure: string, hop: Hop, started: number, taskCall?: TaskCall): void {
    const { peer } = this;
    let envelope: [Args, Kwargs];
    try {
      envelope = decodeReply(reply);
      if (taskCall) envelope = taskCallResult(taskCall, envelope);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'reply is not decodable');
      const detail = isErrorReply(reply) ? this.wampDetail(reply) : undefined;
      if (detail) return sendError(peer, MessageType.CALL, requestId, detail.uri, detail.args, detail.kwargs);
      this.recordIfMade(procedure, error, { started, hop, cause: err });
      return sendMeshError(peer, MessageType.CALL, requestId, error);
    }
    if (peer.send([MessageType.RESULT, requestId, {}, ...envelope])) return;
    const error = new MeshError('INTERNAL', `the result cannot be encoded for this ${peer.serializer.subprotocol} session`);
    this.recordIfMade(procedure, error, { started, hop, cause: error });
    sendMeshError(peer, MessageType.CALL, requestId, error);
  }

  private wampDetail(reply: Msg) {
    try {
      return wampDetailOf((codecOf(reply) ?? jsonCodec).decode(reply.data), this.limits.maxNameBytes);
    } catch {
      return undefined;
    }
  }

  /** The NATS headers of a CALL: the Content-Type of the session's serializer, and the caller's Mesh-Identity for this procedure until the deadline. */
  private requestHeaders(procedure: string, deadline: number): MsgHdrs | undefined {
    const { forwarder, caller } = this.dealer.options;
    const { natsHeaders, codec } = this.peer.serializer;
    if (!forwarder || !this.identity) return natsHeaders;
    return forwarder.headers(this.identity, caller.subjectOf(procedure), deadline, natsHeaders ? codec.contentType : undefined);
  }

  /** A CALL's headers: a task's enqueue headers for `mesh.tasks.enqueue`, and this session named as the caller when it asks (disclose_me). */
  private callHeaders(procedure: string, deadline: number, disclose: boolean, taskCall: TaskCall | undefined): MsgHdrs | undefined {
    const headers = taskCall ? taskCallHeaders(this.requestHeaders(procedure, deadline), taskCall) : this.requestHeaders(procedure, deadline);
    return disclose ? this.disclosing(headers) : headers;
  }

  /** The request's headers naming this session as the caller (disclose_me). */
  private disclosing(headers: MsgHdrs | undefined): MsgHdrs {
    const disclosed = natsHeaders();
    for (const [name, values] of headers ?? []) for (const value of values) disclosed.append(name, value);
    disclosed.set(CALLER_HEADER, disclosure(this.peer));
    return disclosed;
  }

  private drop(registration: Registration): void {
    this.registrations?.delete(registration.id);
    this.dealer.registrations.leave(this, registration);
  }

  /** An error reply the router makes for a NATS request to one of this session's registrations, logged once under its id. */
  private replyError(msg: Msg, codec: Codec, procedure: string, error: MeshError, crash?: CrashDetail): void {
    this.record(error, procedure, crash);
    replyError(msg, codec, error, this.dealer.options.logger);
  }

  private takeInvocation(requestId: number): Invocation | undefined {
    const invocation = this.invocations?.get(requestId);
    if (invocation) {
      this.invocations!.delete(requestId);
      this.dealer.owing.delete(invocation.msg.reply!);
    }
    return invocation;
  }

  /**
   * A progressive YIELD goes to the NATS caller as a progressive result. One for an invocation that did not ask for
   * them (no receive_progress) breaks the protocol; one for an invocation that is gone is ignored, as a YIELD is.
   */
  private yieldProgress(requestId: number, args: Args, kwargs: Kwargs): void {
    const invocation = this.invocations?.get(requestId);
    if (!invocation) return;
    if (!invocation.stream) return this.peer.violate(`YIELD with progress for invocation ${requestId}, which did not ask for progressive results`);
    try {
      invocation.msg.respond(invocation.codec.encode([args, kwargs]), { headers: progressHeadersFor(invocation.codec) });
    } catch (err) {
      this.dealer.options.logger.info({ err, procedure: invocation.procedure }, 'a progressive result cannot be sent; dropped');
    }
  }

  /**
   * The caller of an invocation this session owes canceled: INTERRUPT goes to the callee in that mode. With
   * `killnowait` the caller is not waiting: the invocation is dropped and its later answer ignored.
   */
  interrupt(reply: string, mode: CancelMode): void {
    for (const [invocationId, invocation] of this.invocations ?? []) {
      if (invocation.msg.reply !== reply) continue;
      if (mode === 'killnowait') this.takeInvocation(invocationId);
      this.peer.send([MessageType.INTERRUPT, invocationId, { mode }]);
      return;
    }
  }
}
