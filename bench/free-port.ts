// A TCP port free on 127.0.0.1 right now, for a server a bench starts of its own (nats-server, redis-server). It only
// finds the port; starting the server and waiting for it is the caller's.
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}
