// What a procedure declares about failure: idempotency, retries, a circuit breaker, a bulkhead and a fallback, as
// zod schemas checked where they are declared (client options, the `resilience` config section, `@rpc`).
// It only describes; guard.ts applies a caller's policy, the service host a procedure's bulkhead.
import { z } from 'zod';
import { configSection } from '../process/config-section.ts';
import { ConfigError } from '../process/config.ts';
import { houseMessages } from '../process/wording.ts';
import type { Envelope } from '../wire/envelope.ts';
import type { MeshError } from '../wire/errors.ts';
import type { HookedCall } from './hooks.ts';

const ms = z.number().int().min(0);
const count = z.number().int().min(1);

export const bulkheadSchema = z.strictObject({ limit: count, queue: z.number().int().min(0).default(0) });

const retriesSchema = z.strictObject({
  max: z.number().int().min(1).max(10),
  backoff: ms.default(100),
  maxBackoff: ms.default(2000),
  /** How long one attempt may take; by default the whole call's time, so only UNAVAILABLE is tried again. */
  attemptMs: count.optional(),
});

const breakerSchema = z.strictObject({ failures: count, windowMs: count.default(10_000), coolDownMs: count.default(5000) });

/** A fallback's reply, as config can give one: the [args, kwargs] the caller gets instead of the error. */
const fallbackReplySchema = z.strictObject({ args: z.array(z.unknown()).default([]), kwargs: z.record(z.string(), z.unknown()).default({}) });

/** A fallback computed from the error: what the caller gets in its place. */
export type FallbackFunction = (error: MeshError, call: HookedCall) => Envelope | Promise<Envelope>;

const fallbackFunction = z.custom<FallbackFunction>((value) => typeof value === 'function', 'must be a function or { args, kwargs }');

/** A caller's policy for one procedure. */
export const callPolicySchema = z
  .strictObject({
    /** The procedure may run twice without harm: only then is it tried again. */
    idempotent: z.boolean().default(false),
    retries: retriesSchema.optional(),
    breaker: breakerSchema.optional(),
    bulkhead: bulkheadSchema.optional(),
    fallback: z.union([fallbackReplySchema, fallbackFunction]).optional(),
  })
  .refine((policy) => !policy.retries || policy.idempotent, {
    path: ['retries'],
    message: 'needs idempotent: true (a call that is not idempotent is never tried again)',
  });

export type CallPolicyInput = z.input<typeof callPolicySchema>;
export type CallPolicy = z.output<typeof callPolicySchema>;
export type RetriesPolicy = NonNullable<CallPolicy['retries']>;

/** A procedure name: `<service>.<method>`. */
const PROCEDURE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const callPoliciesSchema = z.record(z.string().regex(PROCEDURE, 'is not a procedure name such as greeting_service.hello'), callPolicySchema);

/** The `resilience` config section: caller policies by procedure, for the calls the process's services make. */
export const resilienceSettings = configSection('resilience', z.strictObject({ calls: callPoliciesSchema.default({}) }));

/** What a failed declaration says, as a ConfigError: where, the dotted setting, and why in the house wording (a record key's own reason). */
export function declarationError(where: string, prefix: readonly (string | number)[], error: z.ZodError): ConfigError {
  const issue = error.issues[0]!;
  const reason = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  const path = [...prefix, ...issue.path].map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
  return new ConfigError(`${where}: ${path ? `${path} ` : ''}${reason}`);
}

/** Reads `where`'s policies, or throws a ConfigError naming the first wrong setting, e.g. `thing.get.retries.max`. */
export function readCallPolicies(where: string, declared: Readonly<Record<string, CallPolicyInput>>): ReadonlyMap<string, CallPolicy> {
  const result = callPoliciesSchema.safeParse(declared, { error: houseMessages });
  if (!result.success) throw declarationError(where, [], result.error);
  return new Map(Object.entries(result.data));
}

/** A procedure's own bulkhead from `@rpc({ bulkhead })`, or a ConfigError naming what is wrong. */
export function readBulkhead(where: string, declared: unknown): z.output<typeof bulkheadSchema> {
  const result = bulkheadSchema.safeParse(declared, { error: houseMessages });
  if (!result.success) throw declarationError(where, ['bulkhead'], result.error);
  return result.data;
}
