// Procedures as methods: `client.greeting_service.hello('Bob', { last_name: 'Ross' })`, typed from a service
// class when one is given. It only shapes calls for MeshClient.call; encoding, deadlines and headers stay there.
import type { Args, Envelope, Kwargs } from '../wire/envelope.ts';

/** The positional arguments a call may give: any leading part of the method's parameters. */
type Leading<A extends unknown[]> = A extends [infer Head, ...infer Tail] ? [] | [Head, ...Leading<Tail>] : [];

/** Leading positional arguments, optionally followed by one object of keyword arguments. */
export type ProcedureArgs<A extends unknown[]> = Leading<A> | [...Leading<A>, Kwargs];

/** A service method as the client sees it: same parameters (kwargs allowed at the end), its result awaited. */
export type ProcedureOf<F> = F extends (...args: infer A) => infer R ? (...args: ProcedureArgs<A>) => Promise<Awaited<R>> : never;

/** The callable methods of a service class (its `name` and other fields left out). */
export type ServiceProxy<S> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- functions of every shape are selected here; `never` parameters would match none of them
  readonly [K in keyof S as S[K] extends (...args: any[]) => unknown ? K : never]: ProcedureOf<S[K]>;
};

/** A procedure nothing is known about: any arguments, an unknown result. */
export type UntypedProcedure = (...args: unknown[]) => Promise<unknown>;
export type UntypedService = Readonly<Record<string, UntypedProcedure>>;

/** Service name -> service class instance type, e.g. `{ greeting_service: GreetingService }`. */
export type ServiceMap = Record<string, object>;

/** The map of no services: a client typed with it (the default) reaches every name, untyped. */
export type NoServices = Record<never, never>;

/** The proxies of the services in the map; with no map, every name is an untyped service. */
export type ServiceProxies<S extends ServiceMap> = NoServices extends S ? Readonly<Record<string, UntypedService>> : { readonly [K in keyof S]: ServiceProxy<S[K]> };

type CallProcedure = (procedure: string, args: Args, kwargs: Kwargs) => Promise<Envelope>;

function isPlainObject(value: unknown): value is Kwargs {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  // Any realm's Object.prototype: the shell's object literals come from a vm context of their own.
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/**
 * What a proxied call resolves with: the single value of a `[[value], {}]` reply, undefined for `[[], {}]`, and
 * the whole `[args, kwargs]` envelope for anything else (several values, or keyword results).
 */
export function resultOf([args, kwargs]: Envelope): unknown {
  if (Object.keys(kwargs).length > 0 || args.length > 1) return [args, kwargs];
  return args[0];
}

/** Splits proxy arguments into [args, kwargs]: a plain object in last place is the keyword arguments. */
export function splitArguments(given: unknown[]): [Args, Kwargs] {
  const last = given.at(-1);
  return isPlainObject(last) ? [given.slice(0, -1), last] : [given, {}];
}

/** One service's methods as functions calling `<service>.<method>`. */
export function serviceMethods(call: CallProcedure, service: string): UntypedService {
  return new Proxy({} as UntypedService, {
    get(_target, method) {
      if (typeof method !== 'string' || method === 'then') return undefined;
      return (...given: unknown[]) => {
        const [args, kwargs] = splitArguments(given);
        return call(`${service}.${method}`, args, kwargs).then(resultOf);
      };
    },
  });
}

/** Every service by name, each a `serviceMethods`. */
export function servicesByName(call: CallProcedure): Readonly<Record<string, UntypedService>> {
  return new Proxy({} as Record<string, UntypedService>, {
    get(_target, service) {
      if (typeof service !== 'string' || service === 'then') return undefined;
      return serviceMethods(call, service);
    },
  });
}
