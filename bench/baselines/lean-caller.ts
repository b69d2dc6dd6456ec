// The floor the mesh's caller is measured against: the lean request mux described in the benchmarks
// issue, written plainly. One wildcard inbox subscription, a map of pending callbacks, no deadlines.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';

export type LeanRequest = (subject: string, data: Uint8Array, headers?: MsgHdrs) => Promise<Msg>;

/** The inbox's subscription: `replyTo(resolve)` makes a request's reply subject, whose one reply goes to `resolve`. */
export function replyInbox(nc: NatsConnection): (resolve: (msg: Msg) => void) => string {
  const inbox = createInbox();
  const pending = new Map<string, (msg: Msg) => void>();
  let next = 0;
  nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg) => {
      const id = msg.subject.slice(inbox.length + 1);
      const resolve = pending.get(id);
      if (resolve) {
        pending.delete(id);
        resolve(msg);
      }
    },
  });
  return (resolve) => {
    const id = (next++).toString(36);
    pending.set(id, resolve);
    return `${inbox}.${id}`;
  };
}

/** Publishes each request at once, as people write it. */
export function leanCaller(nc: NatsConnection): LeanRequest {
  const replyTo = replyInbox(nc);
  return (subject, data, headers) => new Promise((resolve) => nc.publish(subject, data, { reply: replyTo(resolve), headers }));
}
