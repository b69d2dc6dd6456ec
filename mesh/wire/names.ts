// The one check for names that become NATS subjects (procedure names, topics, WAMP URIs), shared by every
// entry point so that nothing a client sends can break a NATS control line or reach a system subject.
// It says what is wrong with a name; which error code that becomes is the caller's choice.

/** Bytes a name may take by default: far below nats-server's 4 KB control line, with room for the rest of it. */
export const DEFAULT_MAX_NAME_BYTES = 256;

/** A token: no whitespace or control character, no NATS wildcard (`*`, `>`) and no `#` (reserved by WAMP). */
const TOKEN = /^[^\s\p{Cc}\p{Cf}\p{Cs}*>#.]+$/u;

/** The name as it may appear in a message or a log line: JSON-quoted, and cut short when long. */
export function quoteName(name: string, maxChars = 64): string {
  return JSON.stringify(name.length > maxChars ? `${name.slice(0, maxChars)}…` : name);
}

/**
 * Why a name cannot be a subject, or undefined when it can: 1 to maxBytes bytes of UTF-8, tokens
 * separated by single dots, none empty, none holding a wildcard, whitespace or control character, and not under
 * `$` (the NATS system and service APIs) or `_INBOX…` (reply subjects, `_INBOX_<user>` included).
 */
export function nameProblem(name: string, maxBytes = DEFAULT_MAX_NAME_BYTES): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > maxBytes || Buffer.byteLength(name, 'utf8') > maxBytes) return `the name is longer than ${maxBytes} bytes`;
  const tokens = name.split('.');
  if (tokens.some((token) => token === '')) return 'the name has an empty part (a leading, trailing or double dot)';
  if (!tokens.every((token) => TOKEN.test(token))) {
    return 'the name holds a character that is not allowed (whitespace, a control character, a lone surrogate, *, > or #)';
  }
  const first = tokens[0]!;
  // `_INBOX_<user>` too: the inboxes of users with their own prefix (`nats.inboxPrefix`, mesh nats-config).
  if (first.startsWith('$') || first.startsWith('_INBOX')) return `names under '${first}' are reserved`;
  return undefined;
}
