// The shape of `@rpc({ ... })`'s and `@task({ ... })`'s options, checked where a procedure or a task is declared: every
// key known and of its type, so a typo (`idempotant`) or a caller's policy put here (`retries`) stops the start
// instead of being ignored. What each option means is rpc.ts's and task.ts's; the bulkhead, the GET route and a
// task's schedule are read there, with their own messages.
import { z } from 'zod';
import { ConfigError } from '../process/config.ts';
import { houseMessages } from '../process/wording.ts';
import { declarationError } from '../resilience/policy.ts';
import { DEFAULT_RETRIES } from '../tasks/retry.ts';

/** A zod schema, by its shape rather than its class: the application's zod may be another copy than this package's. */
const zodSchema = (what: string, test: (value: object) => boolean = () => true) =>
  z.custom<object>((value) => typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function' && test(value), `must be ${what}`);

/** A contract's options (contract.ts), which @rpc and @task both take. */
const contractOptions = {
  params: zodSchema('a zod object, such as z.object({ id: z.string() })', (value) => 'shape' in value).optional(),
  result: zodSchema('a zod schema').optional(),
  description: z.string().optional(),
};

const positiveMs = z.number().positive('must be a positive number of ms').finite('must be a positive number of ms');
const ms = z.number().min(0).finite('must be a number of ms');

const rpcOptionsSchema = z.strictObject({
  ...contractOptions,
  variadic: z.boolean().optional(),
  public: z.boolean().optional(),
  roles: z.array(z.string().min(1, 'must not be empty')).min(1, 'must name at least one role').optional(),
  slowMs: positiveMs.optional(),
  idempotent: z.boolean().optional(),
  bulkhead: z.unknown().optional(),
  http: z.unknown().optional(),
});

const taskOptionsSchema = z.strictObject({
  ...contractOptions,
  concurrency: z.number().int().min(1).default(10),
  retries: z
    .strictObject({ max: z.number().int().min(0).default(DEFAULT_RETRIES.max), backoff: ms.default(DEFAULT_RETRIES.backoff), maxBackoff: ms.default(DEFAULT_RETRIES.maxBackoff) })
    .default(DEFAULT_RETRIES),
  timeout: positiveMs.default(5 * 60_000),
  claim: positiveMs.default(30_000),
  ignoreResult: z.boolean().default(false),
  every: z.unknown().optional(),
  cron: z.unknown().optional(),
  missed: z.unknown().optional(),
});

/** A task's options with their defaults. */
export type CheckedTaskOptions = z.output<typeof taskOptionsSchema>;

/** The options, or a ConfigError naming `where` and the first option that is unknown or of the wrong type. */
function checkOptions<T extends z.ZodObject>(where: string, schema: T, options: unknown): z.output<T> {
  const result = schema.safeParse(options, { error: houseMessages });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
    const known = Object.keys(schema.shape).join(', ');
    throw new ConfigError(`${where}: unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `'${key}'`).join(', ')} (it takes ${known})`);
  }
  throw declarationError(where, [], result.error);
}

/** Throws a ConfigError naming the method and the first option that is unknown or of the wrong type. */
export function checkRpcOptions(method: string, options: unknown): void {
  checkOptions(`@rpc on '${method}'`, rpcOptionsSchema, options);
}

/** A task's options with their defaults (`@task`), or a ConfigError naming the method and the first wrong option. */
export function checkTaskOptions(method: string, options: unknown): CheckedTaskOptions {
  return checkOptions(`@task on '${method}'`, taskOptionsSchema, options);
}
