// The shape of `@rpc({ ... })`'s options, checked where a procedure is declared: every key known and of its type, so
// a typo (`idempotant`) or a caller's policy put here (`retries`) stops the start instead of being ignored. What
// each option means is rpc.ts's; the bulkhead and the GET route are read there, with their own messages.
import { z } from 'zod';
import { ConfigError } from '../process/config.ts';
import { houseMessages } from '../process/wording.ts';
import { declarationError } from '../resilience/policy.ts';

/** A zod schema, by its shape rather than its class: the application's zod may be another copy than this package's. */
const zodSchema = (what: string, test: (value: object) => boolean = () => true) =>
  z.custom<object>((value) => typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function' && test(value), `must be ${what}`);

const rpcOptionsSchema = z.strictObject({
  params: zodSchema('a zod object, such as z.object({ id: z.string() })', (value) => 'shape' in value).optional(),
  result: zodSchema('a zod schema').optional(),
  description: z.string().optional(),
  variadic: z.boolean().optional(),
  public: z.boolean().optional(),
  roles: z.array(z.string().min(1, 'must not be empty')).min(1, 'must name at least one role').optional(),
  slowMs: z.number().positive('must be a positive number of ms').finite('must be a positive number of ms').optional(),
  idempotent: z.boolean().optional(),
  bulkhead: z.unknown().optional(),
  http: z.unknown().optional(),
});

/** Throws a ConfigError naming the method and the first option that is unknown or of the wrong type. */
export function checkRpcOptions(method: string, options: unknown): void {
  const result = rpcOptionsSchema.safeParse(options, { error: houseMessages });
  if (result.success) return;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
    const known = Object.keys(rpcOptionsSchema.shape).join(', ');
    throw new ConfigError(`@rpc on '${method}': unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `'${key}'`).join(', ')} (it takes ${known})`);
  }
  throw declarationError(`@rpc on '${method}'`, [], result.error);
}
