// Headers that many messages share (a codec's Content-Type, a caller's deadline for one tick, heartbeats), encoded
// once: nats.js encodes a message's headers again at every publish otherwise. A message that needs a few lines
// more (its own trace context) extends their encoded text instead of copying and re-encoding them.
import type { MsgHdrs } from '@nats-io/transport-node';
import { encodedHeaders } from './nats-internals.ts';

/** The encoded text of sealed headers: `NATS/1.0\r\n<name>: <value>\r\n...\r\n\r\n`, or '' for none. */
const sealedText = new WeakMap<MsgHdrs, string>();
const PRINTABLE = /^[\x20-\x7e]*$/;

/** A header block's bytes, from Node's shared buffer pool: cheaper per message than a TextEncoder's own ArrayBuffer. */
function encodeText(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** The header block of some headers, as nats.js writes it: the status line, then each value of each name in order. */
function blockOf(headers: MsgHdrs): string {
  let text = headers.code > 0 && headers.description !== '' ? `NATS/1.0 ${headers.code} ${headers.description}` : 'NATS/1.0';
  let lines = 0;
  for (const [name, values] of headers) {
    for (const value of values) {
      text += `\r\n${name}: ${value}`;
      lines++;
    }
  }
  return lines === 0 && headers.code === 0 ? '' : `${text}\r\n\r\n`;
}

/**
 * Seals headers that will not change again: a copy that reads the same and publishes an encoding made now;
 * anything set on it later is not sent.
 */
export function sealHeaders(headers: MsgHdrs): MsgHdrs {
  const text = blockOf(headers);
  const sealed = encodedHeaders(headers, encodeText(text));
  sealedText.set(sealed, text);
  return sealed;
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
  return encodedHeaders(undefined, encodeText(`${text}\r\n\r\n`));
}
