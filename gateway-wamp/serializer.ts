// The two WAMP serializers, wamp.2.json in text frames and wamp.2.msgpack in binary frames: frame bytes <-> values.
// Decoding failures are values, not exceptions; what the decoded value must look like is parse.ts's business.
import { ExtensionCodec } from '@msgpack/msgpack';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { CONTENT_TYPE_HEADER, exactMsgpack, jsonCodec, MAX_DEPTH, msgpackCodec, parseJsonExact, stringifyExact, type Codec } from '../mesh/gateway.ts';
import { MAX_ID, type Subprotocol } from './protocol.ts';

export interface Serializer {
  readonly subprotocol: Subprotocol;
  /** Index into per-serializer caches, so a frame is encoded once per serializer. */
  readonly index: 0 | 1;
  /** Whether frames are binary websocket messages (msgpack) or text (json). */
  readonly binary: boolean;
  /** The mesh codec with the same encoding, used for calls to NATS so values survive unchanged. */
  readonly codec: Codec;
  /** NATS headers that announce `codec` (undefined for JSON, the mesh default). */
  readonly natsHeaders: MsgHdrs | undefined;
  decode(data: Buffer, isBinary: boolean): { ok: true; value: unknown } | { ok: false; reason: string };
  encode(message: unknown[]): Buffer;
}

/**
 * msgpackr (wampy's MessagePack library) writes JavaScript `undefined`, e.g. an unset option, as extension type 0;
 * it reads as undefined here, as an absent option. WAMP uses no other extension.
 */
const undefinedExtension = new ExtensionCodec();
undefinedExtension.register({ type: 0, encode: () => null, decode: () => undefined });

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The leading numbers of a JSON message (its type code and ids) as written, e.g. `["16", "239714735"]` for
 * `[16, 239714735, {}, ...]`: JSON.parse rounds an integer past 2^53 silently, so ids are checked in the text.
 */
function leadingNumbers(text: string): string[] {
  const numbers: string[] = [];
  const token = /\s*(-?[0-9][0-9.eE+-]*)\s*(,|\])/y;
  token.lastIndex = text.indexOf('[') + 1;
  for (let match = token.exec(text); match; match = token.exec(text)) {
    numbers.push(match[1]!);
    if (match[2] === ']') break;
  }
  return numbers;
}

/** Why the type code and ids of a JSON message are not exact integers, or undefined when they are. */
function inexactNumber(text: string): string | undefined {
  for (const [i, written] of leadingNumbers(text).entries()) {
    if (String(Number(written)) !== written) return `field ${i} is written ${written.slice(0, 40)}, which is not an exact integer in [1, 2^53]`;
  }
  return undefined;
}

/** Bytes each leading msgpack integer takes after its type byte; other types end the leading numbers. */
const MSGPACK_INT_SIZES: Record<number, number> = { 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xca: 4, 0xcb: 8 };

/** Why a leading number of a msgpack message (type code, ids) is a 64-bit integer past 2^53, or undefined. */
function inexactMsgpackNumber(data: Buffer): string | undefined {
  const head = data[0];
  if (head === undefined) return undefined;
  let offset = head >= 0x90 && head <= 0x9f ? 1 : head === 0xdc ? 3 : head === 0xdd ? 5 : 0;
  for (let field = 0; offset > 0 && offset < data.length; field++) {
    const type = data[offset]!;
    if (type <= 0x7f || type >= 0xe0) {
      offset += 1;
      continue;
    }
    const size = MSGPACK_INT_SIZES[type];
    if (size === undefined || offset + 1 + size > data.length) return undefined;
    if (type === 0xcf || type === 0xd3) {
      const value = type === 0xcf ? data.readBigUInt64BE(offset + 1) : data.readBigInt64BE(offset + 1);
      if (value > BigInt(MAX_ID)) return `field ${field} is ${value}, past 2^53`;
    }
    offset += 1 + size;
  }
  return undefined;
}

/** Room for any payload the mesh's codecs accept: a frame holds args one level down, and the encoder counts the scalar. */
const FRAME_DEPTH = MAX_DEPTH + 3;

const frameMsgpack = exactMsgpack({ maxDepth: FRAME_DEPTH, extensionCodec: undefinedExtension });

/**
 * A message's own integers (type code, ids) are numbers up to 2^53 inclusive, the largest id: the codecs read 2^53
 * as a bigint, as they read any integer past the safe ones. Larger ids were refused before this.
 */
function idsAsNumbers(value: unknown): unknown {
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) if (typeof value[i] === 'bigint') value[i] = Number(value[i]);
  return value;
}

const DECODERS: Record<Subprotocol, (data: Buffer) => { ok: true; value: unknown } | { ok: false; reason: string }> = {
  'wamp.2.json': (data) => {
    const text = textDecoder.decode(data);
    const value: unknown = parseJsonExact(text);
    const inexact = inexactNumber(text);
    return inexact ? { ok: false, reason: inexact } : { ok: true, value: idsAsNumbers(value) };
  },
  'wamp.2.msgpack': (data) => {
    const value = frameMsgpack.decode(data);
    const inexact = inexactMsgpackNumber(data);
    return inexact ? { ok: false, reason: inexact } : { ok: true, value: idsAsNumbers(value) };
  },
};

/** An integer field past the safe integers: only an id of 2^53, which the encoder would write as a float64. */
const isUnsafeInteger = (field: unknown) => typeof field === 'number' && Number.isInteger(field) && !Number.isSafeInteger(field);

/** Writes a message; an id of 2^53 as a bigint, so that it is a uint64, not a float64. */
function encodeMsgpackFrame(message: unknown[]): Uint8Array {
  if (!message.some(isUnsafeInteger)) return frameMsgpack.encode(message);
  return frameMsgpack.encode(message.map((field) => (isUnsafeInteger(field) ? BigInt(field as number) : field)));
}

/** Writes a message as JSON text: bytes as WAMP's NUL and base64, a bigint as its exact digits. */
function encodeJsonFrame(message: unknown[]): Uint8Array {
  // Buffer.from draws on Node's shared pool, where TextEncoder allocates an ArrayBuffer per frame.
  return Buffer.from(stringifyExact(message, FRAME_DEPTH)!, 'utf8');
}

const ENCODERS: Record<Subprotocol, (message: unknown[]) => Uint8Array> = {
  'wamp.2.json': encodeJsonFrame,
  'wamp.2.msgpack': encodeMsgpackFrame,
};

function serializer(subprotocol: Subprotocol, index: 0 | 1, codec: Codec, binary: boolean): Serializer {
  let headers: MsgHdrs | undefined;
  if (codec !== jsonCodec) {
    headers = natsHeaders();
    headers.set(CONTENT_TYPE_HEADER, codec.contentType);
  }
  const decodeFrame = DECODERS[subprotocol];
  const encodeFrame = ENCODERS[subprotocol];
  return {
    subprotocol,
    index,
    binary,
    codec,
    natsHeaders: headers,
    decode(data, isBinary) {
      if (isBinary !== binary) {
        return { ok: false, reason: `${subprotocol} messages must be ${binary ? 'binary' : 'text'} frames` };
      }
      try {
        return decodeFrame(data);
      } catch (err) {
        return { ok: false, reason: `not a ${subprotocol} message: ${(err as Error).message}` };
      }
    },
    encode(message) {
      const bytes = encodeFrame(message);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}

export const SERIALIZERS: Record<Subprotocol, Serializer> = {
  'wamp.2.json': serializer('wamp.2.json', 0, jsonCodec, false),
  'wamp.2.msgpack': serializer('wamp.2.msgpack', 1, msgpackCodec, true),
};
