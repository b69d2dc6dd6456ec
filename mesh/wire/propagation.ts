// What travels with a call from hop to hop in request headers: the deadline (`Mesh-Deadline`), the caller's
// identity (`Mesh-Identity`, forwarded unchanged) and trace context (`traceparent` of the hop's own span, `tracestate`).
// Reading them from a request and writing them on the next one; checking the identity is the host's job.
import { headers as natsHeaders, type MsgHdrs } from 'nats';
import { CONTENT_TYPE_HEADER } from './codec.ts';
import { HEARTBEAT_HEADER } from './heartbeat.ts';

/** The moment a request's answer stops being useful, in milliseconds since the epoch (clocks kept by NTP). */
export const DEADLINE_HEADER = 'Mesh-Deadline';
/** The verified caller, as an identity token a gateway minted (auth/mesh-identity.ts) or a NATS user's own JWT. */
export const IDENTITY_HEADER = 'Mesh-Identity';
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** Headers copied unchanged from the request a handler serves onto every call and event it makes. */
const FORWARDED = [IDENTITY_HEADER, TRACEPARENT_HEADER, TRACESTATE_HEADER] as const;

/** The forwarded headers of a request, by name; empty when it carries none. */
export type Forwarded = Readonly<Partial<Record<(typeof FORWARDED)[number], string>>>;

const NOTHING: Forwarded = Object.freeze({});

/** A deadline header's value as ms since the epoch, or undefined when it is not a whole number of ms. */
function parseDeadline(value: string | undefined): number | undefined {
  return value && /^\d{1,16}$/.test(value) ? Number(value) : undefined;
}

/** What a service host reads from a request's headers: the codec's Content-Type, heartbeats, deadline, what it forwards. */
export interface RequestHeaders {
  contentType: string | undefined;
  heartbeat: boolean;
  deadline: number | undefined;
  identity: string | undefined;
  forwarded: Forwarded;
}

const NO_HEADERS: RequestHeaders = Object.freeze({ contentType: undefined, heartbeat: false, deadline: undefined, identity: undefined, forwarded: NOTHING });

/** Reads a request's headers in one pass (names matched exactly, as nats.js does), not one lookup per header. */
export function readRequestHeaders(headers: MsgHdrs | undefined): RequestHeaders {
  if (!headers) return NO_HEADERS;
  let contentType: string | undefined;
  let heartbeat = false;
  let deadline: number | undefined;
  let forwarded: Record<string, string> | undefined;
  for (const [name, values] of headers as unknown as Iterable<[string, string[]]>) {
    const value = values[0];
    if (name === CONTENT_TYPE_HEADER) contentType = value;
    else if (name === HEARTBEAT_HEADER) heartbeat = true;
    else if (name === DEADLINE_HEADER) deadline = parseDeadline(value);
    else if (value && (FORWARDED as readonly string[]).includes(name)) (forwarded ??= {})[name] = value;
  }
  const identity = forwarded?.[IDENTITY_HEADER];
  return { contentType, heartbeat, deadline, identity, forwarded: forwarded ?? NOTHING };
}

/** A copy of some request headers (or none) with more set on it; an undefined value sets nothing. */
export function headersWith(base: MsgHdrs | undefined, more: Readonly<Record<string, string | undefined>>): MsgHdrs {
  const headers = natsHeaders();
  for (const name of base?.keys() ?? []) for (const value of base!.values(name)) headers.append(name, value);
  for (const [name, value] of Object.entries(more)) if (value !== undefined) headers.set(name, value);
  return headers;
}

/** Request headers carrying the forwarded ones (and optionally a Content-Type), or undefined when there are none. */
export function forwardedHeaders(forwarded: Forwarded, extra?: Readonly<Record<string, string>>): MsgHdrs | undefined {
  const all = { ...forwarded, ...extra };
  return Object.keys(all).length === 0 ? undefined : headersWith(undefined, all);
}

/** The forwarded headers with the trace context replaced by the hop's own span: the next hop is its child. */
export function forwardedThrough(forwarded: Forwarded, hop: { traceparent: string; tracestate: string | undefined }): Forwarded {
  const next: Record<string, string> = { ...forwarded, [TRACEPARENT_HEADER]: hop.traceparent };
  if (hop.tracestate === undefined) delete next[TRACESTATE_HEADER];
  else next[TRACESTATE_HEADER] = hop.tracestate;
  return next;
}
