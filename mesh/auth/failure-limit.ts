// Failed authentications per client address, counted in memory with rate-limiter-flexible as request budgets are:
// an address that failed `points` times within `durationS` has its next credentials refused (429) unchecked.
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { RateLimitedError } from '../wire/errors.ts';

export interface FailureLimit {
  /** The refusal while the address has used its failures, else undefined (always undefined when the limit is off). */
  refusal(address: string): Promise<RateLimitedError | undefined>;
  /** Counts one failed authentication against the address. */
  count(address: string): Promise<void>;
}

const NO_LIMIT: FailureLimit = { refusal: () => Promise.resolve(undefined), count: () => Promise.resolve() };

/** A limit of `points` failures per `durationS` seconds and address; 0 points is no limit. */
export function createFailureLimit(points: number, durationS: number): FailureLimit {
  if (points === 0) return NO_LIMIT;
  const limiter = new RateLimiterMemory({ points, duration: durationS, keyPrefix: 'auth-failures' });
  return {
    async refusal(address) {
      const used = await limiter.get(address);
      if (!used || used.consumedPoints < points) return undefined;
      const retryAfterS = Math.max(1, Math.ceil(used.msBeforeNext / 1000));
      return new RateLimitedError(retryAfterS, `too many failed authentications from this address: at most ${points} per ${durationS} s; retry in ${retryAfterS} s`);
    },
    async count(address) {
      await limiter.penalty(address, 1);
    },
  };
}
