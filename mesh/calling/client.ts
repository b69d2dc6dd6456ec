// Calls procedures and publishes events from TypeScript: encodes [args, kwargs], decodes replies and errors.
// Inside a handler it carries the call's deadline, identity and trace headers on (propagation.ts says which).
// Built on the shared caller; the gateways use the caller directly because they forward bytes untouched.
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { createCaller, type Caller, type RequestOptions } from './caller.ts';
import { openStream, type CallStream } from './call-stream.ts';
import { CONTENT_TYPE_HEADER, jsonCodec, msgpackCodec, type Codec } from '../wire/codec.ts';
import { runningCall, type RunningCall } from './context.ts';
import { isKwargs, type Args, type Envelope, type Kwargs } from '../wire/envelope.ts';
import { errorFromBody, MeshError } from '../wire/errors.ts';
import { serviceMethods, servicesByName, type NoServices, type ServiceMap, type ServiceProxies, type ServiceProxy } from './client-proxy.ts';
import { forwardedHeaders, forwardedThrough, headersWith, IDENTITY_HEADER, TRACEPARENT_HEADER, TRACESTATE_HEADER, type Forwarded } from '../wire/propagation.ts';
import { meshNamespace, type Namespace } from '../wire/namespace.ts';
import { sealHeaders } from '../wire/sealed-headers.ts';
import { startHop, tracingOn, type Hop, type HopKind } from '../observability/tracing.ts';
import { SERVICE_ERROR_CODE_HEADER } from '../wire/respond.ts';
import { createCallGuard, type Attempts, type CallGuard, type ResilienceOptions } from '../resilience/guard.ts';
import { registerResilienceMetrics } from '../resilience/metrics.ts';
import type { Registry } from 'prom-client';

export interface CallOptions {
  /** How long to wait; inside a handler, never past the deadline of the request being served. */
  timeoutMs?: number;
  encoding?: 'json' | 'msgpack';
  signal?: AbortSignal;
  /** A JWT sent in the `Mesh-Identity` header: who the service sees calling. */
  token?: string;
}

export interface MeshClient {
  /**
   * Calls `<service>.<method>` and resolves with the reply [args, kwargs]; rejects with a MeshError. Inside a
   * handler the call inherits the request's deadline and forwards its identity and trace headers.
   */
  call(procedure: string, args?: Args, kwargs?: Kwargs, options?: CallOptions): Promise<Envelope>;
  /**
   * Calls a procedure that streams: iterate for its progressive results, await `result` for the final one.
   * Stopping the iteration early cancels the call (the handler's signal aborts), as does `options.signal`.
   */
  stream(procedure: string, args?: Args, kwargs?: Kwargs, options?: CallOptions): CallStream;
  /** Publishes an event [args, kwargs] on a subject, under the client's namespace (inside a handler, with its identity and trace headers). */
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

/** The codec a call asked for. */
function codecOf(options: CallOptions): Codec {
  return options.encoding === 'msgpack' ? msgpackCodec : jsonCodec;
}

/** Outgoing headers by the forwarded headers of the call being served, one set per codec, built once. */
interface HeadersByCodec {
  json?: MsgHdrs | undefined;
  msgpack?: MsgHdrs;
}

class Client implements MeshClient {
  private readonly msgpackHeaders: MsgHdrs;
  private readonly forwarding = new WeakMap<Forwarded, HeadersByCodec>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly caller: Caller,
    private readonly namespace: Namespace,
    protected readonly timeoutMs: number,
  ) {
    const msgpackHeaders = natsHeaders();
    msgpackHeaders.set(CONTENT_TYPE_HEADER, msgpackCodec.contentType);
    this.msgpackHeaders = sealHeaders(msgpackHeaders);
  }

  call(procedure: string, args: Args = [], kwargs: Kwargs = {}, options: CallOptions = {}): Promise<Envelope> {
    return this.request(procedure, codecOf(options), args, kwargs, options);
  }

  stream(procedure: string, args: Args = [], kwargs: Kwargs = {}, options: CallOptions = {}): CallStream {
    const codec = codecOf(options);
    const start = (onProgress: (msg: Msg) => void, signal: AbortSignal) => this.request(procedure, codec, args, kwargs, { ...options, signal }, onProgress);
    return openStream(start, (msg) => decodeReply(msg, codec), options.signal);
  }

  /** One request, decoded: a span of its own inside a traced handler. */
  protected async request(procedure: string, codec: Codec, args: Args, kwargs: Kwargs, options: CallOptions, onProgress?: (msg: Msg) => void, deadline?: number): Promise<Envelope> {
    const running = runningCall();
    const hop = this.nestedHop(running, procedure, 'client');
    try {
      const msg = await this.send(running, hop, procedure, codec, args, kwargs, options, onProgress, deadline);
      const reply = decodeReply(msg, codec);
      hop?.end();
      return reply;
    } catch (err) {
      hop?.end(err instanceof MeshError ? err : undefined);
      throw err;
    }
  }

  /**
   * Sends one request; its reply message, still to be decoded. It ends by `deadline` when given, else inside a
   * handler by the request's deadline (brought forward by timeoutMs when that ends sooner), else after timeoutMs.
   * Inside a handler it also carries the handler's signal, so the call is canceled with the handler's.
   */
  protected send(
    running: RunningCall | undefined,
    hop: Hop | undefined,
    procedure: string,
    codec: Codec,
    args: Args,
    kwargs: Kwargs,
    options: CallOptions,
    onProgress: ((msg: Msg) => void) | undefined,
    deadline: number | undefined,
  ): Promise<Msg> {
    const { timeoutMs } = options;
    const request: RequestOptions = { signal: options.signal ?? running?.signal, onProgress };
    const inherited = running?.deadline;
    if (deadline !== undefined) request.deadline = deadline;
    else if (inherited === undefined) request.timeoutMs = timeoutMs;
    else request.deadline = timeoutMs === undefined ? inherited : Math.min(inherited, Date.now() + timeoutMs);
    if (options.token !== undefined) {
      request.headers = this.headersWithToken(codec, options.token, running?.forwarded, hop);
    } else if (running) {
      const ending = request.deadline ?? Date.now() + (timeoutMs ?? this.timeoutMs);
      request.headers = this.headersFor(codec, running.forwardedTo(this.caller.subjectOf(procedure), ending), hop);
    } else {
      request.headers = this.headersFor(codec, undefined, hop);
    }
    return this.caller.request(procedure, codec.encode([args, kwargs]), request);
  }

  publish(subject: string, args: Args = [], kwargs: Kwargs = {}): void {
    const running = runningCall();
    const hop = this.nestedHop(running, subject, 'producer');
    const natsSubject = this.namespace.subject(subject);
    this.nc.publish(natsSubject, jsonCodec.encode([args, kwargs]), { headers: this.headersFor(jsonCodec, running?.forwardedTo(natsSubject, Infinity), hop) });
    hop?.end();
  }

  /** Inside a traced handler, the span of a call or event it makes: a child of the handler's span. */
  private nestedHop(running: RunningCall | undefined, name: string, kind: HopKind): Hop | undefined {
    if (!running || !tracingOn()) return undefined;
    const { forwarded } = running;
    const traceparent = forwarded?.[TRACEPARENT_HEADER];
    return traceparent === undefined ? undefined : startHop(name, kind, traceparent, forwarded?.[TRACESTATE_HEADER]);
  }

  /** The request headers: the Content-Type for MessagePack, and inside a handler the headers it forwards. */
  private headersFor(codec: Codec, forwarded: Forwarded | undefined, hop: Hop | undefined): MsgHdrs | undefined {
    const msgpack = codec === msgpackCodec;
    if (forwarded && hop) return forwardedHeaders(forwardedThrough(forwarded, hop), msgpack ? { [CONTENT_TYPE_HEADER]: msgpackCodec.contentType } : undefined);
    if (!forwarded || Object.keys(forwarded).length === 0) return msgpack ? this.msgpackHeaders : undefined;
    let byCodec = this.forwarding.get(forwarded);
    if (!byCodec) this.forwarding.set(forwarded, (byCodec = {}));
    if (msgpack) return (byCodec.msgpack ??= forwardedHeaders(forwarded, { [CONTENT_TYPE_HEADER]: msgpackCodec.contentType })!);
    if (!('json' in byCodec)) byCodec.json = forwardedHeaders(forwarded);
    return byCodec.json;
  }

  /** The request headers with the caller's own token as its identity (`mesh call --token`), in place of a forwarded one. */
  private headersWithToken(codec: Codec, token: string, forwarded: Forwarded | undefined, hop: Hop | undefined): MsgHdrs {
    return headersWith(this.headersFor(codec, forwarded, hop), { [IDENTITY_HEADER]: token });
  }

  close(): void {
    this.caller.close();
  }
}

/** A client with hooks or procedure policies: each call goes through its guard (resilience/guard.ts). */
class GuardedClient extends Client {
  constructor(
    nc: NatsConnection,
    caller: Caller,
    namespace: Namespace,
    timeoutMs: number,
    private readonly guard: CallGuard,
  ) {
    super(nc, caller, namespace, timeoutMs);
  }

  override call(procedure: string, args: Args = [], kwargs: Kwargs = {}, options: CallOptions = {}): Promise<Envelope> {
    const guard = this.guard.of(procedure);
    if (!guard) return super.call(procedure, args, kwargs, options);
    const running = runningCall();
    const deadline = Math.min(running?.deadline ?? Infinity, Date.now() + (options.timeoutMs ?? this.timeoutMs));
    const attempts = running && tracingOn() ? this.spannedAttempts : this.attempts;
    return guard.call<CallOptions, Msg | Envelope>(attempts, procedure, args, kwargs, options, deadline, options.signal ?? running?.signal);
  }

  /** Attempts sent here and read in the guard's own frame: a guarded call has no async frame of the client's. */
  private readonly attempts: Attempts<CallOptions, Msg> = {
    send: (procedure, args, kwargs, options, deadline) => this.send(runningCall(), undefined, procedure, codecOf(options), args, kwargs, options, undefined, deadline),
    read: (msg, options) => decodeReply(msg, codecOf(options)),
  };

  /** Attempts made inside a traced handler: each one a span of its own, as request() makes it. */
  private readonly spannedAttempts: Attempts<CallOptions, Envelope> = {
    send: (procedure, args, kwargs, options, deadline) => this.request(procedure, codecOf(options), args, kwargs, options, undefined, deadline),
    read: (reply) => reply,
  };
}

/**
 * A client whose services are also properties: `client.greeting_service.hello('Bob', { last_name: 'Ross' })`, or
 * `client.proxy.greeting_service.hello(...)` for a service named like a client member (call, publish, close, proxy).
 */
export type ProxiedClient<S extends ServiceMap = NoServices> = MeshClient & { readonly proxy: ServiceProxies<S> } & Omit<ServiceProxies<S>, keyof MeshClient | 'proxy'>;

const CLIENT_MEMBERS = new Set(['call', 'publish', 'close', 'proxy', 'then']);

export interface ClientOptions extends ResilienceOptions {
  timeoutMs?: number;
  /** Where the resilience figures of the declared procedures go (`mesh_resilience_*`), e.g. a gateway's /metrics registry. */
  metrics?: Registry;
  /** The namespace (`nats.namespace`) whose procedures it calls and whose events it publishes; none by default. */
  namespace?: string | null;
}

/**
 * A client on a connection the caller owns. Typed with the services it calls:
 * `createClient<{ greeting_service: GreetingService }>(nc)`; untyped, every service and method is reachable.
 */
export function createClient<S extends ServiceMap = NoServices>(nc: NatsConnection, options: ClientOptions = {}): ProxiedClient<S> {
  const { namespace } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  // A declared procedure is known to exist: when nothing answers it, it is UNAVAILABLE (retryable), not UNKNOWN_PROCEDURE.
  const declared = new Set(Object.keys(options.procedures ?? {}).map((procedure) => meshNamespace(namespace).subject(procedure)));
  const declaredProcedure = { heartbeatMs: undefined };
  const known = declared.size > 0 ? (subject: string) => (declared.has(subject) ? declaredProcedure : undefined) : undefined;
  const caller = createCaller(nc, { timeoutMs, namespace, known });
  // Hooks and policies are checked here, so a bad one fails the start; a client that declares none has no guard.
  const guard = createCallGuard('createClient', options, (err) => process.emitWarning(`a call hook's error hook failed: ${String(err)}`));
  if (guard && options.metrics) registerResilienceMetrics(options.metrics, () => guard.figures());
  const client = guard ? new GuardedClient(nc, caller, meshNamespace(namespace), timeoutMs, guard) : new Client(nc, caller, meshNamespace(namespace), timeoutMs);
  const services = servicesByName((procedure, args, kwargs) => client.call(procedure, args, kwargs));
  // The services sit at the end of the client's prototype chain, behind its own members: `client.call` is found
  // before the Proxy is reached, so only a name that is no member of the client goes through its trap.
  const servicesLast = new Proxy(Object.prototype, {
    get(target, property, receiver) {
      if (property === 'proxy') return services;
      if (typeof property !== 'string' || CLIENT_MEMBERS.has(property) || property in target) return Reflect.get(target, property, receiver) as unknown;
      return services[property];
    },
  });
  const members = { ...Object.getOwnPropertyDescriptors(Client.prototype), ...(guard && Object.getOwnPropertyDescriptors(GuardedClient.prototype)) };
  return Object.setPrototypeOf(client, Object.create(servicesLast, members)) as ProxiedClient<S>;
}

/** One service of a client as an object of methods, typed by its class: `serviceProxy<GreetingService>(client, 'greeting_service')`. */
export function serviceProxy<S extends object>(client: MeshClient, service: string): ServiceProxy<S> {
  return serviceMethods((procedure, args, kwargs) => client.call(procedure, args, kwargs), service) as unknown as ServiceProxy<S>;
}
