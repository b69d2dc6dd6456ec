// Payload codecs: JSON by default, MessagePack when a message says Content-Type: application/msgpack.
// Only bytes <-> values; the shape of a payload is envelope.ts's business.
import { MeshError } from './errors.ts';
import { jsonTooDeep, jsonWithin, MAX_DEPTH, TOO_DEEP, valueTooDeep } from './depth.ts';
import { exactMsgpack, parseJsonExact, stringifyExact } from './exact-values.ts';

export const CONTENT_TYPE_HEADER = 'Content-Type';
export const JSON_TYPE = 'application/json';
export const MSGPACK_TYPE = 'application/msgpack';

export interface Codec {
  readonly contentType: typeof JSON_TYPE | typeof MSGPACK_TYPE;
  /**
   * Empty input decodes to undefined: an empty payload is a valid request. Malformed input, or a payload nested deeper
   * than MAX_DEPTH, is INVALID_ARGUMENT. Integers outside the safe integers are bigints, binary is a Uint8Array
   * (exact-values.ts says how JSON writes both).
   */
  decode(bytes: Uint8Array): unknown;
  /**
   * Throws INVALID_ARGUMENT for a value nested deeper than MAX_DEPTH or a bigint MessagePack cannot hold, a TypeError
   * for one with no encoding.
   */
  encode(value: unknown): Uint8Array;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: Codec = {
  contentType: JSON_TYPE,
  decode(bytes) {
    if (bytes.length === 0) return undefined;
    let text: string;
    try {
      text = textDecoder.decode(bytes);
    } catch (err) {
      throw new MeshError('INVALID_ARGUMENT', `payload is not valid JSON: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // Too deep is what a payload is refused for first, whatever else is wrong with it.
      if (jsonTooDeep(text)) throw new MeshError('INVALID_ARGUMENT', `payload is ${TOO_DEEP}`);
      throw new MeshError('INVALID_ARGUMENT', `payload is not valid JSON: ${(err as Error).message}`);
    }
    // Measured on the value (JSON.parse reads any depth): a walk of it costs less than a scan of the text. Each level
    // takes a character at least, so shorter text cannot be too deep.
    if (text.length > MAX_DEPTH && valueTooDeep(parsed)) throw new MeshError('INVALID_ARGUMENT', `payload is ${TOO_DEEP}`);
    return parseJsonExact(text, parsed);
  },
  encode(value) {
    // Buffer.from takes small results from Node's shared pool; TextEncoder allocates an ArrayBuffer per call (about 1 µs).
    return Buffer.from(jsonText(value), 'utf8');
  },
};

/**
 * The JSON text jsonCodec encodes, for a value that goes inside a larger document: `maxDepth` is what is left of
 * MAX_DEPTH at the place it goes. Throws as encode does.
 */
export function jsonText(value: unknown, maxDepth = MAX_DEPTH): string {
  let text: string | undefined;
  try {
    text = stringifyExact(value, maxDepth);
  } catch (err) {
    // Thousands of levels overflow the stack before the text could be measured.
    if (valueTooDeep(value, maxDepth)) throw new MeshError('INVALID_ARGUMENT', `value is ${TOO_DEEP}`, { cause: err });
    throw err;
  }
  if (text === undefined) throw new TypeError('value has no JSON form');
  if (!jsonFits(value, text, maxDepth)) throw new MeshError('INVALID_ARGUMENT', `value is ${TOO_DEEP}`);
  return text;
}

/**
 * Whether a value's JSON text (as jsonText wrote it) nests within `maxDepth` levels. The text is scanned only when
 * the value cannot show its depth (a toJSON in it) or reaches the limit.
 */
export function jsonFits(value: unknown, text: string, maxDepth: number): boolean {
  return text.length <= maxDepth || jsonWithin(value, maxDepth) || !jsonTooDeep(text, maxDepth);
}

// One for the process; the encoder counts the scalar inside the innermost array as one level more.
const msgpack = exactMsgpack({ maxDepth: MAX_DEPTH + 1 });

export const msgpackCodec: Codec = {
  contentType: MSGPACK_TYPE,
  decode(bytes) {
    if (bytes.length === 0) return undefined;
    let value: unknown;
    try {
      value = msgpack.decode(bytes);
    } catch (err) {
      throw new MeshError('INVALID_ARGUMENT', `payload is not valid MessagePack: ${(err as Error).message}`);
    }
    // Each level takes a byte at least: shorter payloads cannot be too deep.
    if (bytes.length > MAX_DEPTH && valueTooDeep(value)) throw new MeshError('INVALID_ARGUMENT', `payload is ${TOO_DEEP}`);
    return value;
  },
  encode(value) {
    try {
      return msgpack.encode(value);
    } catch (err) {
      if (err instanceof MeshError) throw err;
      if (valueTooDeep(value)) throw new MeshError('INVALID_ARGUMENT', `value is ${TOO_DEEP}`, { cause: err });
      throw err;
    }
  },
};

/** INVALID_ARGUMENT for a value a codec could not encode: `problem`, then why when the codec said (too deep, no encoding). */
export function cannotEncode(problem: string, err: unknown): MeshError {
  const why = err instanceof Error ? `: ${err.message}` : '';
  return new MeshError('INVALID_ARGUMENT', `${problem}${why}`, { cause: err });
}

const MSGPACK_ALIASES = new Set([MSGPACK_TYPE, 'application/x-msgpack', 'application/vnd.msgpack']);

/** The codec for a Content-Type value (parameters ignored); undefined when it is neither JSON nor MessagePack. */
export function codecForContentType(contentType: string | undefined | null): Codec | undefined {
  if (!contentType) return jsonCodec;
  // The values the mesh's own clients send, known without the split, trim and lowercasing below (about 1,500
  // instructions a request).
  if (contentType === MSGPACK_TYPE) return msgpackCodec;
  if (contentType === JSON_TYPE) return jsonCodec;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (MSGPACK_ALIASES.has(type)) return msgpackCodec;
  if (type === JSON_TYPE || type.endsWith('+json')) return jsonCodec;
  return undefined;
}
