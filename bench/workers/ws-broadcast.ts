// The WAMP fan-out baseline, in its own process: a bare `ws` server that forwards every message of one
// NATS subscription to all its sockets as it is. No sessions, no framing: the ceiling for fan-out.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { WebSocketServer } from 'ws';
import { NATS_URL, serve } from './ipc.ts';

const [subject] = process.argv.slice(2) as [string];
const nc = await connect({ servers: NATS_URL });
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
await once(wss, 'listening');
nc.subscribe(subject, {
  callback: (_err, msg) => {
    for (const socket of wss.clients) socket.send(msg.data, { binary: false });
  },
});
await nc.flush();
serve(
  { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` },
  async () => process.memoryUsage(),
  async () => {
    wss.close();
    await nc.close();
  },
);
