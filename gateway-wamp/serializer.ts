// The two WAMP serializers, wamp.2.json in text frames and wamp.2.msgpack in binary frames: frame bytes <-> values.
// Decoding failures are values, not exceptions; what the decoded value must look like is parse.ts's business.
import { decode as decodeMsgpack, ExtensionCodec } from '@msgpack/msgpack';
import { headers as natsHeaders, type MsgHdrs } from 'nats';
import { CONTENT_TYPE_HEADER, jsonCodec, msgpackCodec, type Codec } from '../mesh/index.ts';
import type { Subprotocol } from './protocol.ts';

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

const DECODERS: Record<Subprotocol, (data: Buffer) => unknown> = {
  'wamp.2.json': (data) => JSON.parse(textDecoder.decode(data)),
  'wamp.2.msgpack': (data) => decodeMsgpack(data, { extensionCodec: undefinedExtension }),
};

function serializer(subprotocol: Subprotocol, index: 0 | 1, codec: Codec, binary: boolean): Serializer {
  let headers: MsgHdrs | undefined;
  if (codec !== jsonCodec) {
    headers = natsHeaders();
    headers.set(CONTENT_TYPE_HEADER, codec.contentType);
  }
  const decodeFrame = DECODERS[subprotocol];
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
        return { ok: true, value: decodeFrame(data) };
      } catch (err) {
        return { ok: false, reason: `not a ${subprotocol} message: ${(err as Error).message}` };
      }
    },
    encode(message) {
      const bytes = codec.encode(message);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}

export const SERIALIZERS: Record<Subprotocol, Serializer> = {
  'wamp.2.json': serializer('wamp.2.json', 0, jsonCodec, false),
  'wamp.2.msgpack': serializer('wamp.2.msgpack', 1, msgpackCodec, true),
};
