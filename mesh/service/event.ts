// `@event(subject)` marks a method as an event handler, Nameko's `@event_handler`: metadata only.
// event-host.ts subscribes the marked methods; by default one instance of the service handles each event.
import { nameProblem, quoteName, DEFAULT_MAX_NAME_BYTES } from '../wire/names.ts';
import { readParameters, type Parameter } from './signature.ts';
import { ConfigError } from '../process/config.ts';

export interface EventOptions {
  /**
   * Every running instance handles each event, instead of one of them (the service's queue group
   * `<service>.events`, Nameko's service pool).
   */
  broadcast?: boolean;
}

export interface EventHandler {
  method: string;
  /** The subject to subscribe to; NATS wildcards (`*`, `>`) are allowed. */
  subject: string;
  broadcast: boolean;
  parameters: Parameter[];
}

type AnyMethod = (...args: never[]) => unknown;

// A registered symbol, so two copies of this module agree.
const EVENTS = Symbol.for('nats-mesh.events');

interface Marked {
  [EVENTS]?: EventHandler[];
}

/** Why a subject cannot be subscribed to, or undefined: like a procedure name, but wildcard tokens are allowed. */
function subjectProblem(subject: string): string | undefined {
  return nameProblem(subject.replace(/(^|\.)(\*|>)(?=\.|$)/g, '$1w'), DEFAULT_MAX_NAME_BYTES);
}

function mark(prototype: object, method: string, fn: unknown, subject: string, options: EventOptions): void {
  if (typeof fn !== 'function') throw new ConfigError(`@event can only mark methods, not '${method}'`);
  const target = prototype as Marked;
  if (!Object.hasOwn(target, EVENTS)) target[EVENTS] = [...(target[EVENTS] ?? [])];
  target[EVENTS]!.push({ method, subject, broadcast: options.broadcast === true, parameters: readParameters(fn as AnyMethod) });
}

/** What TypeScript passes a method decorator under the TC39 standard (no experimentalDecorators). */
interface StandardContext {
  kind: 'method';
  name: string | symbol;
  addInitializer(initializer: (this: object) => void): void;
}

type Decorator = ((prototype: object, method: string, descriptor: PropertyDescriptor) => void) & ((fn: AnyMethod, context: StandardContext) => void);

/**
 * Marks a method as the handler of the events published on `subject`, with the event's [args, kwargs] bound to
 * its parameters like `@rpc`. Events are never answered: what the method returns or throws is only counted.
 */
export function event(subject: string, options: EventOptions = {}): Decorator {
  const problem = typeof subject === 'string' ? subjectProblem(subject) : 'it is not a string';
  if (problem) throw new ConfigError(`@event(${quoteName(String(subject))}): ${problem}`);
  return ((target: object, key: string | StandardContext, descriptor?: PropertyDescriptor) => {
    if (typeof key === 'string') {
      mark(target, key, descriptor?.value, subject, options);
      return;
    }
    if (key.kind !== 'method' || typeof key.name !== 'string') throw new ConfigError(`@event can only mark methods, not '${String(key.name)}'`);
    const method = key.name;
    key.addInitializer(function () {
      const prototype = Object.getPrototypeOf(this) as Marked;
      if (!prototype[EVENTS]?.some((h) => h.method === method && h.subject === subject)) mark(prototype, method, target, subject, options);
    });
  }) as Decorator;
}

/** The event handlers a service instance declares. */
export function eventHandlersOf(instance: object): readonly EventHandler[] {
  return (instance as Marked)[EVENTS] ?? [];
}
