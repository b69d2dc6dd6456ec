// `mesh ping <service>`: the instances of a service that answer `$SRV.PING` within a wait, as compose's health
// check of a service container asks. It only pings; it never calls a procedure.
import type { NatsConnection } from 'nats';
import { ErrorCode, RequestStrategy } from 'nats';
import { meshNamespace } from '../wire/namespace.ts';

export interface PingedInstance {
  name: string;
  id: string;
  version: string;
}

/**
 * Every instance of `service` in the namespace (none by default) that answers within maxWaitMs (the wait ends early
 * once replies stop coming). `$SRV.PING` reaches every namespace; the others' answers are left out.
 */
export async function pingService(nc: NatsConnection, service: string, maxWaitMs: number, namespace: string | null = null): Promise<PingedInstance[]> {
  const own = meshNamespace(namespace);
  const client = nc.services.client({ strategy: RequestStrategy.JitterTimer, maxWait: maxWaitMs, jitter: Math.min(300, maxWaitMs) });
  const found: PingedInstance[] = [];
  try {
    for await (const reply of await client.ping(service)) {
      if (own.owns(reply.metadata)) found.push({ name: reply.name, id: reply.id, version: reply.version });
    }
  } catch (err) {
    // The server's "no responders" (503): nobody subscribes to the ping subject, so no instance runs.
    if ((err as { code?: string }).code !== ErrorCode.NoResponders) throw err;
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}
