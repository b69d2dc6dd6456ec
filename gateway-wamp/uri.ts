// Maps WAMP topic and procedure URIs to NATS subjects: components become tokens, and the match policies
// `prefix` (a.b -> a.b.>) and `wildcard` (a..c -> a.*.c) become NATS wildcards. Nothing here touches NATS.

export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';

const MATCH_POLICIES: ReadonlySet<string> = new Set<MatchPolicy>(['exact', 'prefix', 'wildcard']);

/** A URI component that is also a literal NATS token: no whitespace, no NATS wildcard, no `#` (reserved by WAMP). */
const COMPONENT = /^[^\s.*>#]+$/;

/** Subjects no WAMP client may reach: NATS system and service APIs, reply inboxes, and the router's own wamp.* space. */
function isReserved(first: string): boolean {
  return first.startsWith('$') || first === '_INBOX' || first === 'wamp';
}

export function isMatchPolicy(value: unknown): value is MatchPolicy {
  return typeof value === 'string' && MATCH_POLICIES.has(value);
}

/** The NATS subject of an exact URI (a topic to publish to, a procedure to call or register), or undefined if it is not one. */
export function exactSubject(uri: string): string | undefined {
  const components = uri.split('.');
  if (!components.every((c) => COMPONENT.test(c)) || isReserved(components[0]!)) return undefined;
  return uri;
}

/** The NATS subject a subscription listens on, or undefined when the URI is not valid under the policy. */
export function subscriptionSubject(uri: string, match: MatchPolicy): string | undefined {
  if (match === 'exact') return exactSubject(uri);
  if (match === 'prefix') {
    const subject = exactSubject(uri);
    return subject === undefined ? undefined : `${subject}.>`;
  }
  const [first, ...rest] = uri.split('.');
  // The first component stays literal, so no wildcard reaches reply inboxes or system subjects.
  if (!COMPONENT.test(first!) || isReserved(first!)) return undefined;
  if (!rest.every((c) => c === '' || COMPONENT.test(c))) return undefined;
  const components = [first!, ...rest];
  return components.map((c) => (c === '' ? '*' : c)).join('.');
}
