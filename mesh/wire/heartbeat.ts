// Heartbeats of a request in progress: how a caller asks for them, what one looks like on the wire, and how
// long a caller waits in silence before it takes the instance that has its request for gone.
import { headers as natsHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { sealHeaders } from './sealed-headers.ts';

/** A request header asking the responder for heartbeats while it works; a reply header giving their interval. */
export const HEARTBEAT_HEADER = 'Mesh-Heartbeat';

/** The status a heartbeat carries in its (body-less) message, like JetStream's idle heartbeats. */
const HEARTBEAT_STATUS = 100;

/** How often a service host sends heartbeats for a request still in progress. */
export const DEFAULT_HEARTBEAT_MS = 1_000;

/** Silence for this long (about three heartbeats) means the instance is gone: well under 5 s at the default. */
export function silenceLimitMs(heartbeatMs: number): number {
  return 3 * heartbeatMs + 500;
}

/** The headers of a heartbeat message: status 100 and the interval the caller may expect the next one in. */
export function heartbeatHeaders(heartbeatMs: number): MsgHdrs {
  const headers = natsHeaders(HEARTBEAT_STATUS, 'Heartbeat');
  headers.set(HEARTBEAT_HEADER, String(heartbeatMs));
  return sealHeaders(headers);
}

export function isHeartbeat(msg: Msg): boolean {
  return msg.headers?.code === HEARTBEAT_STATUS;
}
