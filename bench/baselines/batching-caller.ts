// The second HTTP baseline: the lean caller (lean-caller.ts) holding the requests made in one turn of the event
// loop and publishing them together once its I/O callbacks have run, as the mesh's gateways do (`coalesce` in
// mesh/calling/caller.ts). nats.js writes to its socket once per microtask checkpoint; an HTTP server makes each
// request in a callback of its own, so published at once each would be a write of its own. No deadlines either.
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { replyInbox, type LeanRequest } from './lean-caller.ts';

interface Held {
  subject: string;
  data: Uint8Array;
  reply: string;
  headers: MsgHdrs | undefined;
}

export function batchingCaller(nc: NatsConnection): LeanRequest {
  const replyTo = replyInbox(nc);
  let held: Held[] = [];
  const publishHeld = () => {
    const batch = held;
    held = [];
    for (const { subject, data, reply, headers } of batch) nc.publish(subject, data, { reply, headers });
  };
  return (subject, data, headers) =>
    new Promise((resolve) => {
      if (held.push({ subject, data, reply: replyTo(resolve), headers }) === 1) setImmediate(publishHeld);
    });
}
