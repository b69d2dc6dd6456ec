// The WAMP dealer on NATS. CALL is a NATS request through the shared caller; REGISTER makes the session answer a
// NATS subject in the mesh queue group, by INVOCATION and YIELD/ERROR. Per-session state lives in SessionRpc.
import type { Msg, NatsConnection, Subscription } from 'nats';
import {
  codecForContentType,
  CONTENT_TYPE_HEADER,
  decodeReply,
  jsonCodec,
  MESH_QUEUE,
  MeshError,
  parseEnvelope,
  respondError,
  respondResult,
  type Args,
  type Caller,
  type Codec,
  type Kwargs,
  type Logger,
} from '../mesh/index.ts';
import { errorFromWamp, errorPayload, errorUri } from './errors.ts';
import type { Call, Cancel, ErrorMessage, Register, Unregister, Yield } from './parse.ts';
import type { Peer } from './peer.ts';
import { MessageType, WampUri } from './protocol.ts';
import { exactSubject } from './uri.ts';

export interface DealerOptions {
  nc: NatsConnection;
  caller: Caller;
  logger: Logger;
  /** Deadline of a CALL without a `timeout` option, and how long an INVOCATION is kept waiting for its YIELD. */
  timeoutMs: number;
}

/** A NATS request waiting for the WAMP callee's YIELD or ERROR. */
interface Invocation {
  msg: Msg;
  codec: Codec;
  expires: number;
}

/** Pending invocations are swept for expired ones when their number reaches this, so a callee that never answers cannot grow them forever. */
const INVOCATION_SWEEP_SIZE = 64;

export class Dealer {
  private lastRegistrationId = 0;

  constructor(readonly options: DealerOptions) {}

  nextRegistrationId(): number {
    return ++this.lastRegistrationId;
  }

  /** The RPC state of one session: its calls in flight, its registrations and the invocations it owes. */
  attach(peer: Peer): SessionRpc {
    return new SessionRpc(this, peer);
  }
}

/** What a REGISTER gets when NATS cannot confirm the subscription. */
const REGISTRATION_UNAVAILABLE = new MeshError('UNAVAILABLE', 'NATS did not confirm the registration');

function sendError(peer: Peer, requestType: number, requestId: number, uri: string, args: Args = [], kwargs: Kwargs = {}): void {
  peer.send([MessageType.ERROR, requestType, requestId, {}, uri, args, kwargs]);
}

export class SessionRpc {
  private calls: Map<number, AbortController> | undefined;
  private registrations: Map<number, { subject: string; nats: Subscription }> | undefined;
  private invocations: Map<number, Invocation> | undefined;
  private lastInvocationId = 0;

  constructor(private readonly dealer: Dealer, private readonly peer: Peer) {}

  async call({ requestId, options, procedure, args, kwargs }: Call): Promise<void> {
    const { peer } = this;
    const subject = exactSubject(procedure);
    if (subject === undefined) return sendError(peer, MessageType.CALL, requestId, WampUri.INVALID_URI, [`'${procedure}' is not a procedure URI`]);
    const timeout = options.timeout ?? 0;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) {
      return sendError(peer, MessageType.CALL, requestId, WampUri.INVALID_ARGUMENT, ['option timeout must be a whole number of milliseconds']);
    }
    const { serializer } = peer;
    let payload: Uint8Array;
    try {
      payload = serializer.codec.encode([args, kwargs]);
    } catch {
      return sendError(peer, MessageType.CALL, requestId, WampUri.INVALID_ARGUMENT, ['arguments cannot be encoded']);
    }
    const controller = new AbortController();
    (this.calls ??= new Map()).set(requestId, controller);
    try {
      const reply = await this.dealer.options.caller.request(subject, payload, {
        timeoutMs: timeout || this.dealer.options.timeoutMs,
        signal: controller.signal,
        headers: serializer.natsHeaders,
      });
      const [resultArgs, resultKwargs] = decodeReply(reply);
      peer.send([MessageType.RESULT, requestId, {}, resultArgs, resultKwargs]);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      if (!(err instanceof MeshError)) this.dealer.options.logger.error({ err, procedure }, 'unexpected error in a call');
      sendError(peer, MessageType.CALL, requestId, errorUri(error), ...errorPayload(error));
    } finally {
      if (this.calls?.get(requestId) === controller) this.calls.delete(requestId);
    }
  }

  /** Every mode (skip, kill, killnowait) answers ERROR wamp.error.canceled at once: a NATS callee cannot be interrupted. */
  cancel({ requestId }: Cancel): void {
    this.calls?.get(requestId)?.abort();
  }

  /** REGISTERED goes out once the NATS server has the queue subscription, so a call made after it is answered. */
  async register({ requestId, options, procedure }: Register): Promise<void> {
    const { peer } = this;
    if (options.match !== undefined && options.match !== 'exact') {
      return sendError(peer, MessageType.REGISTER, requestId, WampUri.OPTION_NOT_ALLOWED, ['only exact registrations are supported']);
    }
    const subject = exactSubject(procedure);
    if (subject === undefined) return sendError(peer, MessageType.REGISTER, requestId, WampUri.INVALID_URI, [`'${procedure}' is not a procedure URI`]);
    this.registrations ??= new Map();
    for (const registration of this.registrations.values()) {
      if (registration.subject === subject) {
        return sendError(peer, MessageType.REGISTER, requestId, WampUri.PROCEDURE_ALREADY_EXISTS, [`this session already registered '${procedure}'`]);
      }
    }
    const registrationId = this.dealer.nextRegistrationId();
    const nats = this.dealer.options.nc.subscribe(subject, {
      queue: MESH_QUEUE,
      callback: (err, msg) => (err ? this.dealer.options.logger.warn({ err, subject }, 'registration failed') : this.invoke(registrationId, msg)),
    });
    this.registrations.set(registrationId, { subject, nats });
    try {
      await this.dealer.options.nc.flush();
    } catch {
      this.registrations?.delete(registrationId);
      nats.unsubscribe();
      return sendError(peer, MessageType.REGISTER, requestId, errorUri(REGISTRATION_UNAVAILABLE), [REGISTRATION_UNAVAILABLE.message]);
    }
    peer.send([MessageType.REGISTERED, requestId, registrationId]);
  }

  unregister({ requestId, registrationId }: Unregister): void {
    const registration = this.registrations?.get(registrationId);
    if (!registration) {
      return sendError(this.peer, MessageType.UNREGISTER, requestId, WampUri.NO_SUCH_REGISTRATION, [`no registration ${registrationId} in this session`]);
    }
    this.registrations!.delete(registrationId);
    registration.nats.unsubscribe();
    this.peer.send([MessageType.UNREGISTERED, requestId]);
  }

  /** A YIELD answers its NATS request; one for an invocation that is gone (expired, answered) is ignored. */
  yield({ requestId, args, kwargs }: Yield): void {
    const invocation = this.takeInvocation(requestId);
    if (!invocation) return;
    try {
      respondResult(invocation.msg, invocation.codec, [args, kwargs]);
    } catch {
      respondError(invocation.msg, invocation.codec, new MeshError('INTERNAL', 'the WAMP callee yielded a value that cannot be encoded'));
    }
  }

  /** An ERROR for an INVOCATION becomes an error reply with the mesh error its URI names. */
  error({ requestId, error, args, kwargs }: ErrorMessage): void {
    const invocation = this.takeInvocation(requestId);
    if (invocation) respondError(invocation.msg, invocation.codec, errorFromWamp(error, args, kwargs));
  }

  /** The session ended: calls are dropped, registrations leave NATS, invocations it owes fail with UNAVAILABLE. */
  close(): void {
    for (const controller of this.calls?.values() ?? []) controller.abort();
    for (const registration of this.registrations?.values() ?? []) registration.nats.unsubscribe();
    const gone = new MeshError('UNAVAILABLE', 'the WAMP session that registered this procedure has ended');
    for (const invocation of this.invocations?.values() ?? []) respondError(invocation.msg, invocation.codec, gone);
    this.calls = undefined;
    this.registrations = undefined;
    this.invocations = undefined;
  }

  private invoke(registrationId: number, msg: Msg): void {
    if (!msg.reply || !this.peer.open) return;
    const codec = codecForContentType(msg.headers?.get(CONTENT_TYPE_HEADER));
    if (!codec) return respondError(msg, jsonCodec, new MeshError('UNSUPPORTED_MEDIA_TYPE', 'request is neither JSON nor MessagePack'));
    let args: Args;
    let kwargs: Kwargs;
    try {
      [args, kwargs] = parseEnvelope(codec.decode(msg.data));
    } catch (err) {
      return respondError(msg, codec, err instanceof MeshError ? err : new MeshError('INVALID_ARGUMENT', 'malformed request'));
    }
    const invocations = (this.invocations ??= new Map());
    const now = performance.now();
    if (invocations.size >= INVOCATION_SWEEP_SIZE) {
      for (const [id, pending] of invocations) if (pending.expires < now) invocations.delete(id);
    }
    const invocationId = ++this.lastInvocationId;
    invocations.set(invocationId, { msg, codec, expires: now + this.dealer.options.timeoutMs });
    this.peer.send([MessageType.INVOCATION, invocationId, registrationId, {}, args, kwargs]);
  }

  private takeInvocation(requestId: number): Invocation | undefined {
    const invocation = this.invocations?.get(requestId);
    if (invocation) this.invocations!.delete(requestId);
    return invocation;
  }
}
