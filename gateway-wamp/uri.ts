// Maps WAMP topic and procedure URIs to NATS subjects: components become tokens, and the match policies
// `prefix` (a string prefix: a.b -> a.> filtered by the string) and `wildcard` (a..c -> a.*.c) become NATS
// wildcards; which of several pattern registrations a procedure reaches (the spec's precedence). Nothing here touches NATS.
import { DEFAULT_MAX_NAME_BYTES, nameProblem } from '../mesh/gateway.ts';

export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';

const MATCH_POLICIES: ReadonlySet<string> = new Set<MatchPolicy>(['exact', 'prefix', 'wildcard']);

/** The NATS subject of a URI, or why the URI cannot be one. */
export type SubjectOf = { subject: string; problem?: undefined } | { subject?: undefined; problem: string };

/** A token that stands for an empty wildcard component while the rest of the URI is checked as a name. */
const PLACEHOLDER = '_';

export function isMatchPolicy(value: unknown): value is MatchPolicy {
  return typeof value === 'string' && MATCH_POLICIES.has(value);
}

/**
 * The subject a URI maps to under a match policy: the URI must be a name (mesh/wire/names.ts) of at most maxBytes,
 * not under the router's own `wamp.` space, and the subject built from it (`.>` added, `*` for empty parts)
 * must fit in maxBytes too.
 */
export function subjectOf(uri: string, match: MatchPolicy, maxBytes: number): SubjectOf {
  const components = uri.split('.');
  // The first component stays literal under every policy, so no wildcard reaches reply inboxes or system subjects.
  if (match === 'wildcard' && components[0] === '') return { problem: 'the first part of a wildcard URI cannot be empty' };
  const name = match === 'wildcard' ? components.map((c) => (c === '' ? PLACEHOLDER : c)).join('.') : uri;
  const problem = nameProblem(name, maxBytes);
  if (problem) return { problem };
  if (components[0] === 'wamp') return { problem: "names under 'wamp' are reserved for the router" };
  const subject = match === 'prefix' ? `${uri}.>` : match === 'wildcard' ? components.map((c) => (c === '' ? '*' : c)).join('.') : uri;
  if (subject.length > maxBytes || Buffer.byteLength(subject, 'utf8') > maxBytes) return { problem: `the subject is longer than ${maxBytes} bytes` };
  return { subject };
}

/** The NATS subject of an exact URI (a topic to publish to, a procedure to call or register), or undefined if it is not one. */
export function exactSubject(uri: string, maxBytes = DEFAULT_MAX_NAME_BYTES): string | undefined {
  return subjectOf(uri, 'exact', maxBytes).subject;
}

/**
 * The NATS subjects a subscription listens on. WAMP's prefix matches by string (`a.b` matches `a.b`, `a.b.c` and
 * `a.bc`), NATS by token: a prefix listens on its enclosing `a.>` and the broker keeps the topics that start with
 * it (matchesPrefix). A one-part prefix listens on `a` and `a.>`: the first part stays whole (`ab` is not matched),
 * since a subscription to `>` would take in the whole mesh.
 */
export function natsSubjectsOf(uri: string, match: MatchPolicy, subject: string): string[] {
  if (match !== 'prefix') return [subject];
  const lastDot = uri.lastIndexOf('.');
  return lastDot < 0 ? [uri, `${uri}.>`] : [`${uri.slice(0, lastDot)}.>`];
}

/** Whether a topic is one a prefix subscription delivers: it starts with the prefix (WAMP's string prefix match). */
export function matchesPrefix(topic: string, prefix: string): boolean {
  return topic.startsWith(prefix);
}

/**
 * Whether a URI is one a pattern (a subscription's topic, a registration's procedure) matches, as the NATS subjects
 * of natsSubjectsOf and the string filter decide together: a prefix by string (a one-part prefix by its whole
 * first part), a wildcard part by part with empty parts free.
 */
export function uriMatches(uri: string, pattern: string, match: MatchPolicy): boolean {
  if (match === 'exact') return uri === pattern;
  if (match === 'prefix') return pattern.includes('.') ? matchesPrefix(uri, pattern) : uri === pattern || uri.startsWith(`${pattern}.`);
  const want = pattern.split('.');
  const parts = uri.split('.');
  return want.length === parts.length && want.every((p, i) => p === '' || p === parts[i]);
}

/**
 * How specific a pattern is, for the spec's choice among the pattern registrations a call matches: every prefix
 * before every wildcard, a longer prefix first; among wildcards, the one whose literal runs before each wildcard
 * are longer, compared run by run (`a1.b2.c3..e5` before `a1.b2..d4.e5`). Larger is more specific.
 */
export function specificity(pattern: string, match: 'prefix' | 'wildcard'): number[] {
  if (match === 'prefix') return [1, pattern.length];
  const runs = [0];
  for (const part of pattern.split('.')) {
    if (part === '') runs.push(0);
    else runs[runs.length - 1]!++;
  }
  return [0, ...runs];
}

/** Whether specificity `a` ranks above `b` (compared item by item; a longer equal head ranks above). */
export function moreSpecific(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return a.length > b.length;
}

/**
 * The NATS queue group of a pattern registration: one per pattern (`q.prefix.a.b`, `q.wildcard.a.#.c` for `a..c`),
 * so that each pattern gets its own copy of a request beside the exact responders in `q` and decides whether it is
 * the one to answer. `#` cannot occur in a URI, so no two patterns share a group.
 */
export function patternQueue(queue: string, pattern: string, match: 'prefix' | 'wildcard'): string {
  return `${queue}.${match}.${pattern
    .split('.')
    .map((part) => (part === '' ? '#' : part))
    .join('.')}`;
}
