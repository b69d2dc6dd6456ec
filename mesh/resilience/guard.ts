// A client's resilience: its hooks around every call, and per procedure the policy declared for it (retries within
// the call's deadline, a circuit breaker, a bulkhead, a fallback). It wraps attempts; sending them is the client's.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Args, Envelope, Kwargs } from '../wire/envelope.ts';
import { MeshError, type ErrorCode } from '../wire/errors.ts';
import { retryDelay } from './backoff.ts';
import { Breaker, type BreakerState } from './breaker.ts';
import { Bulkhead } from './bulkhead.ts';
import { checkHooks, hookError, runAfter, runBefore, runError, type CallHooks, type HookedCall } from './hooks.ts';
import { readCallPolicies, type CallPolicy, type CallPolicyInput } from './policy.ts';

/** One attempt at the call, given how long it may take. */
export type Attempt = (timeoutMs: number) => Promise<Envelope>;

/** Errors another attempt may cure: nothing answered, or one attempt ran out of its own time. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED']);
/** Errors that count against a procedure's circuit: it is down, slow, overloaded or broken, not the caller wrong. */
const BREAKER_FAILURES: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL', 'RESOURCE_EXHAUSTED']);
/** Errors a fallback answers for: the procedure could not be reached or was paused, not refused. */
const FALLBACK_CODES: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'CIRCUIT_OPEN', 'RESOURCE_EXHAUSTED']);

/** What a client's resilience did for one procedure since it started: the figures `/metrics` shows. */
export interface ResilienceFigures {
  readonly procedure: string;
  readonly retries: number;
  readonly fallbacks: number;
  readonly breaker?: { readonly state: BreakerState; readonly opened: number; readonly refused: number };
  readonly bulkhead?: { readonly inFlight: number; readonly queued: number; readonly refused: number };
}

/** The policy of one procedure, with its breaker's and bulkhead's state. */
class ProcedureGuard {
  private readonly breaker: Breaker | undefined;
  private readonly bulkhead: Bulkhead | undefined;
  private retries = 0;
  private fallbacks = 0;

  constructor(
    private readonly procedure: string,
    private readonly policy: CallPolicy,
  ) {
    this.breaker = policy.breaker && new Breaker(procedure, policy.breaker);
    this.bulkhead = policy.bulkhead && new Bulkhead(procedure, policy.bulkhead);
  }

  call(call: HookedCall, attempt: Attempt, deadline: number, signal: AbortSignal | undefined): Promise<Envelope> {
    // Without a bulkhead or a fallback there is nothing to wrap the attempts in: no async frame of its own.
    if (!this.bulkhead && !this.policy.fallback) return this.attempts(attempt, deadline, signal);
    return this.bounded(call, attempt, deadline, signal);
  }

  /** The attempts inside the bulkhead, with the fallback for what they could not answer. */
  private async bounded(call: HookedCall, attempt: Attempt, deadline: number, signal: AbortSignal | undefined): Promise<Envelope> {
    try {
      const waiting = this.bulkhead?.enter();
      if (waiting) await waiting;
      try {
        return await this.attempts(attempt, deadline, signal);
      } finally {
        this.bulkhead?.release();
      }
    } catch (err) {
      const { fallback } = this.policy;
      if (!fallback || !(err instanceof MeshError) || !FALLBACK_CODES.has(err.code)) throw err;
      this.fallbacks++;
      return typeof fallback === 'function' ? fallback(err, call) : [fallback.args, fallback.kwargs];
    }
  }

  /** Attempts until one answers, the error is not retryable, the retries are spent, or the next would pass the deadline. */
  private async attempts(attempt: Attempt, deadline: number, signal: AbortSignal | undefined): Promise<Envelope> {
    const { retries } = this.policy;
    for (let failed = 0; ;) {
      this.breaker?.admit();
      const left = Math.max(1, deadline - Date.now());
      try {
        const reply = await attempt(retries?.attemptMs === undefined ? left : Math.min(retries.attemptMs, left));
        this.breaker?.succeeded();
        return reply;
      } catch (err) {
        const code = err instanceof MeshError ? err.code : 'INTERNAL';
        if (BREAKER_FAILURES.has(code)) this.breaker?.failed();
        else this.breaker?.succeeded();
        failed++;
        if (!retries || failed > retries.max || !RETRYABLE.has(code) || signal?.aborted) throw err;
        const delay = retryDelay(retries, failed);
        if (Date.now() + delay >= deadline) throw err;
        this.retries++;
        await sleep(delay, undefined, { signal }).catch(() => Promise.reject(signal!.reason as unknown));
      }
    }
  }

  figures(): ResilienceFigures {
    const { breaker, bulkhead } = this;
    return {
      procedure: this.procedure,
      retries: this.retries,
      fallbacks: this.fallbacks,
      ...(breaker && { breaker: { state: breaker.state, opened: breaker.opened, refused: breaker.refused } }),
      ...(bulkhead && { bulkhead: { inFlight: bulkhead.inFlight, queued: bulkhead.queued, refused: bulkhead.refused } }),
    };
  }
}

export interface ResilienceOptions {
  /** Hooks around every call the client makes. */
  use?: readonly CallHooks[];
  /** Policies by procedure (`'thing_service.get': { idempotent: true, retries: { max: 3 } }`). */
  procedures?: Readonly<Record<string, CallPolicyInput>>;
}

export interface CallGuard {
  /** Makes the call through the hooks and the procedure's policy; `deadline` bounds every attempt together. */
  run(procedure: string, args: Args, kwargs: Kwargs, attempt: Attempt, deadline: number, signal: AbortSignal | undefined): Promise<Envelope>;
  figures(): ResilienceFigures[];
}

class Guard implements CallGuard {
  private readonly procedures = new Map<string, ProcedureGuard>();

  constructor(
    private readonly hooks: readonly CallHooks[],
    policies: ReadonlyMap<string, CallPolicy>,
    private readonly onHookFailure: (err: unknown) => void,
  ) {
    for (const [procedure, policy] of policies) this.procedures.set(procedure, new ProcedureGuard(procedure, policy));
  }

  run(procedure: string, args: Args, kwargs: Kwargs, attempt: Attempt, deadline: number, signal: AbortSignal | undefined): Promise<Envelope> {
    const guard = this.procedures.get(procedure);
    const call: HookedCall = { procedure, side: 'client', args, kwargs };
    if (this.hooks.length === 0) return guard ? guard.call(call, attempt, deadline, signal) : attempt(Math.max(1, deadline - Date.now()));
    return this.hooked(call, guard, attempt, deadline, signal);
  }

  private async hooked(call: HookedCall, guard: ProcedureGuard | undefined, attempt: Attempt, deadline: number, signal: AbortSignal | undefined): Promise<Envelope> {
    try {
      // Hooks that return nothing cost no turn of their own.
      const before = runBefore(this.hooks, call);
      if (before) await before;
      const reply = await (guard ? guard.call(call, attempt, deadline, signal) : attempt(Math.max(1, deadline - Date.now())));
      runAfter(this.hooks, call, reply);
      return reply;
    } catch (err) {
      const error = hookError(err);
      runError(this.hooks, call, error, this.onHookFailure);
      throw error;
    }
  }

  figures(): ResilienceFigures[] {
    return [...this.procedures.values()].map((guard) => guard.figures());
  }
}

/**
 * The guard for a client's declared hooks and policies, checked now (a ConfigError names the first wrong one), or
 * undefined when it declares none: such a client calls exactly as it would without resilience.
 */
export function createCallGuard(where: string, options: ResilienceOptions, onHookFailure: (err: unknown) => void): CallGuard | undefined {
  const hooks = checkHooks(where, options.use ?? []);
  const policies = readCallPolicies(where, options.procedures ?? {});
  if (hooks.length === 0 && policies.size === 0) return undefined;
  return new Guard(hooks, policies, onHookFailure);
}
