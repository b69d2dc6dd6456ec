// A circuit breaker for one procedure: closed (calls go through), open (calls fail at once for a cool-down), half-open
// (one trial call decides). It counts and decides; what counts as a failure is the guard's question.
import { MeshError } from '../wire/errors.ts';

export interface BreakerPolicy {
  /** Failures within `windowMs` that open the circuit. */
  readonly failures: number;
  readonly windowMs: number;
  /** How long an open circuit refuses calls before letting one trial through. */
  readonly coolDownMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The gauge value of each state, as `mesh_resilience_breaker_state` reports it. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export class Breaker {
  state: BreakerState = 'closed';
  /** Times the circuit opened since the start. */
  opened = 0;
  /** Calls refused at once because the circuit was open. */
  refused = 0;
  /** When the failures counted in the window happened, oldest first; never longer than the threshold. */
  private readonly recent: number[] = [];
  private openedAt = 0;
  private trialRunning = false;

  constructor(
    private readonly procedure: string,
    private readonly policy: BreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lets a call through, or throws CIRCUIT_OPEN; an open circuit past its cool-down lets one trial through. */
  admit(): void {
    if (this.state === 'closed') return;
    if (this.state === 'open' && this.now() - this.openedAt >= this.policy.coolDownMs) this.state = 'half-open';
    if (this.state === 'half-open' && !this.trialRunning) {
      this.trialRunning = true;
      return;
    }
    this.refused++;
    throw new MeshError('CIRCUIT_OPEN', `calls to '${this.procedure}' are paused after ${this.policy.failures} failures; trying again in at most ${this.policy.coolDownMs} ms`);
  }

  /** The procedure answered (with a result or an error that is the caller's own): a trial closes the circuit. */
  succeeded(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.trialRunning = false;
    this.recent.length = 0;
  }

  /** The procedure failed as a service does when it is down or overloaded: counted, and maybe the circuit opens. */
  failed(): void {
    const now = this.now();
    if (this.state === 'half-open') return this.open(now);
    if (this.state === 'open') return;
    this.recent.push(now);
    while (this.recent.length > 0 && now - this.recent[0]! > this.policy.windowMs) this.recent.shift();
    if (this.recent.length >= this.policy.failures) this.open(now);
  }

  private open(now: number): void {
    this.state = 'open';
    this.opened++;
    this.openedAt = now;
    this.trialRunning = false;
    this.recent.length = 0;
  }
}
