// Tells a database that cannot be reached from every other database error, so calls can answer UNAVAILABLE.
// It only classifies: it neither retries nor logs, and errors it does not know stay what they are (INTERNAL).
import { MeshError } from '../../mesh/index.ts';

/** Socket errors of a server that is down, restarting or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** SQLSTATE: 08 connection exception, 57P01-03 shutting down or starting up, 53300 too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** What node-postgres says when a socket closes under it or no connection comes in time. */
const CONNECTION_LOST = /Connection terminated|timeout exceeded when trying to connect|connection error|Client was closed|Too many connections/i;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  /** Set by TypeORM's QueryFailedError. */
  driverError?: unknown;
  /** Set by AggregateError, e.g. a connect to every address of localhost refused. */
  errors?: unknown;
}

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as ErrorLike;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  if (typeof e.message === 'string' && CONNECTION_LOST.test(e.message)) return true;
  const nested = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return nested.some((inner) => isDatabaseUnavailable(inner, depth + 1));
}

/** UNAVAILABLE for an unreachable database; anything else is returned as it is. */
export function databaseFault(err: unknown): unknown {
  return isDatabaseUnavailable(err) ? new MeshError('UNAVAILABLE', 'the database is unavailable, try again later', { cause: err }) : err;
}
