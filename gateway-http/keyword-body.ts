// A request body that is one object of keyword arguments (`{"first_name": "Bob"}`, or a MessagePack map) becomes
// the canonical `[[], {...}]`; any other body is passed on untouched, unread. It checks no argument.
import { MeshError, isKwargs, msgpackCodec, type Codec } from '../mesh/gateway.ts';

const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Whether the body opens a JSON object or a MessagePack map; one or a few bytes are looked at. */
function opensObject(body: Uint8Array, codec: Codec): boolean {
  if (codec === msgpackCodec) {
    const first = body[0];
    return first !== undefined && ((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf);
  }
  let i = 0;
  while (i < body.length && WHITESPACE.has(body[i]!)) i++;
  return body[i] === OPEN_BRACE;
}

/** The body to forward: the same bytes, or `[[], object]` re-encoded when the body is an object. */
export function keywordBody(body: Buffer, codec: Codec): Buffer {
  if (!opensObject(body, codec)) return body;
  const value = codec.decode(body);
  if (!isKwargs(value)) throw new MeshError('INVALID_ARGUMENT', 'a body that is an object must be a plain object of keyword arguments');
  return Buffer.from(codec.encode([[], value]));
}
