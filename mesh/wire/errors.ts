// Errors as values: every failure the mesh reports has a stable code, a human message and an HTTP-like status.
// The wire form is the error body {"error": {code, message, status, id}}; this module does not know about transports.
import { randomBytes } from 'node:crypto';

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
  /** A caller's circuit breaker for the procedure is open: the call was not sent (resilience/breaker.ts). */
  CIRCUIT_OPEN: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One field that failed its check: `field` is the argument's name, with a dotted path into it when nested. */
export interface ErrorDetail {
  field: string;
  message: string;
}

export interface ErrorObject {
  code: ErrorCode;
  message: string;
  status: number;
  /** Field-level reasons, when a declared schema refused the arguments. */
  details?: ErrorDetail[];
  /** The error's id: the process that made the error logged it under this id, with the full cause. */
  id?: string;
}

export interface ErrorBody {
  error: ErrorObject;
}

/** A registered symbol marks every MeshError, so two copies of this module (ESM and CommonJS, or two installs) agree. */
const MESH_ERROR = Symbol.for('nats-mesh.error');

export class MeshError extends Error {
  /** `instanceof MeshError` by the mark; a subclass (`instanceof WampError`) keeps the ordinary prototype check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== MeshError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && MESH_ERROR in value;
  }

  override readonly name = 'MeshError';
  readonly [MESH_ERROR] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  /** Given where the error is replied (withErrorId) and kept when it crosses a hop (errorFromBody). */
  id: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: ErrorDetail[]; id?: string }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options?.details;
    this.id = options?.id;
  }

  toBody(): ErrorBody {
    const error: ErrorObject = { code: this.code, message: this.message, status: this.status };
    if (this.details) error.details = this.details;
    if (this.id !== undefined) error.id = this.id;
    return { error };
  }
}

/** A request refused for now (RESOURCE_EXHAUSTED, 429), and in how many seconds the caller may try again (`Retry-After`). */
export class RateLimitedError extends MeshError {
  constructor(
    readonly retryAfterS: number,
    message: string,
  ) {
    super('RESOURCE_EXHAUSTED', message);
  }
}

/** A new error id: 16 hex digits, e.g. "9f2c4e1a7b3d5c60". */
export function newErrorId(): string {
  return randomBytes(8).toString('hex');
}

/** Gives the error an id unless it already carries one (from the hop that made it); returns that id. */
export function withErrorId(error: MeshError): string {
  return (error.id ??= newErrorId());
}

/** The shape of an id received from another hop: short printable text, so it can go into a log line or header. */
const ERROR_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

function isErrorDetail(value: unknown): value is ErrorDetail {
  const detail = value as Partial<ErrorDetail> | null;
  return typeof detail?.field === 'string' && typeof detail.message === 'string';
}

/** The details of a received error body, kept only when every entry has a string field and message. */
function detailsFrom(value: unknown): ErrorDetail[] | undefined {
  if (!Array.isArray(value) || !value.every(isErrorDetail)) return undefined;
  return value.map(({ field, message }) => ({ field, message }));
}

/** Reads an error body that came over the wire; anything unrecognised becomes INTERNAL. */
export function errorFromBody(body: unknown): MeshError {
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (error && isErrorCode(error.code) && typeof error.message === 'string') {
    const id = typeof error.id === 'string' && ERROR_ID.test(error.id) ? error.id : undefined;
    return new MeshError(error.code, error.message, { details: detailsFrom(error.details), id });
  }
  return new MeshError('INTERNAL', 'malformed error reply');
}
