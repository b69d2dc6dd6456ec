// A procedure's declared contract: a zod object for its parameters (names, order, defaults, checks) and a result.
// It binds and validates [args, kwargs] once, before the handler runs, and describes itself as JSON Schema; it calls nothing.
import { z } from 'zod';
import type { Args, Kwargs } from '../wire/envelope.ts';
import { MeshError, type ErrorDetail } from '../wire/errors.ts';
import { houseMessages } from '../process/wording.ts';

/** What `@rpc({ params, result, description })` declares. */
export interface ContractOptions {
  /** The parameters, in order: positional arguments bind to its keys in key order, keyword arguments by key. */
  params?: z.ZodObject;
  /** The result, published as JSON Schema for callers and tools; not checked at run time. */
  result?: z.ZodType;
  /** What the procedure does, for `$SRV.INFO`. */
  description?: string;
}

export interface Contract {
  readonly params: z.ZodObject;
  /** The parameter names in binding order. */
  readonly keys: readonly string[];
  /** The parameters' JSON Schema (what a caller may send), as JSON text for the `$SRV.INFO` metadata. */
  readonly paramsSchema: string;
  /** The names in order, optional ones marked `?`: "first_name, last_name?". */
  readonly signature: string;
}

/** Made once, when the class is decorated: the keys and the JSON Schema are never computed per request. */
export function defineContract(params: z.ZodObject): Contract {
  const keys = Object.keys(params.shape);
  const jsonSchema = z.toJSONSchema(params, { io: 'input', unrepresentable: 'any' });
  const required = new Set(jsonSchema.required);
  return {
    params,
    keys,
    paramsSchema: JSON.stringify(jsonSchema),
    signature: keys.map((key) => (required.has(key) ? key : `${key}?`)).join(', '),
  };
}

/** A result's JSON Schema (what the procedure answers), as JSON text. */
export function resultSchemaOf(result: z.ZodType): string {
  return JSON.stringify(z.toJSONSchema(result, { io: 'output', unrepresentable: 'any' }));
}

function detailsOf(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join('.'), message: issue.message }));
}

function invalid(details: ErrorDetail[]): MeshError {
  const message = details.map((d) => (d.field ? `${d.field} ${d.message}` : d.message)).join('; ');
  return new MeshError('INVALID_ARGUMENT', message, { details });
}

/**
 * The handler's arguments: [args, kwargs] bound to the contract's keys, parsed by its schema (defaults,
 * coercions and checks it declares), in key order. Extra positional and unknown keyword arguments are refused.
 */
export function bindContract(procedure: string, contract: Contract, args: Args, kwargs: Kwargs): unknown[] {
  const { keys } = contract;
  if (args.length > keys.length) {
    throw new MeshError('INVALID_ARGUMENT', `${procedure} takes at most ${keys.length} positional argument${keys.length === 1 ? '' : 's'}, got ${args.length}`);
  }
  const input: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) input[keys[i]!] = args[i];
  for (const key in kwargs) {
    const index = keys.indexOf(key);
    if (index === -1) throw new MeshError('INVALID_ARGUMENT', `${procedure} got an unknown keyword argument '${key}'`);
    if (index < args.length) throw new MeshError('INVALID_ARGUMENT', `${procedure} got multiple values for argument '${key}'`);
    input[key] = kwargs[key];
  }
  // Parsed without options first: an error map passed per call takes zod off its compiled fast path (about 2 µs),
  // so only a failure is parsed again with the messages.
  const parsed = contract.params.safeParse(input);
  if (!parsed.success) throw invalid(detailsOf(contract.params.safeParse(input, { error: houseMessages }).error!));
  const data = parsed.data as Record<string, unknown>;
  return keys.map((key) => data[key]);
}
