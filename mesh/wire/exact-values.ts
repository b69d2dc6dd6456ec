// Values that must cross codecs unchanged: integers past 2^53 (a bigint in JavaScript) and bytes (a Uint8Array), and
// how JSON, which has neither, writes them. The one home of these rules; what a codec is and how deep it goes is not here.
import { Decoder, Encoder, type ExtensionCodec } from '@msgpack/msgpack';
import { MeshError } from './errors.ts';

/** The integers MessagePack holds: int64 and uint64. A bigint outside them has no MessagePack form. */
const MIN_INT64 = -(2n ** 63n);
const MAX_UINT64 = 2n ** 64n - 1n;

/** An integer as JSON writes it; 20 digits cover uint64, so no longer text is ever handed to BigInt. */
const INTEGER_TEXT = /^-?\d{1,20}$/;

/** Standard base64 (RFC 4648 section 4) with its padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// JSON.rawJSON and the reviver's source text are in Node 24 but not yet in TypeScript's ES2022 lib.
const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };
type Reviver = (this: unknown, key: string, value: unknown, context: { source?: string }) => unknown;
const parseWith = JSON.parse as (text: string, reviver: Reviver) => unknown;

/** The error for a bigint no codec can write, or a JSON binary string that is not base64. */
function inexact(message: string): MeshError {
  return new MeshError('INVALID_ARGUMENT', message);
}

/** Bytes as WAMP's JSON serializer writes them: a NUL, then the standard base64 of the bytes. */
export function bytesToJsonString(bytes: Uint8Array): string {
  return `\0${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/** The bytes a JSON string starting with NUL stands for; INVALID_ARGUMENT when the rest is not standard base64. */
export function bytesFromJsonString(text: string): Uint8Array {
  const base64 = text.slice(1);
  if (!BASE64.test(base64)) throw inexact('a JSON string starting with \\u0000 is binary, and the rest of it must be standard base64');
  const bytes = Buffer.from(base64, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An integer literal outside the safe integers, up to 64 bits, becomes a bigint; a string starting with NUL, bytes. */
const reviveExact: Reviver = (_key, value, context) => {
  if (typeof value === 'number') {
    const source = context.source;
    if (Number.isSafeInteger(value) || source === undefined || !INTEGER_TEXT.test(source)) return value;
    const integer = BigInt(source);
    return integer >= MIN_INT64 && integer <= MAX_UINT64 ? integer : value;
  }
  return typeof value === 'string' && value.charCodeAt(0) === 0 ? bytesFromJsonString(value) : value;
};

/**
 * Whether a value JSON.parse made holds what reviveExact would change: an integer past 2^53 (parsed as a number that
 * is not a safe integer) or a string starting with NUL. Walked without recursion; a scan of the text cost several times more.
 */
function parsedMayHoldExact(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'number') {
      if (Number.isInteger(item) && !Number.isSafeInteger(item)) return true;
    } else if (typeof item === 'string') {
      if (item.charCodeAt(0) === 0) return true;
    } else if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) stack.push(item[i]);
    } else if (typeof item === 'object' && item !== null) {
      for (const key in item) stack.push((item as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/**
 * JSON.parse, except that an integer literal past 2^53 (up to the 64-bit range) is a bigint and a string starting
 * with NUL is bytes. A value holding neither is JSON.parse's as it is; one that may is parsed again with the reviver.
 * `parsed`: the text as JSON.parse read it, when the caller has it already.
 */
export function parseJsonExact(text: string, parsed: unknown = JSON.parse(text)): unknown {
  return parsedMayHoldExact(parsed) ? parseWith(text, reviveExact) : parsed;
}

/** Whether a value holds a bigint or bytes, looking `levels` deep at most: deeper values are the depth check's. */
function holdsExact(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint';
  if (ArrayBuffer.isView(value)) return true;
  if (levels === 0) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsExact(item, levels - 1)) return true;
    return false;
  }
  for (const key in value) if (holdsExact((value as Record<string, unknown>)[key], levels - 1)) return true;
  return false;
}

/**
 * Writes bytes as a NUL and base64, a bigint as its digits, and refuses a string starting with NUL, which JSON would
 * read back as bytes. The holder's own value is read: Buffer's toJSON runs first.
 */
function writeExact(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) return bytesToJsonString(raw);
  if (typeof value === 'bigint') return rawJSON(value.toString());
  if (typeof value === 'string' && value.charCodeAt(0) === 0) throw inexact('a string starting with \\u0000 has no JSON form: JSON reads it as binary');
  return value;
}

/**
 * JSON.stringify, except that bytes are written as a NUL and their base64, and a bigint as its exact digits; a string
 * starting with NUL is INVALID_ARGUMENT. A value `maxDepth` levels deep is looked through for bytes and bigints;
 * ordinary values are stringified as they are, and written again only if the text shows a string starting with NUL.
 */
export function stringifyExact(value: unknown, maxDepth: number): string | undefined {
  if (holdsExact(value, maxDepth)) return JSON.stringify(value, writeExact);
  const text = JSON.stringify(value);
  return text !== undefined && text.includes('"\\u0000') ? JSON.stringify(value, writeExact) : text;
}

/** A MessagePack encoder and decoder that keep integers past 2^53 and bytes exact. */
export interface ExactMsgpack {
  /** Integers outside the safe integers are bigints; every other integer is a number, however wide it was written. */
  decode(bytes: Uint8Array): unknown;
  /** A bigint is an int64 or uint64; one outside both is INVALID_ARGUMENT. */
  encode(value: unknown): Uint8Array;
}

/** Whether bytes may hold a uint64 or int64 (0xcf, 0xd3): the decoder reads those as bigints. */
function mayHold64(bytes: Uint8Array): boolean {
  return bytes.includes(0xcf) || bytes.includes(0xd3);
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A bigint within the safe integers as a number. */
function narrow(value: bigint): number | bigint {
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

/** Narrows every bigint in a freshly decoded value in place, walked without recursion (it may be deeper than allowed). */
function narrowAll(value: unknown): unknown {
  if (typeof value === 'bigint') return narrow(value);
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) continue;
    if (item instanceof Map) {
      for (const [key, child] of item) {
        if (typeof child === 'bigint') item.set(key, narrow(child));
        else stack.push(child);
      }
      continue;
    }
    const holder = item as Record<string, unknown>;
    for (const key in holder) {
      const child = holder[key];
      if (typeof child === 'bigint') holder[key] = narrow(child);
      else stack.push(child);
    }
  }
  return value;
}

/**
 * A copy of a value with its bigints checked and its integers wider than 32 bits as bigints: the encoder that writes
 * bigints would write those as floats. Only for values holding a bigint; depth is bounded by the encoder that follows.
 */
function widen(value: unknown, levels: number): unknown {
  if (typeof value === 'bigint') {
    if (value < MIN_INT64 || value > MAX_UINT64) throw inexact(`the integer ${String(value).slice(0, 40)} is outside the 64-bit range MessagePack holds`);
    return value;
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) && (value > 0xffffffff || value < -0x80000000) ? BigInt(value) : value;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || levels === 0) return value;
  if (Array.isArray(value)) return value.map((item) => widen(item, levels - 1));
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [key, widen(item, levels - 1)]));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = widen(item, levels - 1);
  return copy;
}

/**
 * One encoder and decoder of each kind for a codec: the library builds them, caches included, on every call otherwise.
 * Ordinary values take the plain encoder; one it refuses for a bigint is written again by the encoder of bigints.
 */
export function exactMsgpack(options: { maxDepth: number; extensionCodec?: ExtensionCodec }): ExactMsgpack {
  const plain = new Encoder({ ignoreUndefined: true, ...options });
  const wide = new Encoder({ ignoreUndefined: true, useBigInt64: true, ...options });
  const decoder = new Decoder({ useBigInt64: true, extensionCodec: options.extensionCodec });
  return {
    decode(bytes) {
      const value = decoder.decode(bytes);
      return mayHold64(bytes) ? narrowAll(value) : value;
    },
    encode(value) {
      try {
        return plain.encode(value);
      } catch (err) {
        // Other refusals (too deep, a function) are the same from either encoder.
        if (!holdsExact(value, options.maxDepth)) throw err;
      }
      return wide.encode(widen(value, options.maxDepth));
    },
  };
}
