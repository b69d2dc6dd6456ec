// The services on the mesh for one command: a single `$SRV.INFO` scatter-gather through the registry, as a catalog.
// For commands that run once (info, client, shell); gateways keep their own long-lived registry.
import type { NatsConnection } from '@nats-io/transport-node';
import { catalogOf, type ServiceDescription } from '../calling/catalog.ts';
import type { Logger } from '../process/logger.ts';
import { createRegistry } from '../calling/registry.ts';

/** The services of the namespace (`nats.namespace`; none by default) that answer within windowMs. */
export async function discoverServices(nc: NatsConnection, logger: Logger, namespace: string | null = null, windowMs = 500): Promise<ServiceDescription[]> {
  const registry = createRegistry(nc, { logger, windowMs, refreshMs: 3_600_000, namespace });
  try {
    await registry.refresh();
    return catalogOf(registry.list());
  } finally {
    registry.close();
  }
}
