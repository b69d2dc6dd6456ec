// A bounded cache of verified tokens, so a token seen again costs one Map lookup instead of a signature check.
// An entry is never returned past its token's expiry; the oldest entry goes first when the cache is full.
import type { VerifiedToken } from './jwt.ts';

export class TokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly maxEntries: number) {}

  get(token: string, now = Date.now()): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, verified: VerifiedToken): void {
    if (this.maxEntries === 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, verified);
  }

  get size(): number {
    return this.entries.size;
  }
}
