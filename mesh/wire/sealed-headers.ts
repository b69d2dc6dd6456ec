// Headers that many messages share (a codec's Content-Type, a caller's deadline for one tick, heartbeats), encoded
// once: nats.js encodes a message's headers again at every publish otherwise.
import type { MsgHdrs, MsgHdrsImpl } from 'nats';

/** Seals headers that will not change again: their encoding is made now and reused; anything set later is not sent. */
export function sealHeaders(headers: MsgHdrs): MsgHdrs {
  const bytes = (headers as MsgHdrsImpl).encode();
  (headers as MsgHdrsImpl).encode = () => bytes;
  return headers;
}
