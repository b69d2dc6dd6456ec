// createTestMesh: the real service hosts and client of a mesh in one process, on an in-process bus by default, for a
// user's tests without a NATS server. It runs the same hosts, codecs, validation, deadlines and task workers (on the
// bus's own JetStream); it mocks nothing.
import type { NatsConnection } from '@nats-io/transport-node';
import { createClient, type ProxiedClient } from '../calling/client.ts';
import type { NoServices, ServiceMap } from '../calling/client-proxy.ts';
import { loadConfig, type MeshConfig } from '../process/config.ts';
import { createTaskClient, type TaskClient } from '../tasks/enqueue.ts';
import { createLogger } from '../process/logger.ts';
import { hostServices, type ServiceClass } from '../service/runner.ts';
import type { HostedService } from '../service/service-host.ts';
import { memoryNats } from './memory-nats.ts';

export interface TestMeshOptions {
  /**
   * Settings by their dotted names, as the command line gives them: `{ 'rpc.timeoutMs': 500 }`. The project's config
   * file and environment apply under them, as for `mesh run`; the log is silent unless `log.level` is given.
   */
  config?: Record<string, unknown>;
  /** A connection to a real NATS server to host the services on instead of the in-process bus (it stays open). */
  nc?: NatsConnection;
}

export interface TestMesh<S extends ServiceMap = NoServices> {
  /** A client of the mesh, as createClient gives one: call, stream, publish, and a proxy per service. */
  readonly client: ProxiedClient<S>;
  /** A task client of the mesh, as createTaskClient gives one: enqueue a @task, follow it by its handle or id. */
  readonly tasks: TaskClient;
  /** The hosted services, e.g. for each one's eventStats(). */
  readonly services: readonly HostedService[];
  readonly config: MeshConfig;
  /** The connection the services and the client share: the in-process bus, or the one given. */
  readonly nc: NatsConnection;
  /** Drains the services (running their onStop), closes the client and the in-process bus. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Hosts the service classes and returns a client of them: `const mesh = await createTestMesh([GreetingService])`,
 * then `await mesh.client.greeting_service.hello('Bob')`. Calls, events, dependencies (providers), validation,
 * deadlines, the call context and @tasks (retries, dead letters, schedules, status) behave as on a server.
 */
export async function createTestMesh<S extends ServiceMap = NoServices>(classes: readonly ServiceClass[], options: TestMeshOptions = {}): Promise<TestMesh<S>> {
  const config = loadConfig({ overrides: { 'log.level': 'silent', ...options.config } });
  const nc = options.nc ?? memoryNats();
  const logger = createLogger(config.log, 'test-mesh');
  const services = await hostServices(classes, { config, logger }, nc);
  const client = createClient<S>(nc, { timeoutMs: config.rpc.timeoutMs, namespace: config.nats.namespace });
  const tasks = createTaskClient(nc, { namespace: config.nats.namespace });
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    client.close();
    if (!options.nc) await nc.close();
  };
  return { client, tasks, services, config, nc, stop, [Symbol.asyncDispose]: stop };
}
