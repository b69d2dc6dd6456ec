// The errors the router makes itself, for a WAMP ERROR or a NATS error reply: each carries an id and is logged once
// under it. Errors a service or a WAMP callee answered pass on with their own id and are not logged again here.
import { MeshError, newErrorId, reportGatewayCrash, withErrorId, type ErrorCode, type Logger, type Reports, type RefusalLog } from '../mesh/gateway.ts';
import { WampError } from './errors.ts';

/** The router's name as the `service` of its crash reports. */
export const GATEWAY_NAME = 'gateway-wamp';

/** An error the router sends with a WAMP URI of its choice: args [message], kwargs its error body with a fresh id. */
export function routerError(code: ErrorCode, uri: string, message: string): WampError {
  const body = new MeshError(code, message, { id: newErrorId() }).toBody().error;
  const error = new WampError(code, message, { uri, args: [message], kwargs: { ...body } });
  error.id = body.id;
  return error;
}

/** Where an error was made: the procedure or topic the message named, the session, and who it is. */
export interface ErrorOrigin {
  name: string;
  session: number;
  caller: string | undefined;
}

/** What an INTERNAL error's crash report needs: when the request began, its span, and what was thrown. */
export interface CrashDetail {
  started: number;
  hop: { readonly traceId: string; readonly spanId: string };
  cause: unknown;
}

/** Where the router's errors go: the log, crash reports (undefined: only logged), and the refusal lines' budget. */
export interface ErrorSinks {
  logger: Logger;
  reports?: Reports;
  refusals: RefusalLog;
}

/**
 * Gives an error the router made its id (unless it has one) and logs it once under it: for an INTERNAL one (which
 * comes with its `crash` detail) the cause with its stack and a crash report, always; else one info line, unless its
 * code used its lines this second (it is counted either way).
 */
export function recordRouterError({ logger, reports, refusals }: ErrorSinks, error: MeshError, origin: ErrorOrigin, crash?: CrashDetail): void {
  withErrorId(error);
  if (error.code === 'INTERNAL' && crash) {
    const { started, hop, cause } = crash;
    return reportGatewayCrash(reports, logger, { gateway: GATEWAY_NAME, procedure: origin.name, caller: origin.caller, durationMs: performance.now() - started, hop, error, cause });
  }
  refusals.log(error.code, () => {
    logger.info({ session: origin.session, procedure: origin.name, error_id: error.id, code: error.code, reason: error.message }, 'WAMP request refused');
  });
}
