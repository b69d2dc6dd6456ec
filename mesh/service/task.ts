// `@task(...)` marks a method as a durable task, Celery's `@app.task`: metadata only, like `@rpc`. task-host.ts
// runs the marked methods from their JetStream queue (mesh/tasks/); enqueuing is `this.enqueue` (rpc.ts's Service).
import { defineContract, resultSchemaOf, type Contract, type ContractOptions } from './contract.ts';
import { readParameters, type Parameter } from './signature.ts';
import { ConfigError } from '../process/config.ts';
import type { RetryPolicy } from '../tasks/retry.ts';
import { scheduleOf, type Schedule, type ScheduleOptions } from '../tasks/schedule.ts';
import { checkTaskOptions } from './rpc-options.ts';

export interface TaskOptions extends ContractOptions, ScheduleOptions {
  /** At most this many attempts run at once in each instance; 10 by default. */
  concurrency?: number;
  /** How often a failure is retried, after what backoff (ms, doubling, with jitter): `{ max: 3, backoff: 1000 }` by default. */
  retries?: Partial<RetryPolicy>;
  /** An attempt running longer than this many ms fails (and is retried); 5 minutes by default. */
  timeout?: number;
  /** How long an instance's claim on a task lasts without a sign of life (ms): after a crash, the task runs elsewhere after this. 30 s by default. */
  claim?: number;
  /**
   * Keep no record of a success (Celery's `ignore_result`, BullMQ's `removeOnComplete`): the task is acked as soon as
   * it returns, and its `succeeded` event, sent as always, is the only place its result goes. For fire-and-forget
   * work; false by default. Failures and retries are recorded as always; see docs/tasks.md for what a status then says.
   */
  ignoreResult?: boolean;
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
  ignoreResult: boolean;
  /** When it runs by itself (`every` or `cron`); undefined: only when enqueued. */
  schedule: Schedule | undefined;
}

type AnyMethod = (...args: never[]) => unknown;

const TASKS = Symbol.for('nats-mesh.tasks');

interface Marked {
  [TASKS]?: Map<string, TaskDeclaration>;
}

/** What a marked method declares, checked when the class is defined: a wrong option stops the start, not the first tick. */
function declare(method: string, fn: AnyMethod, declared: TaskOptions): TaskDeclaration {
  const options = checkTaskOptions(method, declared);
  return {
    method,
    parameters: declared.params ? undefined : readParameters(fn),
    contract: declared.params && defineContract(declared.params),
    resultSchema: declared.result && resultSchemaOf(declared.result),
    description: declared.description,
    concurrency: options.concurrency,
    retries: options.retries,
    timeoutMs: options.timeout,
    claimMs: options.claim,
    ignoreResult: options.ignoreResult,
    schedule: scheduleOf(`@task on '${method}'`, options),
  };
}

function mark(prototype: object, method: string, fn: unknown, options: TaskOptions): void {
  if (typeof fn !== 'function') throw new ConfigError(`@task can only mark methods, not '${method}'`);
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
    if (key.kind !== 'method' || typeof key.name !== 'string') throw new ConfigError(`@task can only mark methods, not '${String(key.name)}'`);
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
