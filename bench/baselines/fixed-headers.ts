// Headers a baseline sends unchanged on every message, encoded once, as the mesh encodes its own shared headers
// (mesh/wire/sealed-headers.ts): otherwise nats.js encodes a MsgHdrs again at every publish. Not for headers that change.
import { MsgHdrsImpl, type MsgHdrs } from '@nats-io/transport-node';

/** nats.js publishes what a MsgHdrs's `encode()` returns: here, the bytes made when the headers were built. */
class FixedHeaders extends MsgHdrsImpl {
  private readonly bytes: Uint8Array;

  constructor(entries: Readonly<Record<string, string>>) {
    super();
    for (const [name, value] of Object.entries(entries)) this.set(name, value);
    this.bytes = super.encode();
  }

  override encode(): Uint8Array {
    return this.bytes;
  }
}

/** Headers with these entries, encoded now; anything set on them later is not sent. */
export function fixedHeaders(entries: Readonly<Record<string, string>>): MsgHdrs {
  return new FixedHeaders(entries);
}
