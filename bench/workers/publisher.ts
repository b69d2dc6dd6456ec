// Publishes events [args, kwargs] on a NATS subject as fast as the connection takes them, in its own
// process, and says when it started, so the fan-out benchmark can time delivery end to end.
import { connect } from '@nats-io/transport-node';
import { NATS_URL, serve } from './ipc.ts';

const nc = await connect({ servers: NATS_URL });
const payload = new TextEncoder().encode(JSON.stringify([['websockets'], { are: 'awesome' }]));

serve(
  {},
  async (message) => {
    const { subject, events } = message as { subject: string; events: number };
    const startedAt = performance.timeOrigin + performance.now();
    for (let i = 0; i < events; i++) nc.publish(subject, payload);
    await nc.flush();
    return { startedAt };
  },
  () => nc.close(),
);
