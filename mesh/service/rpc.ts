// The user-facing service model: `@rpc` marks a method as a procedure, `Service` gives a class `this.publish`,
// `this.call` and `this.enqueue`.
// Only metadata lives here; service-host.ts is what puts the marked methods on NATS.
import type { CallOptions } from '../calling/client.ts';
import { defineContract, resultSchemaOf, type Contract, type ContractOptions } from './contract.ts';
import type { Args, Envelope, Kwargs } from '../wire/envelope.ts';
import { callFrom, clientOf } from './service-call.ts';
import { currentCall } from '../calling/context.ts';
import type { EnqueueOptions, TaskHandle } from '../tasks/enqueue.ts';
import { enqueueFrom } from './task-host.ts';
import { readParameters, type Parameter } from './signature.ts';
import { readBulkhead } from '../resilience/policy.ts';
import type { BulkheadPolicy } from '../resilience/bulkhead.ts';
import { parseRoute, type RoutePattern } from '../wire/http-route.ts';
import { ConfigError } from '../process/config.ts';
import { checkRpcOptions } from './rpc-options.ts';

export interface RpcOptions extends ContractOptions {
  /** Call the method as `method(args, kwargs)` with the raw envelope, like Python's `*args, **kwargs`. */
  variadic?: boolean;
  /** Anyone may call it, anonymous callers too: the default. */
  public?: boolean;
  /** Only a verified caller with one of these roles may call it, whatever path the call came by. */
  roles?: readonly string[];
  /** A call that takes longer than this many ms publishes a slow-call report; by default reports.slowMs (1 s). */
  slowMs?: number;
  /** Running it twice does no harm: advertised in `$SRV.INFO` (`idempotent`), so callers may declare retries for it. */
  idempotent?: boolean;
  /** At most `limit` calls run at once on each instance, `queue` more wait; the rest are refused with RESOURCE_EXHAUSTED. */
  bulkhead?: { limit: number; queue?: number };
  /**
   * A GET route for a read-only procedure on the HTTP gateway, besides its POST: `{ get: '/things/:uuid' }`. Path
   * parameters and the query string become keyword arguments (docs/http-gateway.md, "GET routes").
   */
  http?: { get: string };
}

/** Who may call a procedure: anyone, or a verified caller with one of the roles. */
export type Access = { readonly public: true } | { readonly roles: readonly string[] };

export interface Procedure {
  method: string;
  /** Read from the method's source for a plain @rpc; undefined with a declared schema or for a variadic procedure. */
  parameters: Parameter[] | undefined;
  access: Access;
  /** The declared parameters (`@rpc({ params })`): they bind, validate and describe the arguments. */
  contract: Contract | undefined;
  /** The declared result's JSON Schema, as JSON text. */
  resultSchema: string | undefined;
  description: string | undefined;
  /** The slow-call threshold it declares, when it declares one. */
  slowMs: number | undefined;
  idempotent: boolean;
  /** The in-flight limit each instance keeps, when it declares one. */
  bulkhead: BulkheadPolicy | undefined;
  /** The GET route it declares, advertised as `http_get`. */
  getRoute: RoutePattern | undefined;
}

type AnyMethod = (...args: never[]) => unknown;

// Registered symbols, so two copies of this module (CommonJS and ESM, or two installs) agree.
const PROCEDURES = Symbol.for('nats-mesh.procedures');

interface Marked {
  [PROCEDURES]?: Map<string, Procedure>;
}

/** Who may call it; the options' types are checked already (rpc-options.ts). */
function accessOf(method: string, options: RpcOptions): Access {
  if (options.roles === undefined) return { public: true };
  if (options.public) throw new ConfigError(`@rpc on '${method}': a procedure is either public or limited to roles, not both`);
  return { roles: Object.freeze([...options.roles]) };
}

/** The keyword arguments a procedure takes by name, or undefined when it takes any (variadic). */
function keywordNames(options: RpcOptions, contract: Contract | undefined, parameters: Parameter[] | undefined): readonly string[] | undefined {
  if (contract) return contract.keys;
  return options.variadic ? undefined : parameters!.filter((p) => !p.rest).map((p) => p.name);
}

/** `http: { get }`, checked: a well-formed pattern whose every :parameter the procedure takes. */
function getRouteOf(method: string, http: unknown, names: readonly string[] | undefined): RoutePattern | undefined {
  if (http === undefined) return undefined;
  const where = `@rpc on '${method}'`;
  if (typeof http !== 'object' || http === null || Array.isArray(http) || Object.keys(http).some((key) => key !== 'get') || !('get' in http)) {
    throw new ConfigError(`${where}: http must be { get: '/path/:param' }`);
  }
  const route = parseRoute(http.get);
  if (typeof route === 'string') throw new ConfigError(`${where}: http.get ${route}`);
  const unknown = names && route.params.find((param) => !names.includes(param));
  if (unknown !== undefined) throw new ConfigError(`${where}: http.get names :${unknown}, which is not one of its parameters (${names!.join(', ') || 'none'})`);
  return route;
}

function mark(prototype: object, method: string, fn: unknown, options: RpcOptions): void {
  if (typeof fn !== 'function') throw new ConfigError(`@rpc can only mark methods, not '${method}'`);
  const target = prototype as Marked;
  if (!Object.hasOwn(target, PROCEDURES)) {
    target[PROCEDURES] = new Map(target[PROCEDURES]);
  }
  target[PROCEDURES]!.set(method, describeProcedure(method, fn as AnyMethod, options));
}

/** What a marked method declares, checked: a wrong option is a ConfigError naming the method, at declaration. */
function describeProcedure(method: string, fn: AnyMethod, options: RpcOptions): Procedure {
  checkRpcOptions(method, options);
  if (options.variadic && options.params) throw new ConfigError(`@rpc on '${method}' cannot be both variadic and declare params`);
  const parameters = options.variadic || options.params ? undefined : readParameters(fn);
  const contract = options.params && defineContract(options.params);
  return {
    method,
    parameters,
    contract,
    resultSchema: options.result && resultSchemaOf(options.result),
    description: options.description,
    access: accessOf(method, options),
    slowMs: options.slowMs,
    idempotent: options.idempotent === true,
    bulkhead: options.bulkhead === undefined ? undefined : readBulkhead(`@rpc on '${method}'`, options.bulkhead),
    getRoute: getRouteOf(method, options.http, keywordNames(options, contract, parameters)),
  };
}

/** What TypeScript passes a method decorator under the TC39 standard (no experimentalDecorators). */
interface StandardContext {
  kind: 'method';
  name: string | symbol;
  addInitializer(initializer: (this: object) => void): void;
}

type LegacyDecorator = (prototype: object, method: string, descriptor: PropertyDescriptor) => void;
type StandardDecorator = (fn: AnyMethod, context: StandardContext) => void;
type Decorator = LegacyDecorator & StandardDecorator;

function decorator(options: RpcOptions): Decorator {
  return ((target: object, key: string | StandardContext, descriptor?: PropertyDescriptor) => {
    if (typeof key === 'string') {
      mark(target, key, descriptor?.value, options);
      return;
    }
    if (key.kind !== 'method' || typeof key.name !== 'string') throw new ConfigError(`@rpc can only mark methods, not '${String(key.name)}'`);
    const method = key.name;
    key.addInitializer(function () {
      const prototype = Object.getPrototypeOf(this) as Marked;
      if (!prototype[PROCEDURES]?.has(method)) mark(prototype, method, target, options);
    });
  }) as Decorator;
}

const bareRpc = decorator({});

/**
 * Marks an async method as a procedure answering on `<service name>.<method>`.
 * Use it bare (`@rpc`) or with options (`@rpc({ variadic: true })`); works with both TypeScript's
 * experimentalDecorators and standard decorators.
 */
export function rpc(prototype: object, method: string, descriptor: PropertyDescriptor): void;
export function rpc(fn: AnyMethod, context: StandardContext): void;
export function rpc(options: RpcOptions): Decorator;
export function rpc(first: object, second?: string | StandardContext, descriptor?: PropertyDescriptor): void | Decorator {
  if (second === undefined) return decorator(first as RpcOptions);
  return (bareRpc as (a: object, b: string | StandardContext, c?: PropertyDescriptor) => void)(first, second, descriptor);
}

/** The procedures a service instance declares, by method name. */
export function proceduresOf(instance: object): ReadonlyMap<string, Procedure> {
  return (instance as Marked)[PROCEDURES] ?? new Map();
}

/**
 * Optional base class for services: `this.publish(subject, args, kwargs)` sends an event and
 * `this.call(procedure, args, kwargs)` calls another service (calls-between-services block; see service-call.ts).
 */
export abstract class Service {
  abstract readonly name: string;

  protected publish(subject: string, args: Args = [], kwargs: Kwargs = {}): void {
    clientOf(this).publish(subject, args, kwargs);
  }

  /** Resolves with the reply [args, kwargs], inheriting the deadline, identity, trace and signal of the request served. */
  protected call(procedure: string, args: Args = [], kwargs: Kwargs = {}, options?: CallOptions): Promise<Envelope> {
    return callFrom(this, procedure, args, kwargs, options);
  }

  /** Enqueues a @task (`'mailer.send_email'`) and resolves once it is stored, with a handle on it; it runs later, elsewhere. */
  protected enqueue(task: string, args: Args = [], kwargs: Kwargs = {}, options?: EnqueueOptions): Promise<TaskHandle> {
    return enqueueFrom(this, task, args, kwargs, options);
  }

  /**
   * Reports progress: inside a running @task it is recorded for the task's status; inside a call it is sent as a
   * progressive result to a caller that asked for them (`currentCall().progress`).
   */
  protected progress(value: unknown): void {
    currentCall()?.progress(value);
  }
}
