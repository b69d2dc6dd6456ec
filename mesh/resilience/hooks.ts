// Middleware around calls: before, after and error hooks that see every call a client makes or a service host
// serves. They observe and may refuse (a `before` that throws); they do not change arguments or results.
import { z } from 'zod';
import type { Args, Kwargs } from '../wire/envelope.ts';
import { MeshError } from '../wire/errors.ts';
import { houseMessages } from '../process/wording.ts';
import { declarationError } from './policy.ts';

/** One call as a hook sees it: which procedure, on which side, with which arguments. */
export interface HookedCall {
  readonly procedure: string;
  /** `client` for a call a client makes, `service` for one a service host serves. */
  readonly side: 'client' | 'service';
  readonly args: Args;
  readonly kwargs: Kwargs;
}

export interface CallHooks {
  /** Runs before the call is made or served; throwing (or rejecting) refuses the call with that error. */
  before?(call: HookedCall): void | Promise<void>;
  /** Runs once the call has a result, before the caller gets it; throwing fails the call with that error. */
  after?(call: HookedCall, result: unknown): void;
  /** Runs once the call has failed, with the error the caller gets; what it throws is logged, not replied. */
  error?(call: HookedCall, error: MeshError): void;
}

const hook = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', 'must be a function');

/** A hook set: an object with at least one of before, after and error, each a function, and nothing else. */
const hooksSchema = z
  .strictObject({ before: hook.optional(), after: hook.optional(), error: hook.optional() })
  .refine((hooks) => hooks.before || hooks.after || hooks.error, 'needs a before, after or error function');

/** Checks hook sets where they are declared (`use`), so a bad one stops the start, as a ConfigError, instead of the first call. */
export function checkHooks(where: string, declared: unknown): readonly CallHooks[] {
  const list = z.array(hooksSchema).safeParse(declared, { error: houseMessages });
  if (!list.success) throw declarationError(where, ['use'], list.error);
  return declared as readonly CallHooks[];
}

/** What a hook threw, as the error the call fails with: a MeshError as it is, anything else INTERNAL. */
export function hookError(err: unknown): MeshError {
  return err instanceof MeshError ? err : new MeshError('INTERNAL', 'a call hook failed', { cause: err });
}

/** Runs every `before` in order; a promise when one of them returned one, undefined when all ran at once. */
export function runBefore(hooks: readonly CallHooks[], call: HookedCall): Promise<void> | undefined {
  for (let i = 0; i < hooks.length; i++) {
    const pending = hooks[i]!.before?.(call);
    if (pending) return pending.then(() => runBefore(hooks.slice(i + 1), call));
  }
  return undefined;
}

export function runAfter(hooks: readonly CallHooks[], call: HookedCall, result: unknown): void {
  for (const set of hooks) set.after?.(call, result);
}

/** Runs every `error` hook; one that throws is reported to `onHookFailure` and the others still run. */
export function runError(hooks: readonly CallHooks[], call: HookedCall, error: MeshError, onHookFailure: (err: unknown) => void): void {
  for (const set of hooks) {
    try {
      set.error?.(call, error);
    } catch (err) {
      onHookFailure(err);
    }
  }
}
