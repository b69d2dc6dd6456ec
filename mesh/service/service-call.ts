// Calls between services: the one client a process shares per NATS connection, attached to each hosted
// instance so a handler can `this.call(...)` (or `callFrom(this, ...)`). Propagation itself is client.ts's.
import type { NatsConnection } from '@nats-io/transport-node';
import { createClient, type CallOptions, type MeshClient } from '../calling/client.ts';
import type { Args, Envelope, Kwargs } from '../wire/envelope.ts';

const CLIENT = Symbol.for('nats-mesh.client');
/** Clients by connection, then by namespace ('' for none). */
const shared = new WeakMap<NatsConnection, Map<string, MeshClient>>();

/** The client every host of a namespace on this connection shares: one inbox subscription and one timer for the process. */
export function sharedClient(nc: NatsConnection, namespace: string | null = null): MeshClient {
  let byNamespace = shared.get(nc);
  if (!byNamespace) shared.set(nc, (byNamespace = new Map()));
  let client = byNamespace.get(namespace ?? '');
  if (!client) byNamespace.set(namespace ?? '', (client = createClient(nc, { namespace })));
  return client;
}

/** Called by the host: the instance's calls and events go through this client. */
export function attachClient(instance: object, client: MeshClient): void {
  Object.defineProperty(instance, CLIENT, { value: client, configurable: true });
}

/** The client the host attached to a service instance. */
export function clientOf(instance: object): MeshClient {
  const client = (instance as { [CLIENT]?: MeshClient })[CLIENT];
  if (!client) throw new Error(`${(instance as { name?: string }).name ?? 'this object'} is not running in a service host, so it cannot call or publish`);
  return client;
}

/**
 * Calls a procedure from a hosted service instance that does not extend Service:
 * `const [[text]] = await callFrom(this, 'greeting_service.hello', ['Bob'])`. Same as Service's `this.call`.
 */
export async function callFrom(instance: object, procedure: string, args: Args = [], kwargs: Kwargs = {}, options?: CallOptions): Promise<Envelope> {
  return clientOf(instance).call(procedure, args, kwargs, options);
}
