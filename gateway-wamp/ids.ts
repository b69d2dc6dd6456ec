// WAMP ids: random ones in [1, 2^53] for the global scope (session and publication ids), as the spec asks.
// Router-scope ids (subscriptions, registrations) are plain counters kept where they are issued.
import { randomBytes } from 'node:crypto';

const ID_BITS = 2n ** 53n - 1n;

/** A random integer in [1, 2^53]. */
export function randomId(): number {
  return Number(randomBytes(8).readBigUInt64BE() & ID_BITS) + 1;
}
