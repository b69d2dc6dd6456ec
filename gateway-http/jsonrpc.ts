// JSON-RPC 2.0 at POST /jsonrpc: each request object (alone or in a batch) is a call of `service.method`, authorized,
// rate-limited and limited to the registry like POST /<procedure>. It speaks JSON-RPC; the mesh does the work.
import type { Context } from 'koa';
import {
  MeshError,
  decodeReply,
  jsonCodec,
  nameProblem,
  quoteName,
  withErrorId,
  type Caller,
  type Codec,
  type ProcedureRegistry,
  UNKNOWN_PROCEDURE_LABEL,
  type GatewayMetrics,
  type GatewayAuth,
  type Identity,
  type RateLimiter,
} from '../mesh/gateway.ts';
import { addressOf, credentialOf } from './credentials.ts';

export interface JsonRpcOptions {
  caller: Caller;
  registry: ProcedureRegistry;
  maxNameBytes: number;
  timeoutMs: number;
  /** Calls one batch may hold; a longer batch is one Invalid Request. */
  maxBatch: number;
  auth?: GatewayAuth;
  rateLimiter?: RateLimiter;
  /** Counts each call as POST /<procedure> counts its one (procedure and status); undefined when metrics are off. */
  metrics?: GatewayMetrics;
  /** The request body, within the gateway's limits. */
  readBody(ctx: Context): Promise<Buffer>;
  /** Logs and reports an INTERNAL error made here (it has its id); `procedure` is the method as the request names it. */
  crashed?(ctx: Context, procedure: string, identity: Identity | undefined, error: MeshError, cause: unknown, started: number): void;
  /** Logs any other error made here under its id (one info line). */
  refused?(ctx: Context, error: MeshError): void;
}

/** The specification's error codes (JSON-RPC 2.0, section 5.1), and -32000 for any other mesh error. */
export const JSONRPC_ERRORS = {
  PARSE_ERROR: { code: -32700, message: 'Parse error' },
  INVALID_REQUEST: { code: -32600, message: 'Invalid Request' },
  METHOD_NOT_FOUND: { code: -32601, message: 'Method not found' },
  INVALID_PARAMS: { code: -32602, message: 'Invalid params' },
  INTERNAL_ERROR: { code: -32603, message: 'Internal error' },
  SERVER_ERROR: { code: -32000 },
} as const;

type Id = string | number | null;

interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

type Response = { jsonrpc: '2.0'; result: unknown; id: Id } | { jsonrpc: '2.0'; error: RpcError; id: Id };

function failure(error: RpcError, id: Id): Response {
  return { jsonrpc: '2.0', error, id };
}

/** A mesh error as a JSON-RPC error object, the mesh's error body in `data`. */
function rpcErrorOf(err: unknown): RpcError {
  const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
  const data = error.toBody().error;
  if (error.code === 'INVALID_ARGUMENT') return { ...JSONRPC_ERRORS.INVALID_PARAMS, data };
  if (error.code === 'UNKNOWN_PROCEDURE') return { ...JSONRPC_ERRORS.METHOD_NOT_FOUND, data };
  if (error.code === 'INTERNAL') return { ...JSONRPC_ERRORS.INTERNAL_ERROR, data };
  return { code: JSONRPC_ERRORS.SERVER_ERROR.code, message: error.message, data };
}

/** Why a request object is an Invalid Request. */
const NOT_A_REQUEST = 'not a JSON-RPC 2.0 request: it needs "jsonrpc": "2.0", a string "method", "params" as an array or object when given, and a string, number or null "id" when given';

function isId(value: unknown): value is Id {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

interface Call {
  method: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Absent for a notification, which gets no response. */
  id?: Id;
}

/** A request object as a call, or undefined when it is not a valid one. */
function callOf(value: unknown): Call | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const request = value as Record<string, unknown>;
  if (request.jsonrpc !== '2.0' || typeof request.method !== 'string') return undefined;
  const { params } = request;
  let args: unknown[] = [];
  let kwargs: Record<string, unknown> = {};
  if (Array.isArray(params)) args = params;
  else if (typeof params === 'object' && params !== null) kwargs = params as Record<string, unknown>;
  else if (params !== undefined) return undefined;
  if (!('id' in request)) return { method: request.method, args, kwargs };
  if (!isId(request.id)) return undefined;
  return { method: request.method, args, kwargs, id: request.id };
}

/** The result a reply carries: its one value, null for none, else the whole [args, kwargs] as an object. */
function resultOf([args, kwargs]: [unknown[], Record<string, unknown>]): unknown {
  if (Object.keys(kwargs).length > 0) return { args, kwargs };
  if (args.length <= 1) return args[0] ?? null;
  return args;
}

export function createJsonRpc(options: JsonRpcOptions): (ctx: Context) => Promise<void> {
  const { caller, registry, maxNameBytes, timeoutMs, maxBatch, auth, rateLimiter, metrics } = options;
  const limited = rateLimiter?.enabled ? rateLimiter : undefined;

  /** Who calls: anonymous without a credential; a credential that does not verify fails the whole request. */
  async function identify(ctx: Context): Promise<{ identity: Identity; presented: boolean } | undefined> {
    if (!auth) return undefined;
    const presented = credentialOf(ctx);
    if (presented === undefined) return { identity: auth.anonymous, presented: false };
    return { identity: await auth.identify(presented.credential, addressOf(ctx), presented.apiKeyOnly), presented: true };
  }

  async function invoke(ctx: Context, call: Call, caller_: { identity: Identity; presented: boolean } | undefined): Promise<unknown> {
    const { method } = call;
    if (auth && caller_ && !auth.policy.allows(caller_.identity, 'call', method)) {
      throw caller_.presented
        ? new MeshError('PERMISSION_DENIED', `${quoteName(caller_.identity.id)} may not call ${quoteName(method)}`)
        : new MeshError('UNAUTHENTICATED', 'Authorization header missing: send "Authorization: Bearer <token>" or "X-Api-Token: <API key>"');
    }
    if (limited) {
      const refused = await limited.take({ address: addressOf(ctx), identity: caller_?.identity });
      if (refused) throw refused;
    }
    if (!registry.get(method)) {
      const problem = nameProblem(method, maxNameBytes);
      if (problem !== undefined) throw new MeshError('UNKNOWN_PROCEDURE', `${quoteName(method)} is not a procedure name: ${problem}`);
      if (!caller.connected) throw new MeshError('UNAVAILABLE', 'NATS is unreachable');
      if (!(await registry.lookup(method))) throw new MeshError('UNKNOWN_PROCEDURE', `no service answers '${method}'`);
    }
    const forwarder = auth?.forwarder;
    const deadline = Date.now() + timeoutMs;
    const headers = forwarder && caller_ ? forwarder.headers(caller_.identity, caller.subjectOf(method), deadline) : undefined;
    const body = jsonCodec.encode([call.args, call.kwargs]);
    const msg = await caller.request(method, body, { deadline, headers });
    return { result: resultOf(decodeReply(msg)) };
  }

  /** A JSON-RPC error the gateway makes: its mesh error in `data`, with a fresh id, logged under that id. */
  function madeHere(ctx: Context, kind: RpcError, error: MeshError): RpcError {
    withErrorId(error);
    options.refused?.(ctx, error);
    return { ...kind, data: error.toBody().error };
  }

  /** The response to one element of the request, or undefined for a notification. */
  async function answer(ctx: Context, value: unknown, who: Awaited<ReturnType<typeof identify>>): Promise<Response | undefined> {
    const call = callOf(value);
    if (!call) return failure(madeHere(ctx, JSONRPC_ERRORS.INVALID_REQUEST, new MeshError('INVALID_ARGUMENT', NOT_A_REQUEST)), null);
    let outcome: unknown;
    let status = 200;
    const started = performance.now();
    try {
      outcome = await invoke(ctx, call, who);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      status = error.status;
      // An error a service answered keeps the id it was logged under; one made here gets its own.
      if (error.id === undefined) {
        withErrorId(error);
        if (error.code === 'INTERNAL') options.crashed?.(ctx, call.method, who?.identity, error, err, started);
        else options.refused?.(ctx, error);
      }
      outcome = rpcErrorOf(error);
    }
    // The label is the method only when the registry knows it, so client input never becomes a label value.
    metrics?.request(registry.get(call.method) ? call.method : UNKNOWN_PROCEDURE_LABEL, status, (performance.now() - started) / 1000);
    if (call.id === undefined) return undefined;
    if (typeof outcome === 'object' && outcome !== null && 'result' in outcome) return { jsonrpc: '2.0', result: outcome.result, id: call.id };
    return failure(outcome as RpcError, call.id);
  }

  function send(ctx: Context, codec: Codec, response: unknown) {
    if (response === undefined) {
      ctx.status = 204;
      return;
    }
    ctx.status = 200;
    ctx.type = codec.contentType;
    ctx.body = Buffer.from(codec.encode(response));
  }

  return async (ctx) => {
    const codec = (ctx.state as { codec?: Codec }).codec ?? jsonCodec;
    const bytes = await options.readBody(ctx);
    let request: unknown;
    try {
      request = codec.decode(bytes);
    } catch {
      request = undefined;
    }
    if (request === undefined) {
      const unreadable = new MeshError('INVALID_ARGUMENT', `the body is not ${codec === jsonCodec ? 'JSON' : 'MessagePack'}`);
      return send(ctx, codec, failure(madeHere(ctx, JSONRPC_ERRORS.PARSE_ERROR, unreadable), null));
    }
    const who = await identify(ctx);
    if (!Array.isArray(request)) return send(ctx, codec, await answer(ctx, request, who));
    if (request.length === 0) {
      return send(ctx, codec, failure(madeHere(ctx, JSONRPC_ERRORS.INVALID_REQUEST, new MeshError('INVALID_ARGUMENT', 'a batch holds at least one call')), null));
    }
    if (request.length > maxBatch) {
      const tooLong = new MeshError('INVALID_ARGUMENT', `a batch holds at most ${maxBatch} calls, got ${request.length}`);
      return send(ctx, codec, failure(madeHere(ctx, JSONRPC_ERRORS.INVALID_REQUEST, tooLong), null));
    }
    const responses = (await Promise.all(request.map((item) => answer(ctx, item, who)))).filter((r) => r !== undefined);
    send(ctx, codec, responses.length > 0 ? responses : undefined);
  };
}
