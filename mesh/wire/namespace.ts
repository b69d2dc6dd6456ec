// How a name becomes a subject under an opt-in namespace (`nats.namespace`): with namespace `ns`, procedure
// `greeting_service.hello` answers on `ns.greeting_service.hello`, events and reports get the same prefix, and the
// queue group `q` becomes `ns.q`. It also says which discovered services are the namespace's. It sends nothing.

/** The `$SRV` metadata key a service in a namespace advertises it under (`namespace: ns`). */
export const NAMESPACE_METADATA = 'namespace';

/** The queue group every endpoint answers in without a namespace (the micro protocol's default). */
export const DEFAULT_QUEUE = 'q';

const TOKEN = /^[A-Za-z0-9_-]+$/;
const MAX_NAMESPACE_CHARS = 64;

/** Why a name cannot be a namespace, or undefined: one NATS token of letters, digits, `_` and `-`, not NATS's own. */
export function namespaceProblem(name: string): string | undefined {
  if (!TOKEN.test(name)) return 'must be one token of letters, digits, _ and - (no dot, wildcard, $ or space)';
  if (name.length > MAX_NAMESPACE_CHARS) return `must be at most ${MAX_NAMESPACE_CHARS} characters`;
  if (name.startsWith('_')) return 'must not start with _ (NATS uses _INBOX and _R_ for replies)';
  return undefined;
}

export interface Namespace {
  /** The namespace, or undefined for none. */
  readonly name: string | undefined;
  /** What goes before every subject: `ns.`, or nothing. */
  readonly prefix: string;
  /** The queue group of procedure endpoints: `ns.q`, or `q`. */
  readonly queue: string;
  /** The `$SRV` metadata that advertises the namespace (empty without one). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The subject (or queue group) of a name: `ns.<name>`, or the name itself. */
  subject(name: string): string;
  /** The name a subject of this namespace stands for (the prefix taken off), or undefined when it is not the namespace's. */
  nameOf(subject: string): string | undefined;
  /** Whether a service whose `$SRV` reply carries this metadata is in the namespace (none: it advertises no namespace). */
  owns(metadata: unknown): boolean;
}

function advertised(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const value = (metadata as Record<string, unknown>)[NAMESPACE_METADATA];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

class Prefixed implements Namespace {
  readonly prefix: string;
  readonly queue: string;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(readonly name: string | undefined) {
    this.prefix = name === undefined ? '' : `${name}.`;
    this.queue = this.prefix + DEFAULT_QUEUE;
    this.metadata = name === undefined ? {} : { [NAMESPACE_METADATA]: name };
  }

  subject(name: string): string {
    return this.prefix + name;
  }

  nameOf(subject: string): string | undefined {
    if (this.prefix === '') return subject;
    return subject.startsWith(this.prefix) ? subject.slice(this.prefix.length) : undefined;
  }

  owns(metadata: unknown): boolean {
    return advertised(metadata) === this.name;
  }
}

export const NO_NAMESPACE: Namespace = new Prefixed(undefined);

const made = new Map<string, Namespace>();

/** The namespace of a name (null or undefined: none); throws a TypeError naming the problem for a bad one. */
export function meshNamespace(name: string | null | undefined): Namespace {
  if (name === null || name === undefined) return NO_NAMESPACE;
  let namespace = made.get(name);
  if (!namespace) {
    const problem = namespaceProblem(name);
    if (problem) throw new TypeError(`namespace ${JSON.stringify(name)} ${problem}`);
    made.set(name, (namespace = new Prefixed(name)));
  }
  return namespace;
}
