// When a failed task is tried again: exponential backoff with jitter, capped. Arithmetic only; the worker
// turns the delay into a `nak` with that delay, so JetStream itself holds the task until then.
import type { RetryPolicy } from '../resilience/backoff.ts';

export { retryDelay, type RetryPolicy } from '../resilience/backoff.ts';

export const DEFAULT_RETRIES: RetryPolicy = { max: 3, backoff: 1_000, maxBackoff: 5 * 60_000 };

/** A retry policy from what `@task({ retries })` declares; a TypeError names a bad value. */
export function retryPolicy(declared: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRIES, ...declared };
  if (!Number.isInteger(policy.max) || policy.max < 0) throw new TypeError('retries.max must be a whole number, at least 0');
  for (const key of ['backoff', 'maxBackoff'] as const) {
    if (!(Number.isFinite(policy[key]) && policy[key] >= 0)) throw new TypeError(`retries.${key} must be a number of ms, at least 0`);
  }
  return policy;
}
