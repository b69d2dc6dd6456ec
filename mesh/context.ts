// What a handler can know about the call it is serving, through AsyncLocalStorage: `currentCall()`.
// The service host sets it around each handler; later issues add the deadline and trace context here.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from './auth/identity.ts';

export interface CallContext {
  /** The verified caller, or undefined when the request carried no identity. */
  readonly caller: Identity | undefined;
  /** The procedure being served, `<service>.<method>`. */
  readonly procedure: string;
}

const storage = new AsyncLocalStorage<CallContext>();

/** The context of the call the current handler serves; undefined outside a handler. */
export function currentCall(): CallContext | undefined {
  return storage.getStore();
}

/** Runs fn inside a call context (the service host's job). */
export function runInCall<T>(context: CallContext, fn: () => T): T {
  return storage.run(context, fn);
}
