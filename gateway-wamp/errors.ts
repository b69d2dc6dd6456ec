// Mesh errors as WAMP error URIs and back: a caller sees `wamp.error.*` for what WAMP names, `mesh.error.<code>`
// for the rest; a WAMP callee's ERROR becomes an error reply that keeps its URI, args and kwargs. No transport here.
import { isErrorCode, isKwargs, MeshError, type Args, type ErrorBody, type ErrorCode, type Kwargs, nameProblem } from '../mesh/gateway.ts';
import { MESH_ERROR_PREFIX, WampUri } from './protocol.ts';

/** Mesh codes that WAMP has its own URI for. */
const WAMP_URI_OF: Partial<Record<ErrorCode, string>> = {
  UNKNOWN_PROCEDURE: WampUri.NO_SUCH_PROCEDURE,
  INVALID_ARGUMENT: WampUri.INVALID_ARGUMENT,
  CANCELED: WampUri.CANCELED,
};

/**
 * The mesh code of a callee's ERROR URI. `wamp.error.timeout` is only read this way: the router itself sends it
 * for the caller's own deadline, never for a DEADLINE_EXCEEDED a service answers (that stays mesh.error.deadline_exceeded).
 */
const CODE_OF_WAMP_URI = new Map<string, ErrorCode>([...Object.entries(WAMP_URI_OF).map(([code, uri]) => [uri, code as ErrorCode] as const), [WampUri.TIMEOUT, 'DEADLINE_EXCEEDED']]);

/** The WAMP error URI for a mesh error: `wamp.error.no_such_procedure`, ..., or `mesh.error.<code>`. */
export function errorUri(error: MeshError): string {
  if (error instanceof WampError) return error.wamp.uri;
  return WAMP_URI_OF[error.code] ?? `${MESH_ERROR_PREFIX}${error.code.toLowerCase()}`;
}

/** The payload of an ERROR message for a mesh error: [message] and the error object {code, message, status}. */
export function errorPayload(error: MeshError): [Args, Kwargs] {
  if (error instanceof WampError) return [error.wamp.args, error.wamp.kwargs];
  return [[error.message], { ...error.toBody().error }];
}

/** An ERROR as a WAMP callee (or the router) said it: URI, args and kwargs. */
export interface WampErrorDetail {
  uri: string;
  args: Args;
  kwargs: Kwargs;
}

/**
 * A mesh error that also carries WAMP's own URI, args and kwargs. Its body is the mesh error body with one more
 * field, `error.wamp: {uri, args, kwargs}`: HTTP callers read code, message and status as from any service,
 * a WAMP caller on any gateway gets the ERROR exactly as the callee sent it.
 */
export class WampError extends MeshError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly wamp: WampErrorDetail,
  ) {
    super(code, message);
  }

  override toBody(): ErrorBody {
    // Built apart so the extra field is allowed: an ErrorBody with more in it is still an ErrorBody.
    const body = { error: { ...super.toBody().error, wamp: this.wamp } };
    return body;
  }

  /** The same error without the WAMP detail, for a reply the detail would make too large. */
  plain(): MeshError {
    return new MeshError(this.code, this.message);
  }
}

/** The mesh error a WAMP callee means with an ERROR message; a URI the mesh does not know becomes INTERNAL. */
export function errorFromWamp(uri: string, args: Args, kwargs: Kwargs, maxNameBytes: number): MeshError {
  const problem = nameProblem(uri, maxNameBytes);
  if (problem) return new MeshError('INTERNAL', `the WAMP callee answered with an error URI that is not valid: ${problem}`);
  const stated = typeof kwargs.message === 'string' ? kwargs.message : typeof args[0] === 'string' ? args[0] : undefined;
  const suffix = uri.startsWith(MESH_ERROR_PREFIX) ? uri.slice(MESH_ERROR_PREFIX.length).toUpperCase() : undefined;
  const code = CODE_OF_WAMP_URI.get(uri) ?? (isErrorCode(suffix) ? suffix : undefined);
  const message = code ? (stated ?? uri) : stated ? `${uri}: ${stated}` : uri;
  return new WampError(code ?? 'INTERNAL', message, { uri, args, kwargs });
}

/**
 * The WAMP detail of an error reply's decoded body, when it has a well-formed one: a URI that passes the name
 * check, a list and a dict. Anything else (a service's plain error, a forged or broken detail) gives undefined.
 */
export function wampDetailOf(body: unknown, maxNameBytes: number): WampErrorDetail | undefined {
  const error = isKwargs(body) ? body.error : undefined;
  const wamp = isKwargs(error) ? error.wamp : undefined;
  if (!isKwargs(wamp)) return undefined;
  const { uri, args, kwargs } = wamp;
  if (typeof uri !== 'string' || nameProblem(uri, maxNameBytes) || !Array.isArray(args) || !isKwargs(kwargs)) return undefined;
  return { uri, args, kwargs };
}
