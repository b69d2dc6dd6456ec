// What a handler can know about the call it is serving, through AsyncLocalStorage: `currentCall()`.
// The service host sets it around each handler and event; calls made from inside read what to carry on from it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from '../auth/identity.ts';
import type { IdentityForwarder } from '../auth/mesh-identity.ts';
import { tracingOn, type Hop } from '../observability/tracing.ts';
import { forwardedThrough, IDENTITY_HEADER, type Forwarded } from '../wire/propagation.ts';

export interface CallContext {
  /** The verified caller, or undefined when the request carried no identity. */
  readonly caller: Identity | undefined;
  /** The procedure being served, `<service>.<method>`, or the subject of the event being handled. */
  readonly procedure: string;
  /**
   * When the caller stops waiting, in ms since the epoch (compare with `Date.now()`), or undefined when the
   * request carried no `Mesh-Deadline`. Calls made from the handler inherit it; past it they fail at once.
   */
  readonly deadline: number | undefined;
  /** The W3C trace id the call belongs to (log it to find every hop of the call). */
  readonly traceId?: string;
}

/** The context as the host keeps it: also the headers that calls and events made from the handler carry on. */
export interface RunningCall extends CallContext {
  readonly forwarded: Forwarded;
  /**
   * What a call or event to `subject` (the NATS subject) made from the handler carries on: `forwarded`, with the
   * caller's identity minted again for that subject, ending by `deadline` (Infinity for an event), when the host can mint.
   */
  forwardedTo(subject: string, deadline: number): Forwarded;
}

/**
 * A request or event being served, as the host hands it to runInCall: its trace id and what its own calls forward
 * (the received headers with the hop's span as their parent) are worked out when first read, not per request.
 */
export class ServedCall implements RunningCall {
  private next: Forwarded | undefined;
  /** The forwarded headers by the identity token they carry: the same object for the same token, so clients cache by it. */
  private bound: Map<string, Forwarded> | undefined;

  constructor(
    readonly caller: Identity | undefined,
    readonly procedure: string,
    readonly deadline: number | undefined,
    private readonly hop: Hop,
    private readonly received: Forwarded,
    private readonly identities?: IdentityForwarder,
  ) {}

  get traceId(): string {
    return this.hop.traceId;
  }

  get forwarded(): Forwarded {
    if (!tracingOn()) return this.received;
    return (this.next ??= forwardedThrough(this.received, this.hop));
  }

  forwardedTo(subject: string, deadline: number): Forwarded {
    const { forwarded, caller, identities } = this;
    if (!caller || !identities || forwarded[IDENTITY_HEADER] === undefined) return forwarded;
    const token = identities.token(caller, subject, deadline);
    let bound = this.bound?.get(token);
    if (!bound) (this.bound ??= new Map()).set(token, (bound = { ...forwarded, [IDENTITY_HEADER]: token }));
    return bound;
  }
}

const storage = new AsyncLocalStorage<RunningCall>();

/** The context of the call the current handler serves; undefined outside a handler. */
export function currentCall(): CallContext | undefined {
  return storage.getStore();
}

/** The running call with what it forwards (for the framework's outgoing calls and events). */
export function runningCall(): RunningCall | undefined {
  return storage.getStore();
}

/** Runs fn inside a call context (the service host's job). */
export function runInCall<T>(context: RunningCall, fn: () => T): T {
  return storage.run(context, fn);
}
