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

/**
 * How a client makes one attempt at a call, in two steps: `send` sends it (the call's own `options` handed through
 * untouched) to end by `deadline`, `read` turns its answer into the reply or throws the error it carries. The guard
 * awaits the answer itself, so a guarded call has no async frame but the guard's; the client makes them once.
 */
export interface Attempts<O, A> {
  send(procedure: string, args: Args, kwargs: Kwargs, options: O, deadline: number): Promise<A>;
  read(answer: A, options: O): Envelope;
}

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

/**
 * The hooks and the policy of one procedure, with its breaker's and bulkhead's state. A call runs through all of
 * them in one async frame: hooks and a policy that do nothing cost no frame, closure or options object of their own.
 */
class ProcedureGuard implements GuardedProcedure {
  private readonly breaker: Breaker | undefined;
  private readonly bulkhead: Bulkhead | undefined;
  private retries = 0;
  private fallbacks = 0;

  constructor(
    private readonly procedure: string,
    private readonly policy: CallPolicy,
    private readonly hooks: readonly CallHooks[],
    private readonly onHookFailure: (err: unknown) => void,
  ) {
    this.breaker = policy.breaker && new Breaker(procedure, policy.breaker);
    this.bulkhead = policy.bulkhead && new Bulkhead(procedure, policy.bulkhead);
  }

  /** The hooks around the bulkhead, the fallback and the attempts (retried until one answers, or the error is final). */
  async call<O, A>(attempts: Attempts<O, A>, procedure: string, args: Args, kwargs: Kwargs, options: O, deadline: number, signal: AbortSignal | undefined): Promise<Envelope> {
    const call: HookedCall = { procedure, side: 'client', args, kwargs };
    try {
      // Hooks that return nothing cost no turn of their own, nor does a bulkhead with a free place.
      const before = runBefore(this.hooks, call);
      if (before) await before;
      let reply: Envelope;
      try {
        const waiting = this.bulkhead?.enter();
        if (waiting) await waiting;
        try {
          for (let failed = 1; ; failed++) {
            this.breaker?.admit();
            try {
              reply = attempts.read(await attempts.send(procedure, args, kwargs, options, this.attemptDeadline(deadline)), options);
              break;
            } catch (err) {
              await this.retryAfter(err, failed, deadline, signal);
            }
          }
          this.breaker?.succeeded();
        } finally {
          this.bulkhead?.release();
        }
      } catch (err) {
        reply = await this.fallback(err, call);
      }
      runAfter(this.hooks, call, reply);
      return reply;
    } catch (err) {
      const error = hookError(err);
      runError(this.hooks, call, error, this.onHookFailure);
      throw error;
    }
  }

  /** When the next attempt must end: with the call, or sooner when the policy gives each attempt `attemptMs`. */
  private attemptDeadline(deadline: number): number {
    const attemptMs = this.policy.retries?.attemptMs;
    return attemptMs === undefined ? deadline : Math.min(deadline, Date.now() + attemptMs);
  }

  /**
   * After failed attempt number `failed`: counts the failure for the breaker, then resolves once the backoff has passed
   * when another attempt may cure it, or throws `err` when it is final (not retryable, retries spent, canceled, or the
   * next attempt would pass the deadline).
   */
  private retryAfter(err: unknown, failed: number, deadline: number, signal: AbortSignal | undefined): Promise<unknown> {
    const code = err instanceof MeshError ? err.code : 'INTERNAL';
    if (BREAKER_FAILURES.has(code)) this.breaker?.failed();
    else this.breaker?.succeeded();
    const { retries } = this.policy;
    if (!retries || failed > retries.max || !RETRYABLE.has(code) || signal?.aborted) throw err;
    const delay = retryDelay(retries, failed);
    if (Date.now() + delay >= deadline) throw err;
    this.retries++;
    return sleep(delay, undefined, { signal }).catch(() => Promise.reject(signal!.reason as unknown));
  }

  /** The fallback's answer for what the attempts (or the breaker, or the bulkhead) could not answer; else throws `err`. */
  private fallback(err: unknown, call: HookedCall): Envelope | Promise<Envelope> {
    const { fallback } = this.policy;
    if (!fallback || !(err instanceof MeshError) || !FALLBACK_CODES.has(err.code)) throw err;
    this.fallbacks++;
    return typeof fallback === 'function' ? fallback(err, call) : [fallback.args, fallback.kwargs];
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

/** A procedure's hooks and policy, as a client calls through them. */
export interface GuardedProcedure {
  /** Makes the call, each attempt by `attempts`; `deadline` (ms since the epoch) bounds every attempt together. */
  call<O, A>(attempts: Attempts<O, A>, procedure: string, args: Args, kwargs: Kwargs, options: O, deadline: number, signal: AbortSignal | undefined): Promise<Envelope>;
}

export interface CallGuard {
  /** What a call to `procedure` goes through: its policy and the hooks; undefined when the client has neither for it. */
  of(procedure: string): GuardedProcedure | undefined;
  figures(): ResilienceFigures[];
}

/** No policy: a procedure nobody declared one for, when the client has hooks. */
const NO_POLICY: CallPolicy = { idempotent: false };

class Guard implements CallGuard {
  private readonly procedures = new Map<string, ProcedureGuard>();
  /** The hooks alone, for the procedures without a policy; undefined without hooks. */
  private readonly hooksOnly: ProcedureGuard | undefined;

  constructor(hooks: readonly CallHooks[], policies: ReadonlyMap<string, CallPolicy>, onHookFailure: (err: unknown) => void) {
    for (const [procedure, policy] of policies) this.procedures.set(procedure, new ProcedureGuard(procedure, policy, hooks, onHookFailure));
    this.hooksOnly = hooks.length > 0 ? new ProcedureGuard('', NO_POLICY, hooks, onHookFailure) : undefined;
  }

  of(procedure: string): GuardedProcedure | undefined {
    return this.procedures.get(procedure) ?? this.hooksOnly;
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
