// The greeting work every baseline does, so baselines and the mesh do the same job per request: decode [args, kwargs],
// build "Hello, first last", encode [[greeting], {}]; and the floor responder's whole answer, shared by the bench's tools.
import type { Msg } from '@nats-io/transport-node';
import { floorMsgpack, MSGPACK_HEADERS, MSGPACK_TYPE } from './msgpack.ts';

export function greet(payload: unknown): [[string], Record<string, never>] {
  const [args = [], kwargs = {}] = (payload ?? []) as [unknown[]?, Record<string, unknown>?];
  const first = String(args[0] ?? kwargs.first_name ?? '');
  const last = String(args[1] ?? kwargs.last_name ?? '');
  return [[`Hello, ${first} ${last}`.trim()], {}];
}

export const REQUEST: [string[], Record<string, string>] = [['Bob'], { last_name: 'Ross' }];
export const REQUEST_JSON = JSON.stringify(REQUEST);

const textDecoder = new TextDecoder();

/**
 * The floor responder's answer, as the mesh encodes: MessagePack when the request's Content-Type says so, else JSON
 * written with Buffer.from (no ArrayBuffer per call).
 */
export function answerGreeting(msg: Msg): void {
  if (msg.headers?.get('Content-Type') === MSGPACK_TYPE) {
    msg.respond(floorMsgpack.encoder.encode(greet(floorMsgpack.decoder.decode(msg.data))), { headers: MSGPACK_HEADERS });
  } else {
    msg.respond(Buffer.from(JSON.stringify(greet(JSON.parse(textDecoder.decode(msg.data))))));
  }
}
