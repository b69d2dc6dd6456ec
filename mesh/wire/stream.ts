// Progressive results on the wire: a request with `Mesh-Stream: 1` lets its responder send any number of messages
// marked `Mesh-Progress: 1` to the reply subject before the final reply, which ends the stream. Only the markers.
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { CONTENT_TYPE_HEADER, msgpackCodec, type Codec } from './codec.ts';
import { headerBlock } from './nats-internals.ts';
import { sealHeaders } from './sealed-headers.ts';

/** Request header: the caller takes progressive results. Without it a responder sends the final reply only. */
export const STREAM_HEADER = 'Mesh-Stream';
/** Reply header: this message is one progressive result, `[args, kwargs]`; more, and the final reply, follow. */
export const PROGRESS_HEADER = 'Mesh-Progress';

const PROGRESS_LINE = `\r\n${PROGRESS_HEADER}: 1\r\n`;

/** Whether a reply is a progressive result rather than the final reply; its header block is read undecoded when it can be. */
export function isProgress(msg: Msg): boolean {
  const block = headerBlock(msg);
  return block === undefined ? msg.headers?.get(PROGRESS_HEADER) === '1' : block.includes(PROGRESS_LINE);
}

const progressHeaders = new Map<Codec, MsgHdrs>();

/** The headers of a progressive result in a codec, made and encoded once per codec. */
export function progressHeadersFor(codec: Codec): MsgHdrs {
  let headers = progressHeaders.get(codec);
  if (!headers) {
    const plain = natsHeaders();
    plain.set(PROGRESS_HEADER, '1');
    if (codec === msgpackCodec) plain.set(CONTENT_TYPE_HEADER, codec.contentType);
    headers = sealHeaders(plain);
    progressHeaders.set(codec, headers);
  }
  return headers;
}
