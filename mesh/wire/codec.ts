// Payload codecs: JSON by default, MessagePack when a message says Content-Type: application/msgpack.
// Only bytes <-> values; the shape of a payload is envelope.ts's business.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { MeshError } from './errors.ts';

export const CONTENT_TYPE_HEADER = 'Content-Type';
export const JSON_TYPE = 'application/json';
export const MSGPACK_TYPE = 'application/msgpack';

export interface Codec {
  readonly contentType: typeof JSON_TYPE | typeof MSGPACK_TYPE;
  /** Empty input decodes to undefined: an empty payload is a valid request. */
  decode(bytes: Uint8Array): unknown;
  encode(value: unknown): Uint8Array;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: Codec = {
  contentType: JSON_TYPE,
  decode(bytes) {
    if (bytes.length === 0) return undefined;
    try {
      return JSON.parse(textDecoder.decode(bytes));
    } catch (err) {
      throw new MeshError('INVALID_ARGUMENT', `payload is not valid JSON: ${(err as Error).message}`);
    }
  },
  encode(value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('value has no JSON form');
    // Buffer.from takes small results from Node's shared pool; TextEncoder allocates an ArrayBuffer per call (about 1 µs).
    return Buffer.from(text, 'utf8');
  },
};

// One of each for the process: the library's encode()/decode() functions build a new one, buffers and
// caches included, on every call. Encoder.encode returns a copy, so sharing is safe.
const msgpackEncoder = new Encoder({ ignoreUndefined: true });
const msgpackDecoder = new Decoder();

export const msgpackCodec: Codec = {
  contentType: MSGPACK_TYPE,
  decode(bytes) {
    if (bytes.length === 0) return undefined;
    try {
      return msgpackDecoder.decode(bytes);
    } catch (err) {
      throw new MeshError('INVALID_ARGUMENT', `payload is not valid MessagePack: ${(err as Error).message}`);
    }
  },
  encode(value) {
    return msgpackEncoder.encode(value);
  },
};

const MSGPACK_ALIASES = new Set([MSGPACK_TYPE, 'application/x-msgpack', 'application/vnd.msgpack']);

/** The codec for a Content-Type value (parameters ignored); undefined when it is neither JSON nor MessagePack. */
export function codecForContentType(contentType: string | undefined | null): Codec | undefined {
  if (!contentType) return jsonCodec;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (MSGPACK_ALIASES.has(type)) return msgpackCodec;
  if (type === JSON_TYPE || type.endsWith('+json')) return jsonCodec;
  return undefined;
}
