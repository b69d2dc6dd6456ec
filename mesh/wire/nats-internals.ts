// The one place that relies on how nats.js 3 works inside, for two measured fast paths: reading a received
// message's header block undecoded, and publishing headers whose encoding was made once. Nothing else may.
// test/mesh/nats-internals.test.ts fails when an upgrade changes what these rely on.
//
// What they save (bench/header-cost.ts, µs of CPU per request, 2-core machine, three runs): a host reading a request's
// headers from the undecoded block 0.2-0.3 against 1.0-1.1 through msg.headers (0.6-0.9 against 1.2-1.6 with a
// traceparent of its own); a caller publishing sealed headers 1.2-1.4 against 2.0-2.2; with a traceparent added per
// request the runs disagree (2.2-2.6 against 2.4-2.5). A caller or a responder spends 5-8 µs per request in all.
import { MsgHdrsImpl, type Msg, type MsgHdrs } from '@nats-io/transport-node';

/**
 * The fields of nats.js's MsgImpl that hold a message's bytes: `_rdata` starts with the header block, `_msg.hdr`
 * is its length (0 without headers), and `_headers` is set once `msg.headers` has been decoded.
 */
interface MsgImplFields {
  _msg?: { hdr?: unknown };
  _rdata?: unknown;
  _headers?: unknown;
}

const decoder = new TextDecoder();

/**
 * A message's header block as text (`NATS/1.0\r\n<name>: <value>\r\n…\r\n\r\n`), '' when it has none; undefined
 * when this message is not laid out as expected (or was decoded already): then read `msg.headers`.
 */
export function headerBlock(msg: Msg): string | undefined {
  const raw = msg as unknown as MsgImplFields;
  const length = raw._msg?.hdr;
  if (typeof length !== 'number' || raw._headers !== undefined || !(raw._rdata instanceof Uint8Array)) return undefined;
  return length > 0 ? decoder.decode(raw._rdata.subarray(0, length)) : '';
}

/**
 * Headers that publish as the given bytes: nats.js's publish sends what a MsgHdrs's `encode()` returns. They read
 * as the entries of `readable` (or none); what is set on them later is not sent.
 */
class EncodedHeaders extends MsgHdrsImpl {
  constructor(
    readable: MsgHdrs | undefined,
    private readonly bytes: Uint8Array,
  ) {
    super(readable?.code ?? 0, readable?.description ?? '');
    for (const [name, values] of readable ?? []) for (const value of values) this.append(name, value);
  }

  override encode(): Uint8Array {
    return this.bytes;
  }
}

export function encodedHeaders(readable: MsgHdrs | undefined, bytes: Uint8Array): MsgHdrs {
  return new EncodedHeaders(readable, bytes);
}
