// The floor the mesh's caller is measured against: the lean request mux described in the benchmarks
// issue, written plainly. One wildcard inbox subscription, a map of pending callbacks, no deadlines.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';

export type LeanRequest = (subject: string, data: Uint8Array, headers?: MsgHdrs) => Promise<Msg>;

export function leanCaller(nc: NatsConnection): LeanRequest {
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
  return (subject, data, headers) =>
    new Promise((resolve) => {
      const id = (next++).toString(36);
      pending.set(id, resolve);
      nc.publish(subject, data, { reply: `${inbox}.${id}`, headers });
    });
}
