// NATS subjects as the in-process bus and its JetStream compare them: a pattern's `*` takes one token, a last `>`
// one or more; two patterns overlap when some subject matches both.

/**
 * Whether a subject is one a server takes: tokens separated by dots, none empty, no whitespace; with `wildcards` (a
 * subscription's or a stream's), `*` for a token and `>` as the last one.
 */
export function isSubject(subject: string, wildcards: boolean): boolean {
  const tokens = subject.split('.');
  return subject.length > 0 && !/\s/.test(subject) && tokens.every((t, i) => t.length > 0 && (wildcards ? t !== '>' || i === tokens.length - 1 : t !== '*' && t !== '>'));
}

/** Whether the subject's tokens match the pattern's. */
export function matches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '>') return subject.length > i;
    if (i >= subject.length || (pattern[i] !== '*' && pattern[i] !== subject[i])) return false;
  }
  return pattern.length === subject.length;
}

/** Whether some subject matches both patterns (a server refuses a stream whose subjects overlap another's). */
export function overlaps(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === '>' || y[i] === '>') return true;
    if (x[i] !== y[i] && x[i] !== '*' && y[i] !== '*') return false;
  }
  return x.length === y.length;
}
