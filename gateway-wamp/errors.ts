// Mesh errors as WAMP error URIs and back: a caller sees `wamp.error.*` for what WAMP names, `mesh.error.<code>`
// for the rest; a WAMP callee's ERROR becomes the MeshError its NATS caller gets. No transport here.
import { isErrorCode, MeshError, type Args, type ErrorCode, type Kwargs } from '../mesh/index.ts';
import { MESH_ERROR_PREFIX, WampUri } from './protocol.ts';

/** Mesh codes that WAMP has its own URI for. */
const WAMP_URI_OF: Partial<Record<ErrorCode, string>> = {
  UNKNOWN_PROCEDURE: WampUri.NO_SUCH_PROCEDURE,
  INVALID_ARGUMENT: WampUri.INVALID_ARGUMENT,
  CANCELED: WampUri.CANCELED,
};

const CODE_OF_WAMP_URI = new Map<string, ErrorCode>(
  Object.entries(WAMP_URI_OF).map(([code, uri]) => [uri, code as ErrorCode]),
);

/** The WAMP error URI for a mesh error: `wamp.error.no_such_procedure`, ..., or `mesh.error.<code>`. */
export function errorUri(error: MeshError): string {
  return WAMP_URI_OF[error.code] ?? `${MESH_ERROR_PREFIX}${error.code.toLowerCase()}`;
}

/** The payload of an ERROR message for a mesh error: [message] and the error object {code, message, status}. */
export function errorPayload(error: MeshError): [Args, Kwargs] {
  return [[error.message], { ...error.toBody().error }];
}

/** The mesh error a WAMP callee means with an ERROR message; a URI the mesh does not know becomes INTERNAL. */
export function errorFromWamp(uri: string, args: Args, kwargs: Kwargs): MeshError {
  const stated = typeof kwargs.message === 'string' ? kwargs.message : typeof args[0] === 'string' ? args[0] : undefined;
  const suffix = uri.startsWith(MESH_ERROR_PREFIX) ? uri.slice(MESH_ERROR_PREFIX.length).toUpperCase() : undefined;
  const code = CODE_OF_WAMP_URI.get(uri) ?? (isErrorCode(suffix) ? suffix : undefined);
  if (code) return new MeshError(code, stated ?? uri);
  return new MeshError('INTERNAL', stated ? `${uri}: ${stated}` : uri);
}
