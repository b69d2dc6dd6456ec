// The reply side of the wire format, for anything that answers a mesh request (service hosts, the WAMP
// gateway for its callees): [args, kwargs] in the request's codec, or an error reply. Decoding is client.ts's.
import { headers as natsHeaders, type Msg } from '@nats-io/transport-node';
import { CONTENT_TYPE_HEADER, msgpackCodec, type Codec } from './codec.ts';
import type { Envelope } from './envelope.ts';
import { MeshError } from './errors.ts';
import { sealHeaders } from './sealed-headers.ts';

/** The micro services protocol's error headers: the message, and the status as a number. */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';

type Request = Pick<Msg, 'respond'>;

/** Success headers naming the codec, made once: publishing only reads headers. */
const msgpackHeaders = natsHeaders();
msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
const MSGPACK_HEADERS = sealHeaders(msgpackHeaders);

/** Answers [args, kwargs]; throws INTERNAL (the cause attached) when they cannot be encoded, having sent nothing. */
export function respondResult(msg: Request, codec: Codec, envelope: Envelope): void {
  let body: Uint8Array;
  try {
    body = codec.encode(envelope);
  } catch (err) {
    throw new MeshError('INTERNAL', 'reply could not be encoded', { cause: err });
  }
  msg.respond(body, codec === msgpackCodec ? { headers: MSGPACK_HEADERS } : undefined);
}

/** The longest error message a header carries; the body always has the whole of it. */
const MAX_HEADER_MESSAGE = 256;

/**
 * An error message as a NATS header value may hold it: printable ASCII only (a CR or LF would make nats.js
 * throw, and a message may quote client input), each other character a `?`, cut to MAX_HEADER_MESSAGE.
 */
export function headerSafe(text: string): string {
  const safe = text.replace(/[^\x20-\x7e]/g, '?');
  return safe.length > MAX_HEADER_MESSAGE ? `${safe.slice(0, MAX_HEADER_MESSAGE - 3)}...` : safe;
}

/** Answers an error: the micro protocol's headers, and the body {"error": {code, message, status}} any client can read. */
export function respondError(msg: Request, codec: Codec, error: MeshError): void {
  const headers = natsHeaders();
  headers.set(CONTENT_TYPE_HEADER, codec.contentType);
  headers.set(SERVICE_ERROR_HEADER, headerSafe(error.message));
  headers.set(SERVICE_ERROR_CODE_HEADER, String(error.status));
  msg.respond(codec.encode(error.toBody()), { headers });
}
