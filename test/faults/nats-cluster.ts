// A three-node NATS cluster a test owns: routed nats-servers on free ports, with the flags the compose cluster
// profile uses (cluster name, routes, JetStream), each with a monitoring port so a test can see who is connected.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isListening } from '../../mesh/cli/nats-server.ts';
import { freePort } from '../helpers.ts';

interface Node {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  child?: ChildProcess;
}

export class NatsCluster {
  private constructor(private readonly nodes: Node[]) {}

  static async start(size = 3): Promise<NatsCluster> {
    const nodes: Node[] = [];
    for (let i = 1; i <= size; i++) {
      nodes.push({ name: `nats-${i}`, port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort() });
    }
    const cluster = new NatsCluster(nodes);
    for (const node of nodes) cluster.spawn(node);
    for (const node of nodes) await waitListening(node.port);
    return cluster;
  }

  /** Every client URL, as a mesh process is given them (NATS_URL, comma-separated). */
  get urls(): string[] {
    return this.nodes.map((node) => `nats://127.0.0.1:${node.port}`);
  }

  /** The node a named client connection is on, from each node's /connz. */
  async nodeOf(connectionName: string): Promise<string | undefined> {
    for (const node of this.nodes) {
      if (!node.child || node.child.exitCode !== null || node.child.signalCode !== null) continue;
      const res = await fetch(`http://127.0.0.1:${node.monitorPort}/connz`).catch(() => undefined);
      const connz = (await res?.json()) as { connections?: { name?: string }[] } | undefined;
      if (connz?.connections?.some((c) => c.name === connectionName)) return node.name;
    }
    return undefined;
  }

  async kill(name: string): Promise<void> {
    const child = this.nodes.find((node) => node.name === name)?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node.name)));
  }

  private spawn(node: Node): void {
    const routes = this.nodes.filter((other) => other !== node).map((other) => `nats://127.0.0.1:${other.clusterPort}`);
    node.child = spawn(
      'nats-server',
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(node.port),
        '-m',
        String(node.monitorPort),
        '-js',
        '-sd',
        mkdtempSync(join(tmpdir(), `mesh-${node.name}-`)),
        '--server_name',
        node.name,
        '--cluster_name',
        'mesh',
        '--cluster',
        `nats://127.0.0.1:${node.clusterPort}`,
        '--routes',
        routes.join(','),
      ],
      { stdio: 'ignore' },
    );
  }
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await isListening('127.0.0.1', port, 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nats-server on ${port} did not start`);
}
