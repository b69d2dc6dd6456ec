// The procedures WAMP sessions registered in one gateway process: one NATS queue subscription per URI or pattern,
// held by one session or shared by sessions that asked the same invocation policy, the pick of a callee per request,
// and which registration answers a procedure several patterns match. It knows nothing of WAMP messages: the dealer
// sends INVOCATION to the callee picked here.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { type Identity, subscribe, type Logger, type Namespace } from '../mesh/gateway.ts';
import { moreSpecific, natsSubjectsOf, patternQueue, specificity, uriMatches, type MatchPolicy } from './uri.ts';

/** WAMP's `invoke` option of REGISTER: `single` (the default) is exclusive, the others share a URI. */
export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

const POLICIES: ReadonlySet<string> = new Set<InvokePolicy>(['single', 'roundrobin', 'random', 'first', 'last']);

export function isInvokePolicy(value: unknown): value is InvokePolicy {
  return typeof value === 'string' && POLICIES.has(value);
}

/** A session that answers invocations (the dealer's SessionRpc). */
export interface Callee {
  /** The callee's WAMP session id. */
  readonly sessionId: number;
  /** Who registered; undefined when nothing is configured. */
  readonly identity: Identity | undefined;
  /** `procedure`: the URI called, for a pattern registration. */
  invoke(registration: Registration, msg: Msg, procedure?: string): void;
  /** The router took the registration away from this callee (the registry shows a hosted service answering it). */
  revoked(registration: Registration): void;
}

export class Registration {
  /** Sessions holding this registration, in the order they registered; new ones may join unless it is `single`. */
  private readonly members: Callee[] = [];
  /** The members whose REGISTERED went out: invocations go to these only. */
  private readonly callees: Callee[] = [];
  private turn = 0;
  /** Whether wamp.registration.on_create went out: with the first REGISTERED. */
  announced = false;
  /** When it was created, ISO 8601. */
  readonly created = new Date().toISOString();
  /** The subjects it answers on (less the namespace): one, or two for a one-part prefix (natsSubjectsOf). */
  subjects: string[] = [];
  /** Its queue group: the namespace's for an exact URI, the pattern's own for a pattern (patternQueue). */
  queue = '';
  /** The NATS subscriptions, one per subject. */
  nats: Subscription[] = [];
  /** Settles once the NATS server has the subscriptions. */
  ready: Promise<void> = Promise.resolve();
  /** How specific a pattern is (uri.ts specificity); empty for an exact registration. */
  readonly rank: readonly number[];

  constructor(
    readonly id: number,
    /** The procedure URI, or the pattern as registered (`a.b`, `a..c`). */
    readonly uri: string,
    readonly policy: InvokePolicy,
    readonly match: MatchPolicy,
  ) {
    this.rank = match === 'exact' ? [] : specificity(uri, match);
  }

  get calleeCount(): number {
    return this.callees.length;
  }

  /** The session ids of the callees that get invocations. */
  calleeIds(): number[] {
    return this.callees.map((callee) => callee.sessionId);
  }

  get isEmpty(): boolean {
    return this.members.length === 0;
  }

  /** Whether `policy` may join: never `single`, and only the policy the registration already has. */
  admits(policy: InvokePolicy): boolean {
    return policy !== 'single' && policy === this.policy;
  }

  /** Everyone holding the registration, confirmed or not. */
  holders(): Callee[] {
    return [...this.members];
  }

  add(callee: Callee): void {
    this.members.push(callee);
  }

  /** The callee's REGISTERED is on its way: it gets invocations from now on. True when it was not a callee yet. */
  confirm(callee: Callee): boolean {
    if (!this.members.includes(callee) || this.callees.includes(callee)) return false;
    this.callees.push(callee);
    return true;
  }

  /** Takes the callee out; true when it got invocations. */
  remove(callee: Callee): boolean {
    const index = this.members.indexOf(callee);
    if (index >= 0) this.members.splice(index, 1);
    const confirmed = this.callees.indexOf(callee);
    if (confirmed >= 0) this.callees.splice(confirmed, 1);
    return confirmed >= 0;
  }

  /** The callee for the next invocation, by the policy. */
  pick(): Callee | undefined {
    const { callees } = this;
    if (callees.length === 0) return undefined;
    switch (this.policy) {
      case 'single':
      case 'first':
        return callees[0];
      case 'last':
        return callees.at(-1);
      case 'random':
        return callees[Math.floor(Math.random() * callees.length)];
      case 'roundrobin':
        return callees[this.turn++ % callees.length];
    }
  }
}

/** Told of each registration's life, for the registration meta events (wamp-meta.ts). */
export interface RegistrationWatcher {
  registrationCreated(sessionId: number, registration: Registration): void;
  registered(sessionId: number, registration: Registration): void;
  unregistered(sessionId: number, registration: Registration): void;
  registrationDeleted(sessionId: number, registration: Registration): void;
}

/** The key of a registration: its URI when exact, else its match policy and pattern (a URI holds no space). */
function keyOf(uri: string, match: MatchPolicy): string {
  return match === 'exact' ? uri : `${match} ${uri}`;
}

export class Registrations {
  private readonly byUri = new Map<string, Registration>();
  /** The prefix and wildcard registrations, by keyOf. */
  private readonly patterns = new Map<string, Registration>();
  private lastId = 0;
  /** Told of registrations made and dropped; unset: nothing is. */
  watcher: RegistrationWatcher | undefined;

  constructor(
    private readonly nc: NatsConnection,
    /** Each URI is subscribed on its subject under the namespace, in the namespace's queue group; each pattern in its own. */
    private readonly namespace: Namespace,
    private readonly route: (registration: Registration, msg: Msg) => void,
    private readonly logger: Logger,
  ) {}

  /** Whoever holds the exact `uri` now, if anyone. */
  get(uri: string): Registration | undefined {
    return this.byUri.get(uri);
  }

  /** Whoever holds `uri` under `match` now, if anyone. */
  find(uri: string, match: MatchPolicy): Registration | undefined {
    return match === 'exact' ? this.byUri.get(uri) : this.patterns.get(keyOf(uri, match));
  }

  /**
   * Adds the callee to the registration of `uri` under `match` (its NATS subject `subject`, uri.ts), subscribing NATS
   * when it is the first; undefined when it is held exclusively or under another policy. The caller awaits `ready`
   * before it says REGISTERED.
   */
  join(callee: Callee, uri: string, policy: InvokePolicy, match: MatchPolicy = 'exact', subject = uri): Registration | undefined {
    let registration = this.find(uri, match);
    if (registration && !registration.admits(policy)) return undefined;
    if (!registration) {
      const created = (registration = new Registration(++this.lastId, uri, policy, match));
      const guard = { logger: this.logger, about: { uri, match } };
      const queue = (created.queue = match === 'exact' ? this.namespace.queue : patternQueue(this.namespace.queue, uri, match));
      created.subjects = natsSubjectsOf(uri, match, subject);
      created.nats = created.subjects.map((s) => subscribe(this.nc, this.namespace.subject(s), { queue }, guard, (msg) => this.route(created, msg)));
      created.ready = this.nc.flush();
      (match === 'exact' ? this.byUri : this.patterns).set(keyOf(uri, match), registration);
    }
    registration.add(callee);
    return registration;
  }

  /**
   * The registration of this process that answers a call of `procedure`, by the spec's order: the exact one, else
   * the longest prefix, else the most specific wildcard; only registrations with a callee count. Undefined: none.
   */
  answering(procedure: string): Registration | undefined {
    const exact = this.byUri.get(procedure);
    if (exact && exact.calleeCount > 0) return exact;
    let best: Registration | undefined;
    for (const registration of this.patterns.values()) {
      if (registration.calleeCount === 0 || !uriMatches(procedure, registration.uri, registration.match)) continue;
      if (!best || moreSpecific(registration.rank, best.rank)) best = registration;
    }
    return best;
  }

  /** The callee's REGISTERED goes out: it gets invocations from now on. */
  confirm(callee: Callee, registration: Registration): void {
    if (!registration.confirm(callee)) return;
    if (!registration.announced) {
      registration.announced = true;
      this.watcher?.registrationCreated(callee.sessionId, registration);
    }
    this.watcher?.registered(callee.sessionId, registration);
  }

  /** Takes the callee out; the last one out ends the NATS subscription. */
  leave(callee: Callee, registration: Registration): void {
    if (registration.remove(callee)) this.watcher?.unregistered(callee.sessionId, registration);
    if (!registration.isEmpty) return;
    for (const nats of registration.nats) nats.unsubscribe();
    const held = registration.match === 'exact' ? this.byUri : this.patterns;
    const key = keyOf(registration.uri, registration.match);
    if (held.get(key) === registration) held.delete(key);
    if (registration.announced) this.watcher?.registrationDeleted(callee.sessionId, registration);
  }

  /** Takes a registration from the given callees, who are told; the NATS subscription goes with the last holder. */
  revoke(registration: Registration, callees: Callee[]): void {
    for (const callee of callees) {
      this.leave(callee, registration);
      callee.revoked(registration);
    }
  }

  /** Every registration held now, exact and pattern. */
  all(): Registration[] {
    return [...this.byUri.values(), ...this.patterns.values()];
  }

  /** The registrations that have at least one callee, for discovery. */
  active(): Registration[] {
    return this.all().filter((registration) => registration.calleeCount > 0);
  }
}
