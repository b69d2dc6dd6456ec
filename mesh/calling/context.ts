// What a handler can know about the call it is serving, through AsyncLocalStorage: `currentCall()`.
// The service host sets it around each handler and event; calls made from inside read what to carry on from it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from '../auth/identity.ts';
import type { IdentityForwarder } from '../auth/mesh-identity.ts';
import { tracingOn, type Hop } from '../observability/tracing.ts';
import { forwardedThrough, IDENTITY_HEADER, type Forwarded } from '../wire/propagation.ts';
import { MeshError } from '../wire/errors.ts';

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
  /**
   * Aborted when the caller cancels or the deadline passes, its reason a MeshError (CANCELED or DEADLINE_EXCEEDED):
   * hand it to what the handler waits on. Calls made from the handler carry it on, so they are canceled with it.
   */
  readonly signal: AbortSignal;
  /**
   * Sends one progressive result (`[[value], {}]`) to a caller that asked for them; a caller that did not gets only
   * the final result. An async generator method does the same with each value it yields. In a @task's attempt it
   * records the task's progress (its status and a `progress` event).
   */
  progress(value: unknown): void;
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

/** What the host lets a call it serves do beyond its own work: be canceled by its caller, and stream to it. */
export interface CallChannel {
  /** The signal was read: the host keeps its controller, to abort it when the caller cancels. */
  watch(controller: AbortController): void;
  /** Sends a progressive result, when the caller asked for them. */
  progress(value: unknown): void;
}

/** A channel for a call nobody can cancel or stream from (an event): its signal aborts at the deadline only. */
const NO_CHANNEL: CallChannel = { watch: () => undefined, progress: () => undefined };

/**
 * A request or event being served, as the host hands it to runInCall: its trace id and what its own calls forward
 * (the received headers with the hop's span as their parent) are worked out when first read, not per request; so
 * is its signal, with the deadline's timer: a handler that never reads it costs neither.
 */
export class ServedCall implements RunningCall {
  private next: Forwarded | undefined;
  private controller: AbortController | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** The forwarded headers by the identity token they carry: the same object for the same token, so clients cache by it. */
  private bound: Map<string, Forwarded> | undefined;

  constructor(
    readonly caller: Identity | undefined,
    readonly procedure: string,
    readonly deadline: number | undefined,
    private readonly hop: Hop,
    private readonly received: Forwarded,
    /** Mints the identity the calls and events the handler makes carry on, each for its own subject. */
    private readonly identities?: IdentityForwarder,
    private readonly channel: CallChannel = NO_CHANNEL,
  ) {}

  get traceId(): string {
    return this.hop.traceId;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      this.channel.watch(controller);
      if (this.deadline !== undefined) {
        const abort = () => controller.abort(new MeshError('DEADLINE_EXCEEDED', `the caller's deadline for '${this.procedure}' passed`));
        this.deadlineTimer = setTimeout(abort, Math.max(0, this.deadline - Date.now())).unref();
      }
    }
    return this.controller.signal;
  }

  progress(value: unknown): void {
    this.channel.progress(value);
  }

  /** The call is answered: its deadline timer goes. */
  end(): void {
    clearTimeout(this.deadlineTimer);
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
