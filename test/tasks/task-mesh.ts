// What a task test runs on: a nats-server of its own (JetStream, a free port), a connection to it, the service under
// test hosted there and a task client. It starts and stops them; the tests enqueue, call and assert.
import { after, before } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createTaskClient, hostService, type HostedService, type HostOptions, type ServiceInstance, type TaskClient } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

export interface TaskMesh {
  readonly server: OwnNatsServer;
  readonly nc: NatsConnection;
  readonly hosted: HostedService;
  readonly tasks: TaskClient;
  /** Stops the service, then the connection and the server. */
  stop(): Promise<void>;
}

/** Starts a nats-server and hosts the service on it (silent logger, and `options` for the host). */
export async function startTaskMesh(service: ServiceInstance, options: Partial<Omit<HostOptions, 'nc'>> = {}): Promise<TaskMesh> {
  const server = await OwnNatsServer.start();
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: server.url });
    const hosted = await hostService(service, { logger: silentLogger, ...options, nc });
    const connection = nc;
    return {
      server,
      nc,
      hosted,
      tasks: createTaskClient(nc),
      async stop() {
        await hosted.stop();
        await connection.close();
        await server.stop();
      },
    };
  } catch (err) {
    await nc?.close();
    await server.stop();
    throw err;
  }
}

/**
 * A task mesh for the enclosing suite: started before its tests, stopped after them. Its fields are read in the
 * tests (they throw before the start); a suite that starts more around it calls startTaskMesh itself.
 */
export function suiteTaskMesh(service: ServiceInstance, options: Partial<Omit<HostOptions, 'nc'>> = {}): TaskMesh {
  let started: TaskMesh | undefined;
  before(async () => {
    started = await startTaskMesh(service, options);
  });
  after(() => started?.stop());
  const mesh = (): TaskMesh => {
    if (!started) throw new Error('the task mesh is started before the suite runs its tests');
    return started;
  };
  return {
    get server() {
      return mesh().server;
    },
    get nc() {
      return mesh().nc;
    },
    get hosted() {
      return mesh().hosted;
    },
    get tasks() {
      return mesh().tasks;
    },
    stop: () => mesh().stop(),
  };
}
