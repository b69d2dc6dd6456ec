// Runs a benchmark worker in its own process and talks to it over IPC: wait until it is ready, ask it
// to measure, stop it. The orchestrator side of bench/workers/ipc.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface Worker<Ready> {
  readonly info: Ready;
  request<T>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** `env`: variables set for this worker on top of this process's own, e.g. NATS_URL for a nats-server of its own. */
export async function startWorker<Ready = Record<string, unknown>>(name: string, args: string[] = [], nodeOptions: string[] = [], env: Record<string, string> = {}): Promise<Worker<Ready>> {
  const file = fileURLToPath(new URL(`./workers/${name}.ts`, import.meta.url));
  const child: ChildProcess = fork(file, args, { execArgv: ['--import', 'tsx', ...nodeOptions], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [first] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`worker ${name} ${args.join(' ')} exited with code ${code} before it was ready`);
    }),
  ])) as [{ type: string; info: Ready }];
  return {
    info: first.info,
    async request<T>(message: Record<string, unknown>) {
      child.send(message);
      const [reply] = (await once(child, 'message')) as [{ type: string; result: T; error?: string }];
      if (reply.error) throw new Error(`worker ${name}: ${reply.error}`);
      return reply.result;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
