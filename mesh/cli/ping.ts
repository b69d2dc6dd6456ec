// `mesh ping <service>`: the instances of a service that answer `$SRV.PING` within a wait, as compose's health
// check of a service container asks. It only pings; it never calls a procedure.
import type { NatsConnection } from '@nats-io/transport-node';
import { askServices } from '../wire/micro.ts';
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
  const found: PingedInstance[] = [];
  // None when nobody subscribes to the ping subject (the server's "no responders"): no instance runs.
  for (const reply of await askServices(nc, 'PING', service, { maxWaitMs, silenceMs: Math.min(300, maxWaitMs) })) {
    if (own.owns(reply.metadata)) found.push({ name: reply.name, id: reply.id, version: reply.version });
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}
