// Hooks and policies that are declared but never triggered, for the bench's "declared, not triggered" scenario and
// its instruction count: what an application pays for having them when nothing fails.
import type { CallHooks, CallPolicy } from '../../mesh/index.ts';

/** A hook set that runs on every call and does nothing, on either side. */
export const IDLE_HOOKS: CallHooks = { before() {}, after() {}, error() {} };

/** Retries, a breaker and a fallback for an idempotent procedure: none of them acts while the procedure answers. */
export const IDLE_POLICY: CallPolicy = {
  idempotent: true,
  retries: { max: 3, backoff: 50, maxBackoff: 1000 },
  breaker: { failures: 5, windowMs: 10_000, coolDownMs: 5000 },
};
