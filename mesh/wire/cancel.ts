// Cancellation on the wire: a caller that gives up publishes the request's reply subject to
// `mesh.cancel.<service>.<method>` (under the namespace); every instance of the service hears it, and the one serving
// that request aborts its handler. Only the subject and the message; what aborting means is the responder's.
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** Prefix of cancel subjects: `mesh.cancel.<procedure>`, never a procedure subject itself (a service's first token is its name). */
export const CANCEL_PREFIX = 'mesh.cancel';

/**
 * How the callee should stop, WAMP's modes: `kill` (the default) aborts the handler and its answer still goes to the
 * caller, `killnowait` aborts it and the caller does not wait for an answer.
 */
export type CancelMode = 'kill' | 'killnowait';
export const CANCEL_MODE_HEADER = 'Mesh-Cancel-Mode';

/** The subject that cancels requests to a procedure (before the namespace is applied). */
export function cancelSubject(procedure: string): string {
  return `${CANCEL_PREFIX}.${procedure}`;
}

const modeHeaders: Record<CancelMode, MsgHdrs | undefined> = { kill: undefined, killnowait: natsHeaders() };
modeHeaders.killnowait!.set(CANCEL_MODE_HEADER, 'killnowait');

/** The headers of a cancel message in a mode: none for `kill`. */
export function cancelHeaders(mode: CancelMode): MsgHdrs | undefined {
  return modeHeaders[mode];
}

/** The mode a cancel message asks for; anything but `killnowait` is `kill`. */
export function cancelModeOf(headers: MsgHdrs | undefined): CancelMode {
  return headers?.get(CANCEL_MODE_HEADER) === 'killnowait' ? 'killnowait' : 'kill';
}
