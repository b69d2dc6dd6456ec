// What a WAMP session may do with a URI: the shared policy (mesh/auth) for subscribe, publish, call and register,
// and the rules that hold in every configuration: no exact subscription to a procedure's request subject, no
// publication into it, no registration of a subject a hosted service answers without an explicit grant.
// It decides from the policy and the procedure registry and sends nothing; the session and dealer answer.
import { type Action, type Identity, type Match, type Policy, quoteName, type ProcedureRegistry } from '../mesh/gateway.ts';
import { WAMP_SERVICE_NAME } from './advertise.ts';

/** Why an action is refused: the text of its ERROR `wamp.error.not_authorized`. */
export type Refusal = string;

export interface GuardOptions {
  registry: ProcedureRegistry;
  /** Whether a WAMP session of this gateway registered the subject (known before the registry sees it). */
  registeredHere: (subject: string) => boolean;
  /** The shared policy; undefined when no authentication or policy is configured (everything the rules allow). */
  policy: Policy | undefined;
}

export class Guard {
  constructor(private readonly options: GuardOptions) {}

  /** Whether some procedure answers the subject: a hosted service or a WAMP session, as far as the registry knows. */
  isProcedure(subject: string): boolean {
    return this.options.registry.get(subject) !== undefined || this.options.registeredHere(subject);
  }

  /** Whether a service other than a WAMP gateway answers the subject, as the last registry refresh saw it. */
  isHosted(subject: string): boolean {
    return this.options.registry.get(subject)?.services.some((service) => service !== WAMP_SERVICE_NAME) ?? false;
  }

  /** Whether the policy lets the identity do the action (the open default lets everyone do everything). */
  allows(identity: Identity | undefined, action: Action, uri: string): boolean {
    const { policy } = this.options;
    return !policy || identity === undefined || policy.allows(identity, action, uri);
  }

  /** Whether the policy lets the identity do the action on every URI a pattern matches (exact: that URI). */
  allowsEvery(identity: Identity | undefined, action: Action, uri: string, match: Match): boolean {
    const { policy } = this.options;
    return !policy || identity === undefined || policy.allowsEvery(identity, action, uri, match);
  }

  /** Whether a configured policy grants the action explicitly: what overriding an every-configuration rule takes. */
  grants(identity: Identity | undefined, action: Action, uri: string): boolean {
    const { policy } = this.options;
    return policy?.configured === true && identity !== undefined && policy.allows(identity, action, uri);
  }

  /**
   * The policy's `subscribe` on the topic URI; a prefix or wildcard pattern only when the identity may read every
   * topic it can match (a grant of `news.*` is no grant of the prefix `news.sports`). An exact SUBSCRIBE to a
   * procedure's subject would only ever see its requests, which the broker never delivers: refused always.
   */
  subscribe(identity: Identity | undefined, topic: string, subject: string, match: Match): Refusal | undefined {
    if (!this.allowsEvery(identity, 'subscribe', topic, match)) {
      if (match === 'exact') return denied(identity, 'subscribe to', topic);
      return `${quoteName(identity?.id ?? 'anonymous')} may not subscribe to every topic the ${match} ${quoteName(topic)} matches`;
    }
    if (match === 'exact' && this.isProcedure(subject)) return `${quoteName(topic)} is a procedure: its requests are not events`;
    return undefined;
  }

  /** A router meta topic (wamp.session.on_join, ...): the policy's `subscribe`, as for any topic; it is no procedure's subject. */
  subscribeMeta(identity: Identity | undefined, topic: string): Refusal | undefined {
    return this.allows(identity, 'subscribe', topic) ? undefined : denied(identity, 'subscribe to', topic);
  }

  /** A PUBLISH into a procedure's subject would invoke it without a reply, past the rules for calls: it takes a grant. */
  publish(identity: Identity | undefined, topic: string): Refusal | undefined {
    if (!this.allows(identity, 'publish', topic)) return denied(identity, 'publish to', topic);
    if (this.isProcedure(topic) && !this.grants(identity, 'publish', topic)) {
      return `${quoteName(topic)} is a procedure: call it instead of publishing to it`;
    }
    return undefined;
  }

  call(identity: Identity | undefined, procedure: string): Refusal | undefined {
    return this.allows(identity, 'call', procedure) ? undefined : denied(identity, 'call', procedure);
  }

  /**
   * A REGISTER of a subject a hosted service answers would take a share of its calls: it takes an explicit
   * `register` grant. The registry is asked again first when it does not know the subject. A prefix or wildcard
   * pattern takes the policy's `register` on every procedure it can match (as a pattern SUBSCRIBE does); it takes
   * nothing over, since an exact responder answers before it (dealer.ts routePattern).
   */
  async register(identity: Identity | undefined, procedure: string, match: Match = 'exact'): Promise<Refusal | undefined> {
    if (match !== 'exact') {
      if (this.allowsEvery(identity, 'register', procedure, match)) return undefined;
      return `${quoteName(identity?.id ?? 'anonymous')} may not register every procedure the ${match} ${quoteName(procedure)} matches`;
    }
    if (!this.allows(identity, 'register', procedure)) return denied(identity, 'register', procedure);
    await this.options.registry.lookup(procedure);
    if (!this.mayKeep(identity, procedure)) return `${quoteName(procedure)} is answered by a hosted service; a WAMP session may not take it over`;
    return undefined;
  }

  /** Whether a WAMP registration of the subject may stay, by what the registry shows now. */
  mayKeep(identity: Identity | undefined, procedure: string): boolean {
    return !this.isHosted(procedure) || this.grants(identity, 'register', procedure);
  }
}

function denied(identity: Identity | undefined, verb: string, uri: string): Refusal {
  return `${quoteName(identity?.id ?? 'anonymous')} may not ${verb} ${quoteName(uri)}`;
}
