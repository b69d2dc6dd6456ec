// Headers that many messages share (a codec's Content-Type, a caller's deadline for one tick, heartbeats), encoded
// once: nats.js encodes a message's headers again at every publish otherwise. A message that needs a few lines
// more (its own trace context) extends their encoded text instead of copying and re-encoding them.
import { headers as natsHeaders, type MsgHdrs, type MsgHdrsImpl } from '@nats-io/transport-node';

/** The encoded text of sealed headers: `NATS/1.0\r\n<name>: <value>\r\n...\r\n\r\n`, or '' for none. */
const sealedText = new WeakMap<MsgHdrs, string>();
const PRINTABLE = /^[\x20-\x7e]*$/;

/** A header block's bytes, from Node's shared buffer pool: cheaper per message than a TextEncoder's own ArrayBuffer. */
function encodeText(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** Seals headers that will not change again: their encoding is made now and reused; anything set later is not sent. */
export function sealHeaders(headers: MsgHdrs): MsgHdrs {
  const text = (headers as MsgHdrsImpl).toString();
  const bytes = encodeText(text);
  sealedText.set(headers, text);
  (headers as MsgHdrsImpl).encode = () => bytes;
  return headers;
}

/**
 * Headers for one message to send: sealed ones with more lines after them (an undefined value adds none). A value
 * that is not printable ASCII is refused with a TypeError, as nats.js refuses a CR or LF. Only the encoding is
 * made: reading the result back finds nothing.
 */
export function sealedWith(sealed: MsgHdrs, more: Readonly<Record<string, string | undefined>>): MsgHdrs {
  const base = sealedText.get(sealed);
  if (base === undefined) throw new TypeError('sealedWith needs headers sealed by sealHeaders');
  let text = base === '' ? 'NATS/1.0' : base.slice(0, -4);
  for (const name in more) {
    const value = more[name];
    if (value === undefined) continue;
    if (!PRINTABLE.test(value)) throw new TypeError(`header ${name} must be printable ASCII`);
    text += `\r\n${name}: ${value}`;
  }
  const bytes = encodeText(`${text}\r\n\r\n`);
  const headers = natsHeaders();
  (headers as MsgHdrsImpl).encode = () => bytes;
  return headers;
}
