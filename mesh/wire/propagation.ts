// What travels with a call from hop to hop in request headers: the deadline (`Mesh-Deadline`), the caller's
// identity (`Mesh-Identity`, forwarded unchanged) and trace context (`traceparent` of the hop's own span, `tracestate`).
// Reading them from a request and writing them on the next one; checking the identity is the host's job.
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { CONTENT_TYPE_HEADER } from './codec.ts';
import { HEARTBEAT_HEADER } from './heartbeat.ts';
import { STREAM_HEADER } from './stream.ts';
import { headerBlock } from './nats-internals.ts';

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

/** A deadline header's value as ms since the epoch, or undefined when it is not a whole number of ms (1 to 16 digits). */
function parseDeadline(value: string | undefined): number | undefined {
  if (!value || value.length > 16) return undefined;
  let ms = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    ms = ms * 10 + digit;
  }
  return ms;
}

/** What a service host reads from a request's headers: the codec's Content-Type, heartbeats, deadline, what it forwards. */
export interface RequestHeaders {
  contentType: string | undefined;
  heartbeat: boolean;
  /** The caller takes progressive results (`Mesh-Stream`, stream.ts). */
  stream: boolean;
  deadline: number | undefined;
  identity: string | undefined;
  forwarded: Forwarded;
}

const NO_HEADERS: RequestHeaders = Object.freeze({ contentType: undefined, heartbeat: false, stream: false, deadline: undefined, identity: undefined, forwarded: NOTHING });

/** The names a host reads, each matched where it stands in the header block's text rather than sliced out. */
const READ = [CONTENT_TYPE_HEADER, HEARTBEAT_HEADER, STREAM_HEADER, DEADLINE_HEADER, ...FORWARDED] as const;

function nameAt(text: string, start: number, end: number): (typeof READ)[number] | undefined {
  for (const name of READ) if (name.length === end - start && text.startsWith(name, start)) return name;
  return undefined;
}

/** The request headers in a header block's text: each name matched exactly, its first value trimmed, as nats.js reads them. */
function parseRequestHeaders(text: string): RequestHeaders {
  let contentType: string | undefined;
  let heartbeat = false;
  let stream = false;
  let deadline: number | undefined;
  let deadlineRead = false;
  let forwarded: Record<string, string> | undefined;
  /** The forwarded names already met, by their index in FORWARDED: only a name's first value counts, even an empty one. */
  let forwardedMet = 0;
  for (let start = text.indexOf('\r\n') + 2, end: number; start > 1 && start < text.length; start = end + 2) {
    end = text.indexOf('\r\n', start);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon > end) continue;
    const name = nameAt(text, start, colon);
    if (name === undefined) continue;
    const value = text.slice(colon + 1, end).trim();
    if (name === CONTENT_TYPE_HEADER) contentType ??= value;
    else if (name === HEARTBEAT_HEADER) heartbeat = true;
    else if (name === STREAM_HEADER) stream = value === '1';
    else if (name === DEADLINE_HEADER) {
      if (!deadlineRead) deadline = parseDeadline(value);
      deadlineRead = true;
    } else {
      const bit = 1 << FORWARDED.indexOf(name);
      if (forwardedMet & bit) continue;
      forwardedMet |= bit;
      if (value) (forwarded ??= {})[name] = value;
    }
  }
  return { contentType, heartbeat, stream, deadline, identity: forwarded?.[IDENTITY_HEADER], forwarded: forwarded ?? NOTHING };
}

/**
 * The same from nats.js's decoded headers, the public way: one pass over them, as nats.js keeps each name once
 * with its values in order. A block nats.js cannot decode (a name with a space, which no nats.js client sends)
 * reads as no headers: no identity, no deadline, the default codec.
 */
function readDecodedHeaders(msg: Msg): RequestHeaders {
  let headers: MsgHdrs | undefined;
  try {
    headers = msg.headers;
  } catch {
    return NO_HEADERS;
  }
  if (!headers) return NO_HEADERS;
  let contentType: string | undefined;
  let heartbeat = false;
  let stream = false;
  let deadline: number | undefined;
  let forwarded: Record<string, string> | undefined;
  for (const [name, values] of headers) {
    const value = values[0] ?? '';
    if (name === CONTENT_TYPE_HEADER) contentType = value;
    else if (name === HEARTBEAT_HEADER) heartbeat = true;
    else if (name === STREAM_HEADER) stream = value === '1';
    else if (name === DEADLINE_HEADER) deadline = parseDeadline(value);
    else if ((FORWARDED as readonly string[]).includes(name) && value) (forwarded ??= {})[name] = value;
  }
  return { contentType, heartbeat, stream, deadline, identity: forwarded?.[IDENTITY_HEADER], forwarded: forwarded ?? NOTHING };
}

/** The last header block read and what it held: a caller sends the same block for every request of a tick. */
let last: { text: string; read: RequestHeaders } = { text: '', read: NO_HEADERS };

/**
 * Reads a request's headers from their undecoded header block when nats.js has it (one text decode, no MsgHdrs
 * built: nats-internals.ts), else from msg.headers. The same block as the last request's is read once.
 */
export function readRequestHeaders(msg: Msg): RequestHeaders {
  const text = headerBlock(msg);
  if (text === undefined) return readDecodedHeaders(msg);
  if (text === last.text) return last.read;
  last = { text, read: parseRequestHeaders(text) };
  return last.read;
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
