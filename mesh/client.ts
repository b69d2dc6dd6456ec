// Calls procedures and publishes events from TypeScript: encodes [args, kwargs], decodes replies and errors.
// Built on the shared caller; the gateways use the caller directly because they forward bytes untouched.
import { headers as natsHeaders, type Msg, type NatsConnection } from 'nats';
import { IDENTITY_HEADER } from './auth/mesh-identity.ts';
import { createCaller, type Caller } from './caller.ts';
import { CONTENT_TYPE_HEADER, jsonCodec, msgpackCodec, type Codec } from './codec.ts';
import { isKwargs, type Args, type Envelope, type Kwargs } from './envelope.ts';
import { errorFromBody, MeshError } from './errors.ts';
import { SERVICE_ERROR_CODE_HEADER } from './respond.ts';

export interface CallOptions {
  timeoutMs?: number;
  encoding?: 'json' | 'msgpack';
  signal?: AbortSignal;
  /** A JWT sent in the `Mesh-Identity` header: who the service sees calling. */
  token?: string;
}

export interface MeshClient {
  /** Calls `<service>.<method>` and resolves with the reply [args, kwargs]; rejects with a MeshError. */
  call(procedure: string, args?: Args, kwargs?: Kwargs, options?: CallOptions): Promise<Envelope>;
  /** Publishes an event [args, kwargs] on a subject. */
  publish(subject: string, args?: Args, kwargs?: Kwargs): void;
  close(): void;
}

/** True when a reply message is an error reply (it carries the micro protocol's error code header). */
export function isErrorReply(msg: Msg): boolean {
  return msg.headers?.has(SERVICE_ERROR_CODE_HEADER) === true;
}

/** The HTTP-like status a reply stands for: 200, or the error reply's code (500 when it is not a status). */
export function replyStatus(msg: Msg): number {
  if (!isErrorReply(msg)) return 200;
  const code = Number(msg.headers!.get(SERVICE_ERROR_CODE_HEADER));
  return code >= 400 && code <= 599 ? code : 500;
}

/**
 * Decodes a reply message into [args, kwargs], throwing the MeshError an error reply carries. A success body is
 * always an array and an error body always an object, so a caller that knows the codec it asked for (and so the
 * one the reply uses) needs no header to tell them apart.
 */
export function decodeReply(msg: Msg, codec?: Codec): Envelope {
  const replyCodec = codec ?? (msg.headers?.get(CONTENT_TYPE_HEADER) === msgpackCodec.contentType ? msgpackCodec : jsonCodec);
  let body: unknown;
  try {
    body = replyCodec.decode(msg.data);
  } catch {
    throw new MeshError('INTERNAL', 'reply is not decodable');
  }
  if (body === undefined && !isErrorReply(msg)) return [[], {}];
  if (!Array.isArray(body)) throw errorFromBody(body);
  const [args = [], kwargs = {}] = body as [unknown?, unknown?];
  if (!Array.isArray(args) || !isKwargs(kwargs)) throw new MeshError('INTERNAL', 'reply is not [args, kwargs]');
  return [args, kwargs];
}

class Client implements MeshClient {
  private readonly msgpackHeaders = natsHeaders();

  constructor(private readonly nc: NatsConnection, private readonly caller: Caller) {
    this.msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
  }

  async call(procedure: string, args: Args = [], kwargs: Kwargs = {}, options: CallOptions = {}): Promise<Envelope> {
    const codec: Codec = options.encoding === 'msgpack' ? msgpackCodec : jsonCodec;
    let headers = codec === msgpackCodec ? this.msgpackHeaders : undefined;
    if (options.token !== undefined) {
      headers = natsHeaders();
      headers.set(IDENTITY_HEADER, options.token);
      if (codec === msgpackCodec) headers.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
    }
    const msg = await this.caller.request(procedure, codec.encode([args, kwargs]), { timeoutMs: options.timeoutMs, signal: options.signal, headers });
    return decodeReply(msg, codec);
  }

  publish(subject: string, args: Args = [], kwargs: Kwargs = {}): void {
    this.nc.publish(subject, jsonCodec.encode([args, kwargs]));
  }

  close(): void {
    this.caller.close();
  }
}

export function createClient(nc: NatsConnection, options: { timeoutMs?: number } = {}): MeshClient {
  return new Client(nc, createCaller(nc, { timeoutMs: options.timeoutMs ?? 60_000 }));
}
