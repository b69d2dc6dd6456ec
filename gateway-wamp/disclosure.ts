// How a session that discloses itself (CALL or PUBLISH option disclose_me) travels on NATS: `<session>;<authid>;
// <authrole>`, authid and authrole percent-encoded, in the header Wamp-Caller or after the id in Wamp-Publication.
import type { Peer } from './peer.ts';
import { MAX_ID } from './protocol.ts';

/** A disclosed session, as INVOCATION.Details (`caller`, ...) and EVENT.Details (`publisher`, ...) name it. */
export interface Disclosed {
  session: number;
  authid: string;
  authrole: string;
}

/** The peer's identity as a header value: printable ASCII without `;` inside a part. */
export function disclosure(peer: Peer): string {
  return `${peer.id};${encodeURIComponent(peer.authid)};${encodeURIComponent(peer.authrole)}`;
}

/** The identity a header value discloses; undefined when it is malformed (then nobody is named). */
export function disclosedBy(value: string): Disclosed | undefined {
  const [session, authid, authrole, ...rest] = value.split(';');
  const id = Number(session);
  if (!Number.isInteger(id) || id < 1 || id > MAX_ID || authrole === undefined || rest.length > 0) return undefined;
  try {
    return { session: id, authid: decodeURIComponent(authid!), authrole: decodeURIComponent(authrole) };
  } catch {
    return undefined;
  }
}
