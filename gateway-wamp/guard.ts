// What a WAMP session may do with a NATS subject, by the rules that hold in every configuration: no exact
// subscription to a procedure's request subject, no publication into it, no registration of a subject a hosted
// service answers. It decides from the procedure registry and sends nothing; the session and dealer answer.
import type { ProcedureRegistry } from '../mesh/registry.ts';
import { WAMP_SERVICE_NAME } from './advertise.ts';

/** Why an action is refused: the text of its ERROR `wamp.error.not_authorized`. */
export type Refusal = string;

export interface GuardOptions {
  registry: ProcedureRegistry;
  /** Whether a WAMP session of this gateway registered the subject (known before the registry sees it). */
  registeredHere: (subject: string) => boolean;
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

  /**
   * An exact SUBSCRIBE to a procedure's subject would only ever see its requests, which the broker never delivers;
   * patterns may cover procedures and still get their events.
   */
  subscribe(subject: string, exact: boolean): Refusal | undefined {
    if (exact && this.isProcedure(subject)) return `${subject} is a procedure: its requests are not events`;
    return undefined;
  }

  /** A PUBLISH into a procedure's subject would invoke it without a reply, past the rules for calls. */
  publish(subject: string): Refusal | undefined {
    if (this.isProcedure(subject)) return `${subject} is a procedure: call it instead of publishing to it`;
    return undefined;
  }

  /** A REGISTER of a subject a hosted service answers would take a share of its calls; the registry is asked again on a miss. */
  async register(subject: string): Promise<Refusal | undefined> {
    await this.options.registry.lookup(subject);
    if (this.isHosted(subject)) return `${subject} is answered by a hosted service; a WAMP session may not take it over`;
    return undefined;
  }

  /** Whether a WAMP registration of the subject may stay now that the registry has been refreshed. */
  mayKeep(subject: string): boolean {
    return !this.isHosted(subject);
  }
}
