// When a failed task is tried again: exponential backoff with jitter, capped. Arithmetic only; the worker
// turns the delay into a `nak` with that delay, so JetStream itself holds the task until then.
export interface RetryPolicy {
  /** How many times a failed task is tried again (0: a failure is final). */
  readonly max: number;
  /** The delay before the first retry, in ms; each further retry waits twice as long, up to maxBackoff. */
  readonly backoff: number;
  /** The longest delay between attempts, in ms. */
  readonly maxBackoff: number;
}

export const DEFAULT_RETRIES: RetryPolicy = { max: 3, backoff: 1_000, maxBackoff: 5 * 60_000 };

/**
 * The delay after failed attempt `attempt` (1 for the first): backoff * 2^(attempt-1), capped, then drawn in
 * its upper half ("equal jitter"), so retries of many tasks that failed together spread out yet still grow.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoff, policy.backoff * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** A retry policy from what `@task({ retries })` declares; a TypeError names a bad value. */
export function retryPolicy(declared: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRIES, ...declared };
  if (!Number.isInteger(policy.max) || policy.max < 0) throw new TypeError('retries.max must be a whole number, at least 0');
  for (const key of ['backoff', 'maxBackoff'] as const) {
    if (!(Number.isFinite(policy[key]) && policy[key] >= 0)) throw new TypeError(`retries.${key} must be a number of ms, at least 0`);
  }
  return policy;
}
