// Errors as values: every failure the mesh reports has a stable code, a human message and an HTTP-like status.
// The wire form is the error body {"error": {code, message, status}}; this module does not know about transports.

export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  UNKNOWN_PROCEDURE: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RESOURCE_EXHAUSTED: 429,
  HEADERS_TOO_LARGE: 431,
  CANCELED: 499,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorObject {
  code: ErrorCode;
  message: string;
  status: number;
}

export interface ErrorBody {
  error: ErrorObject;
}

export class MeshError extends Error {
  override readonly name = 'MeshError';
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, status: this.status } };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Reads an error body that came over the wire; anything unrecognised becomes INTERNAL. */
export function errorFromBody(body: unknown): MeshError {
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (error && isErrorCode(error.code) && typeof error.message === 'string') {
    return new MeshError(error.code, error.message);
  }
  return new MeshError('INTERNAL', 'malformed error reply');
}
