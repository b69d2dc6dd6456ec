// Progressive results on the wire: a request with `Mesh-Stream: 1` lets its responder send any number of messages
// marked `Mesh-Progress: 1` to the reply subject before the final reply, which ends the stream. Only the markers.
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { CONTENT_TYPE_HEADER, msgpackCodec, type Codec } from './codec.ts';

/** Request header: the caller takes progressive results. Without it a responder sends the final reply only. */
export const STREAM_HEADER = 'Mesh-Stream';
/** Reply header: this message is one progressive result, `[args, kwargs]`; more, and the final reply, follow. */
export const PROGRESS_HEADER = 'Mesh-Progress';

/** Whether a reply is a progressive result rather than the final reply. */
export function isProgress(msg: Msg): boolean {
  return msg.headers?.get(PROGRESS_HEADER) === '1';
}

const progressHeaders = new Map<Codec, MsgHdrs>();

/** The headers of a progressive result in a codec, made once per codec. */
export function progressHeadersFor(codec: Codec): MsgHdrs {
  let headers = progressHeaders.get(codec);
  if (!headers) {
    headers = natsHeaders();
    headers.set(PROGRESS_HEADER, '1');
    if (codec === msgpackCodec) headers.set(CONTENT_TYPE_HEADER, codec.contentType);
    progressHeaders.set(codec, headers);
  }
  return headers;
}
