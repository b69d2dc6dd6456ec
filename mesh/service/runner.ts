// Runs service classes in a process, Nameko's runner: one NATS connection, one host per service.
// A service class is constructed with the process context, so config and logger are injected, not global.
import type { NatsConnection } from '@nats-io/transport-node';
import { createIdentityVerifier } from '../auth/identity-verifier.ts';
import { connectNats } from '../process/connection.ts';
import type { ProcessContext, Running } from '../process/process.ts';
import { createReports, reportSettings } from '../observability/reports.ts';
import { hostService, type HostedService, type ServiceInstance } from './service-host.ts';
import { createClient } from '../calling/client.ts';
import { resilienceSettings } from '../resilience/policy.ts';

export type ServiceClass = new (context: ProcessContext) => ServiceInstance;

export interface RunningServices extends Running {
  readonly nc: NatsConnection;
  readonly services: readonly HostedService[];
}

/** Hosts the given service classes on an existing connection; `stop` drains them but leaves nc open. */
export async function hostServices(classes: readonly ServiceClass[], context: ProcessContext, nc: NatsConnection): Promise<HostedService[]> {
  const hosted: HostedService[] = [];
  const identity = createIdentityVerifier(context.config.auth);
  // One report queue per process: the reporter hook's bound and its dropped count are the process's.
  const { namespace } = context.config.nats;
  const reports = createReports(nc, context.logger, await reportSettings(context.config.reports), namespace);
  // The `resilience` section's caller policies apply to every call the process's services make; checked before any starts.
  const { calls } = resilienceSettings.of(context.config);
  const client = Object.keys(calls).length > 0 ? createClient(nc, { namespace, timeoutMs: context.config.rpc.timeoutMs, procedures: calls }) : undefined;
  for (const ServiceClass of classes) {
    const instance = new ServiceClass(context);
    const logger = context.logger.child({ service: instance.name });
    hosted.push(await hostService(instance, { nc, logger, identity, reports, namespace, config: context.config, client }));
    logger.info({ subjects: hosted.at(-1)!.subjects }, 'service ready');
  }
  return hosted;
}

/** Connects to NATS and hosts the services; `stop` drains every service, then the connection. */
export async function runServices(classes: readonly ServiceClass[], context: ProcessContext): Promise<RunningServices> {
  // A wrong caller policy is a configuration error even while NATS is away: checked before connecting.
  resilienceSettings.of(context.config);
  const nc = await connectNats(context.config.nats, classes.map((c) => c.name).join(','), context.logger);
  const services = await hostServices(classes, context, nc);
  return {
    nc,
    services,
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
      await nc.drain();
    },
  };
}
