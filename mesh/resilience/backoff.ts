// How long to wait before trying a failed attempt again: exponential backoff with jitter, capped. Arithmetic only;
// the resilient caller sleeps that long, the task worker hands the delay to JetStream as a `nak`.
export interface RetryPolicy {
  /** How many times a failed attempt is tried again (0: a failure is final). */
  readonly max: number;
  /** The delay before the first retry, in ms; each further retry waits twice as long, up to maxBackoff. */
  readonly backoff: number;
  /** The longest delay between attempts, in ms. */
  readonly maxBackoff: number;
}

/**
 * The delay after failed attempt `attempt` (1 for the first): backoff * 2^(attempt-1), capped, then drawn in
 * its upper half ("equal jitter"), so retries of many callers that failed together spread out yet still grow.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoff, policy.backoff * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
