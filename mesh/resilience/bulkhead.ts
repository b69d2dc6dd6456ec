// A bulkhead for one procedure: at most `limit` calls in flight, a few more waiting in a queue, the rest refused at
// once with RESOURCE_EXHAUSTED. It admits and releases; it does not run the calls.
import { MeshError } from '../wire/errors.ts';

export interface BulkheadPolicy {
  /** Calls in flight at most. */
  readonly limit: number;
  /** Calls that may wait for a free place (0: refused at once). */
  readonly queue: number;
}

export class Bulkhead {
  inFlight = 0;
  /** Calls refused because both the places and the queue were full. */
  refused = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly procedure: string,
    private readonly policy: BulkheadPolicy,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Takes a place: undefined when one was free, a promise that resolves once one is when the call must queue.
   * Throws RESOURCE_EXHAUSTED when the queue is full too. Each admitted call must `release()` once.
   */
  enter(): Promise<void> | undefined {
    if (this.inFlight < this.policy.limit) {
      this.inFlight++;
      return undefined;
    }
    if (this.waiting.length < this.policy.queue) return new Promise((resolve) => this.waiting.push(resolve));
    this.refused++;
    throw new MeshError('RESOURCE_EXHAUSTED', `'${this.procedure}' has ${this.policy.limit} calls in flight and ${this.policy.queue} waiting, its limit; try again later`);
  }

  /** A call ended: its place goes to the next one waiting, or is free. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}
