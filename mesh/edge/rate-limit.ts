// Request budgets for both gateways, counted in memory with rate-limiter-flexible: a caller is its identity
// when authenticated, else its client address; its budget is its most generous role's, else the default. It
// counts and refuses; it does not authenticate, and it does not answer (each gateway maps the refusal).
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../wire/errors.ts';

export { RateLimitedError };

/** A budget: `points` requests per `durationS` seconds; 0 points means no limit. */
export interface RateBudget {
  readonly points: number;
  readonly durationS: number;
}

/** The `rateLimit` configuration: the default budget and budgets by role. */
export interface RateLimitConfig extends RateBudget {
  readonly roles: Readonly<Record<string, RateBudget>>;
}

/** Who is asking: the client address, and the identity when the gateway authenticated one. */
export interface RateCaller {
  readonly address: string;
  readonly identity?: { readonly id: string; readonly roles: readonly string[]; readonly method: string };
}

export interface RateLimiter {
  /** False when no budget is configured: then a gateway does not call `take` at all. */
  readonly enabled: boolean;
  /** Takes one request from the caller's budget: undefined when it may go on, the error to answer otherwise. */
  take(caller: RateCaller): Promise<RateLimitedError | undefined>;
}

interface Bucket {
  readonly budget: RateBudget;
  readonly limiter: RateLimiterMemory;
}

/** Requests per second a budget allows; no limit is the most generous of all. */
const rateOf = (budget: RateBudget) => (budget.points === 0 ? Infinity : budget.points / budget.durationS);

export function createRateLimiter(config: RateLimitConfig): RateLimiter {
  const budgets = new Map<string, RateBudget>(Object.entries(config.roles));
  const enabled = config.points > 0 || [...budgets.values()].some((budget) => budget.points > 0);
  const buckets = new Map<RateBudget, Bucket | undefined>();

  const bucketOf = (budget: RateBudget): Bucket | undefined => {
    if (!buckets.has(budget)) {
      const limiter = new RateLimiterMemory({ points: budget.points, duration: budget.durationS, keyPrefix: `budget${buckets.size}` });
      buckets.set(budget, budget.points === 0 ? undefined : { budget, limiter });
    }
    return buckets.get(budget);
  };

  /** The caller's budget: its most generous configured role, else the default. */
  const budgetOf = (caller: RateCaller): RateBudget => {
    const roles = (caller.identity?.roles ?? []).map((role) => budgets.get(role)).filter((b): b is RateBudget => b !== undefined);
    return roles.reduce<RateBudget | undefined>((best, b) => (!best || rateOf(b) > rateOf(best) ? b : best), undefined) ?? config;
  };

  return {
    enabled,
    async take(caller) {
      const bucket = bucketOf(budgetOf(caller));
      if (!bucket) return undefined;
      // Anonymous callers all share the id "anonymous": they are told apart by address.
      const identity = caller.identity && caller.identity.method !== 'anonymous' ? caller.identity : undefined;
      const key = identity ? `id:${identity.id}` : `ip:${caller.address}`;
      try {
        await bucket.limiter.consume(key);
        return undefined;
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        const retryAfterS = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        const { points, durationS } = bucket.budget;
        return new RateLimitedError(retryAfterS, `too many requests: at most ${points} per ${durationS} s for this caller; retry in ${retryAfterS} s`);
      }
    },
  };
}
