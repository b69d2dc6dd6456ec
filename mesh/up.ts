// `mesh up`: the whole mesh on one machine. Makes sure NATS runs, starts each process as a child,
// restarts a child that dies, and on Ctrl-C drains every child before stopping the NATS it started.
import type { ChildProcess } from 'node:child_process';
import { spawnChild, stopChild, untilStopSignal } from './child.ts';
import type { MeshConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { ensureNats } from './nats-server.ts';

export interface UpOptions {
  /** Each child's mesh arguments, e.g. ["run", "services/greeting"]. */
  processes: string[][];
  config: MeshConfig;
  logger: Logger;
  /** The command line that runs the mesh CLI (node and its arguments). */
  meshCommand: string[];
  /** Environment for the children, carrying the configuration given to `up`. */
  env: NodeJS.ProcessEnv;
}

const RESTART_DELAY_MS = 1_000;

export async function up({ processes, config, logger, meshCommand, env }: UpOptions): Promise<void> {
  const url = config.nats.url[0]!;
  const nats = await ensureNats(url, config.database.dataDir);
  if (nats.started) logger.info({ url }, 'started a local nats-server for this session');
  else logger.info({ url }, 'using the NATS server already running');

  let stopping = false;
  const children = new Map<string, ChildProcess>();

  const launch = (args: string[]) => {
    const label = args.join(' ');
    const child = spawnChild([...meshCommand, ...args], env);
    children.set(label, child);
    child.once('exit', (code, signal) => {
      children.delete(label);
      if (stopping) return;
      logger.error({ process: label, code, signal }, `process exited; restarting in ${RESTART_DELAY_MS} ms`);
      setTimeout(() => !stopping && launch(args), RESTART_DELAY_MS).unref();
    });
  };
  processes.forEach(launch);

  const signal = await untilStopSignal();
  stopping = true;
  logger.info({ signal }, 'stopping the mesh');
  await Promise.all([...children.values()].map(stopChild));
  await nats.stop();
  logger.info('the mesh is stopped');
}
