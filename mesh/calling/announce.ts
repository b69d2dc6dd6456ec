// The announcement a service instance publishes once its endpoints answer: its `$SRV.INFO` reply, sent unasked on
// `$SRV.STARTED`, so that registries learn of it at once instead of asking the whole mesh. It is not a heartbeat.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../process/logger.ts';

/** Where instances announce that they started (and a WAMP gateway, a new registration): not part of the micro protocol. */
export const SERVICE_STARTED_SUBJECT = '$SRV.STARTED';

const encoder = new TextEncoder();

/**
 * Publishes `info` (an `io.nats.micro.v1.info_response`, listing the endpoints that now answer) on
 * SERVICE_STARTED_SUBJECT. Best effort: one that cannot be sent (over max_payload, the connection closing) is a
 * debug line, and registries find the instance on their next refresh.
 */
export function announceStarted(nc: NatsConnection, info: object | Uint8Array, logger: Logger): void {
  try {
    nc.publish(SERVICE_STARTED_SUBJECT, info instanceof Uint8Array ? info : encoder.encode(JSON.stringify(info)));
  } catch (err) {
    logger.debug({ err: (err as Error).message }, `cannot announce on ${SERVICE_STARTED_SUBJECT}`);
  }
}
