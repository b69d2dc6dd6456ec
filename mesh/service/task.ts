// `@task(...)` marks a method as a durable task, Celery's `@app.task`: metadata only, like `@rpc`. task-host.ts
// runs the marked methods from their JetStream queue (mesh/tasks/); enqueuing is `this.enqueue` (rpc.ts's Service).
import { defineContract, resultSchemaOf, type Contract, type ContractOptions } from './contract.ts';
import { readParameters, type Parameter } from './signature.ts';
import { ConfigError } from '../process/config.ts';
import { retryPolicy, type RetryPolicy } from '../tasks/retry.ts';
import { scheduleOf, type Schedule, type ScheduleOptions } from '../tasks/schedule.ts';

export interface TaskOptions extends ContractOptions, ScheduleOptions {
  /** At most this many attempts run at once in each instance; 10 by default. */
  concurrency?: number;
  /** How often a failure is retried, after what backoff (ms, doubling, with jitter): `{ max: 3, backoff: 1000 }` by default. */
  retries?: Partial<RetryPolicy>;
  /** An attempt running longer than this many ms fails (and is retried); 5 minutes by default. */
  timeout?: number;
  /** How long an instance's claim on a task lasts without a sign of life (ms): after a crash, the task runs elsewhere after this. 30 s by default. */
  claim?: number;
}

export interface TaskDeclaration {
  method: string;
  /** Read from the method's source when no `params` is declared. */
  parameters: Parameter[] | undefined;
  contract: Contract | undefined;
  resultSchema: string | undefined;
  description: string | undefined;
  concurrency: number;
  retries: RetryPolicy;
  timeoutMs: number;
  claimMs: number;
  /** When it runs by itself (`every` or `cron`); undefined: only when enqueued. */
  schedule: Schedule | undefined;
}

type AnyMethod = (...args: never[]) => unknown;

const TASKS = Symbol.for('nats-mesh.tasks');

interface Marked {
  [TASKS]?: Map<string, TaskDeclaration>;
}

function positive(method: string, name: string, value: number | undefined, fallback: number, whole = false): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0) || (whole && !Number.isInteger(value)))
    throw new ConfigError(`@task on '${method}': ${name} must be a positive ${whole ? 'whole number' : 'number of ms'}`);
  return value;
}

function declare(method: string, fn: AnyMethod, options: TaskOptions): TaskDeclaration {
  let retries: RetryPolicy;
  let schedule: Schedule | undefined;
  // Checked when the class is defined, so a bad value stops the start instead of the first tick.
  try {
    retries = retryPolicy(options.retries);
    schedule = scheduleOf(options);
  } catch (err) {
    throw new ConfigError(`@task on '${method}': ${(err as Error).message}`, { cause: err });
  }
  return {
    method,
    parameters: options.params ? undefined : readParameters(fn),
    contract: options.params && defineContract(options.params),
    resultSchema: options.result && resultSchemaOf(options.result),
    description: options.description,
    concurrency: positive(method, 'concurrency', options.concurrency, 10, true),
    retries,
    timeoutMs: positive(method, 'timeout', options.timeout, 5 * 60_000),
    claimMs: positive(method, 'claim', options.claim, 30_000),
    schedule,
  };
}

function mark(prototype: object, method: string, fn: unknown, options: TaskOptions): void {
  if (typeof fn !== 'function') throw new TypeError(`@task can only mark methods, not '${method}'`);
  const target = prototype as Marked;
  if (!Object.hasOwn(target, TASKS)) target[TASKS] = new Map(target[TASKS]);
  target[TASKS]!.set(method, declare(method, fn as AnyMethod, options));
}

/** What TypeScript passes a method decorator under the TC39 standard (no experimentalDecorators). */
interface StandardContext {
  kind: 'method';
  name: string | symbol;
  addInitializer(initializer: (this: object) => void): void;
}

type Decorator = ((prototype: object, method: string, descriptor: PropertyDescriptor) => void) & ((fn: AnyMethod, context: StandardContext) => void);

/**
 * Marks a method as a task of its service, `<service>.<method>`: enqueued by anyone (`this.enqueue`, a task
 * client, `POST` with `Prefer: respond-async`), run once by one instance, retried on failure. What it returns is
 * the task's result, kept like an @rpc reply.
 */
export function task(options: TaskOptions = {}): Decorator {
  return ((target: object, key: string | StandardContext, descriptor?: PropertyDescriptor) => {
    if (typeof key === 'string') return mark(target, key, descriptor?.value, options);
    if (key.kind !== 'method' || typeof key.name !== 'string') throw new TypeError('@task can only mark named methods');
    const method = key.name;
    key.addInitializer(function () {
      const prototype = Object.getPrototypeOf(this) as Marked;
      if (!prototype[TASKS]?.has(method)) mark(prototype, method, target, options);
    });
  }) as Decorator;
}

/** The tasks a service instance declares, by method name. */
export function tasksOf(instance: object): ReadonlyMap<string, TaskDeclaration> {
  return (instance as Marked)[TASKS] ?? new Map();
}
