// Binds a request's [args, kwargs] to a method's parameters, Python style, before the method is called.
// Every mismatch is an INVALID_ARGUMENT naming the parameter; nothing here calls the method.
import { bindContract } from './contract.ts';
import type { Args, Kwargs } from '../wire/envelope.ts';
import { MeshError } from '../wire/errors.ts';
import type { Procedure } from './rpc.ts';
import type { Parameter } from './signature.ts';

/** What the host calls a procedure's method with: its declared contract's values, its bound parameters, or (args, kwargs). */
export function bindProcedure(subject: string, procedure: Procedure, args: Args, kwargs: Kwargs): unknown[] {
  if (procedure.contract) return bindContract(subject, procedure.contract, args, kwargs);
  if (procedure.parameters) return bindArguments(subject, procedure.parameters, args, kwargs);
  return [args, kwargs];
}

/** The positional argument list to call the method with; `undefined` leaves a default in force. */
export function bindArguments(procedure: string, params: readonly Parameter[], args: Args, kwargs: Kwargs): unknown[] {
  const rest = params.at(-1)?.rest ? params.at(-1) : undefined;
  const named = rest ? params.slice(0, -1) : params;
  if (!rest && args.length > named.length) {
    throw new MeshError('INVALID_ARGUMENT', `${procedure} takes at most ${named.length} positional argument${named.length === 1 ? '' : 's'}, got ${args.length}`);
  }
  const bound: unknown[] = named.map((_, i) => args[i]);
  for (const key of Object.keys(kwargs)) {
    const index = named.findIndex((p) => p.name === key);
    if (index === -1) throw new MeshError('INVALID_ARGUMENT', `${procedure} got an unknown keyword argument '${key}'`);
    if (index < args.length) throw new MeshError('INVALID_ARGUMENT', `${procedure} got multiple values for argument '${key}'`);
    bound[index] = kwargs[key];
  }
  named.forEach((param, i) => {
    if (!param.optional && bound[i] === undefined) {
      throw new MeshError('INVALID_ARGUMENT', `${procedure} is missing required argument '${param.name}'`);
    }
  });
  if (rest) bound.push(...args.slice(named.length));
  return bound;
}
