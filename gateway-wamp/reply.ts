// Answers a NATS request on behalf of a WAMP callee, in the mesh wire format: a reply [args, kwargs], or an
// error reply with the micro protocol's headers and the body {"error": {...}}. Encoded with the request's codec.
import { headers as natsHeaders, type Msg } from 'nats';
import { CONTENT_TYPE_HEADER, jsonCodec, MeshError, type Args, type Codec, type Kwargs } from '../mesh/index.ts';

const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';

export function replyResult(msg: Msg, codec: Codec, args: Args, kwargs: Kwargs): void {
  let body: Uint8Array;
  try {
    body = codec.encode([args, kwargs]);
  } catch {
    replyError(msg, codec, new MeshError('INTERNAL', 'the WAMP callee yielded a value that cannot be encoded'));
    return;
  }
  const headers = codec === jsonCodec ? undefined : natsHeaders();
  headers?.set(CONTENT_TYPE_HEADER, codec.contentType);
  msg.respond(body, { headers });
}

export function replyError(msg: Msg, codec: Codec, error: MeshError): void {
  const headers = natsHeaders();
  headers.set(SERVICE_ERROR_HEADER, error.message);
  headers.set(SERVICE_ERROR_CODE_HEADER, String(error.status));
  if (codec !== jsonCodec) headers.set(CONTENT_TYPE_HEADER, codec.contentType);
  msg.respond(codec.encode(error.toBody()), { headers });
}
