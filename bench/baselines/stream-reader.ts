// The floor of the streaming benchmark's caller: a stream read with a bare nats.js subscription. One wildcard inbox
// for every stream, as the lean caller has; messages marked Mesh-Progress go to the stream's listener, the first
// unmarked one is its final reply. No deadlines, no cancellation, no bound on what waits.
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';

interface Open {
  onProgress(msg: Msg): void;
  resolve(msg: Msg): void;
}

/** Sends `data` to `subject` and calls `onProgress` with each progressive result; resolves with the final reply. */
export type StreamRequest = (subject: string, data: Uint8Array, onProgress: (msg: Msg) => void) => Promise<Msg>;

export function streamReader(nc: NatsConnection): StreamRequest {
  const inbox = createInbox();
  const open = new Map<string, Open>();
  let next = 0;
  nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg) => {
      const id = msg.subject.slice(inbox.length + 1);
      const stream = open.get(id);
      if (!stream) return;
      if (msg.headers?.get('Mesh-Progress') === '1') return stream.onProgress(msg);
      open.delete(id);
      stream.resolve(msg);
    },
  });
  return (subject, data, onProgress) =>
    new Promise((resolve) => {
      const id = (next++).toString(36);
      open.set(id, { onProgress, resolve });
      nc.publish(subject, data, { reply: `${inbox}.${id}` });
    });
}
