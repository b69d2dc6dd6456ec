// Keeps instances that do not share state out of one queue group: an instance may declare a fingerprint of what
// it shares (thing_service: its database), advertised in `$SRV.INFO` metadata and checked against the running ones.
import type { NatsConnection } from '@nats-io/transport-node';
import { askServices, type ServiceInfo } from '../wire/micro.ts';
import { NO_NAMESPACE, type Namespace } from '../wire/namespace.ts';

/** The `$SRV.INFO` metadata key holding an instance's fingerprint. */
export const FINGERPRINT_METADATA = 'fingerprint';

/** How long a starting instance listens for the running ones' `$SRV.INFO`, and the silence that ends it early. */
const LISTEN_MS = 1000;
const SILENCE_MS = 250;

/**
 * Throws when a running instance of the service in the same namespace advertises another fingerprint: requests would
 * be shared between instances that hold different data (two checkouts, two databases, one NATS server). Instances
 * starting at the same moment do not see each other; the check is for the common case of a second process started later.
 */
export async function refuseForeignInstances(nc: NatsConnection, service: string, fingerprint: string, namespace: Namespace = NO_NAMESPACE): Promise<void> {
  let infos: ServiceInfo[];
  try {
    // None when no instance runs yet.
    infos = await askServices(nc, 'INFO', service, { maxWaitMs: LISTEN_MS, silenceMs: SILENCE_MS });
  } catch {
    return;
  }
  const others = new Set<string>();
  for (const info of infos) {
    // Another namespace's instances answer other subjects: they share nothing with this one.
    if (!namespace.owns(info.metadata)) continue;
    const theirs = info.metadata?.[FINGERPRINT_METADATA];
    if (theirs !== undefined && theirs !== fingerprint) others.add(theirs);
  }
  if (others.size > 0) {
    throw new Error(
      `refusing to start ${service}: instances of it already run on this NATS server with different data ` +
        `(fingerprint ${[...others].join(', ')}, this one ${fingerprint}), and they would share its requests. ` +
        'Use the same database, another namespace (MESH_NAMESPACE) or NATS server, or stop the other instances.',
    );
  }
}
