// What a service says it does on NATS besides answering its procedures and handling its events: the procedures it
// calls (`calls`), the events it publishes (`publishes`) and the tasks it enqueues (`enqueues`). `mesh nats-config` grants exactly these; the host refuses the rest.
import type { CallOptions, MeshClient } from '../calling/client.ts';
import type { Args, Envelope, Kwargs } from '../wire/envelope.ts';
import { MeshError } from '../wire/errors.ts';
import { ConfigError } from '../process/config.ts';
import { DEFAULT_MAX_NAME_BYTES, nameProblem, quoteName } from '../wire/names.ts';
import type { CallStream } from '../calling/call-stream.ts';

/**
 * Fields a service class may set: `calls = ['greeting_service.hello']`, `publishes = ['websocket_test.websocket_test']`.
 * Names as the service uses them, without the namespace. Left out, the service is not limited (nor granted anything).
 */
export interface Declarations {
  /** The procedures `this.call` may call. */
  readonly calls?: readonly string[];
  /** The subjects `this.publish` may publish events on. */
  readonly publishes?: readonly string[];
  /** The tasks (`<service>.<method>`) `this.enqueue` may enqueue. */
  readonly enqueues?: readonly string[];
}

/** What a service declared, each list undefined when it did not declare it. */
export interface Declared {
  readonly calls: ReadonlySet<string> | undefined;
  readonly publishes: ReadonlySet<string> | undefined;
  readonly enqueues: ReadonlySet<string> | undefined;
}

/**
 * One declared list, checked: every entry a name (no wildcard). A method under that name (an @rpc `calls`) is no
 * declaration; any other value stops the start with a message naming the field.
 */
function declaredList(service: string, field: keyof Declarations, value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined || typeof value === 'function') return undefined;
  if (!Array.isArray(value)) throw new ConfigError(`${service}: ${field} must be a list of names, got ${JSON.stringify(value)}`);
  for (const name of value as unknown[]) {
    const problem = typeof name === 'string' ? nameProblem(name, DEFAULT_MAX_NAME_BYTES) : 'it is not a string';
    if (problem) throw new ConfigError(`${service}: ${field} lists ${quoteName(String(name))}: ${problem}`);
  }
  return new Set(value as string[]);
}

/** The declarations of a service instance. */
export function declarationsOf(instance: Declarations & { readonly name: string }): Declared {
  return {
    calls: declaredList(instance.name, 'calls', instance.calls),
    publishes: declaredList(instance.name, 'publishes', instance.publishes),
    enqueues: declaredList(instance.name, 'enqueues', instance.enqueues),
  };
}

const VERBS: Record<keyof Declarations, string> = { calls: 'call', publishes: 'publish', enqueues: 'enqueue' };

export function refuse(service: string, field: keyof Declarations, name: string, declared: ReadonlySet<string>): MeshError {
  const list = declared.size > 0 ? [...declared].join(', ') : 'nothing';
  return new MeshError('PERMISSION_DENIED', `${service} does not declare ${quoteName(name)} in ${field} (it declares ${list}), so it may not ${VERBS[field]} it`);
}

/** A client that calls and publishes only what the service declared: the rest is PERMISSION_DENIED before NATS sees it. */
class DeclaredClient implements MeshClient {
  constructor(
    private readonly client: MeshClient,
    private readonly service: string,
    private readonly declared: Declared,
  ) {}

  call(procedure: string, args?: Args, kwargs?: Kwargs, options?: CallOptions): Promise<Envelope> {
    const { calls } = this.declared;
    if (calls && !calls.has(procedure)) return Promise.reject(refuse(this.service, 'calls', procedure, calls));
    return this.client.call(procedure, args, kwargs, options);
  }

  stream(procedure: string, args?: Args, kwargs?: Kwargs, options?: CallOptions): CallStream {
    const { calls } = this.declared;
    if (calls && !calls.has(procedure)) throw refuse(this.service, 'calls', procedure, calls);
    return this.client.stream(procedure, args, kwargs, options);
  }

  publish(subject: string, args?: Args, kwargs?: Kwargs): void {
    const { publishes } = this.declared;
    if (publishes && !publishes.has(subject)) throw refuse(this.service, 'publishes', subject, publishes);
    this.client.publish(subject, args, kwargs);
  }

  close(): void {
    this.client.close();
  }
}

/** The client a hosted instance calls and publishes through: kept to its declarations, when it makes any. */
export function keptToDeclarations(client: MeshClient, service: string, declared: Declared): MeshClient {
  return declared.calls || declared.publishes ? new DeclaredClient(client, service, declared) : client;
}
