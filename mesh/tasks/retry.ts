// When a failed task is tried again: exponential backoff with jitter, capped. Arithmetic only; the worker
// turns the delay into a `nak` with that delay, so JetStream itself holds the task until then.
import type { RetryPolicy } from '../resilience/backoff.ts';

export { retryDelay, type RetryPolicy } from '../resilience/backoff.ts';

/** What a task that declares no `retries` (or only some of them) gets: `@task`'s options are checked in service/rpc-options.ts. */
export const DEFAULT_RETRIES: RetryPolicy = { max: 3, backoff: 1_000, maxBackoff: 5 * 60_000 };
