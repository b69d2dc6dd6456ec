// What a handler can know about the call it is serving, through AsyncLocalStorage: `currentCall()`.
// The service host sets it around each handler and event; calls made from inside read what to carry on from it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from '../auth/identity.ts';
import { tracingOn, type Hop } from '../observability/tracing.ts';
import { forwardedThrough, type Forwarded } from '../wire/propagation.ts';

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
}

/**
 * A request or event being served, as the host hands it to runInCall: its trace id and what its own calls forward
 * (the received headers with the hop's span as their parent) are worked out when first read, not per request.
 */
export class ServedCall implements RunningCall {
  private next: Forwarded | undefined;

  constructor(
    readonly caller: Identity | undefined,
    readonly procedure: string,
    readonly deadline: number | undefined,
    private readonly hop: Hop,
    private readonly received: Forwarded,
  ) {}

  get traceId(): string {
    return this.hop.traceId;
  }

  get forwarded(): Forwarded {
    if (!tracingOn()) return this.received;
    return (this.next ??= forwardedThrough(this.received, this.hop));
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
