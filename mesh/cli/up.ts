// `mesh up`: the whole mesh on one machine. Makes sure NATS runs, starts each process as a child, restarts a
// child that dies (with capped exponential backoff), says once when the whole mesh answers, and on Ctrl-C
// drains every child before stopping the NATS it started.
import type { ChildProcess } from 'node:child_process';
import { spawnChild, stopChild, untilStopSignal } from './child.ts';
import type { MeshConfig } from '../process/config.ts';
import { connectNats } from '../process/connection.ts';
import type { Logger } from '../process/logger.ts';
import { maskUrlPasswords } from '../process/mask.ts';
import { ensureNats } from './nats-server.ts';
import { isReadyMessage, type ReadyMessage } from '../process/process.ts';

export interface UpOptions {
  /** Each child's mesh arguments, e.g. ["run", "services/greeting"]. */
  processes: string[][];
  config: MeshConfig;
  logger: Logger;
  /** The command line that runs the mesh CLI (node and its arguments). */
  meshCommand: string[];
  /** Environment for the children, carrying the configuration given to `up`. */
  env: NodeJS.ProcessEnv;
  /** The first restart delay; each failure in a row doubles it, up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

/** A child that ran this long before it died counts as healthy: its next restart starts from the first delay. */
const HEALTHY_RUN_MS = 30_000;
/** After this many failures in a row, one line says the process keeps failing (and not again until it recovers). */
const FAILING_AFTER = 5;

/** The delay before the restart that follows `failures` failures in a row. */
export function restartDelay(failures: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, failures - 1));
}

/** Whether what a child announced answers from outside: each service's `$SRV.PING.<name>`, the gateway's /health. */
async function answers(ready: ReadyMessage, config: MeshConfig): Promise<boolean> {
  if (ready.health) {
    const res = await fetch(ready.health, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (res?.status !== 200) return false;
  }
  if (ready.services?.length) {
    const nc = await connectNats(config.nats, 'mesh-up');
    try {
      for (const name of ready.services) await nc.request(`$SRV.PING.${name}`, undefined, { timeout: 2_000 });
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  }
  return true;
}

export async function up(options: UpOptions): Promise<void> {
  const { processes, config, logger, meshCommand, env } = options;
  const firstDelay = options.restartDelayMs ?? 1_000;
  const maxDelay = options.maxRestartDelayMs ?? 30_000;
  const url = config.nats.url[0]!;
  const nats = await ensureNats(url, config.up.dataDir);
  const shown = maskUrlPasswords(url);
  if (nats.started) logger.info({ url: shown }, 'started a local nats-server for this session');
  else logger.info({ url: shown }, 'using the NATS server already running');

  let stopping = false;
  const children = new Map<string, ChildProcess>();
  const failures = new Map<string, number>();
  const answering = new Set<string>();
  let announced = false;

  const checkReady = async (label: string, ready: ReadyMessage) => {
    for (let attempt = 0; attempt < 10 && !stopping; attempt++) {
      if (await answers(ready, config)) {
        answering.add(label);
        if (!announced && answering.size === processes.length) {
          announced = true;
          logger.info({ processes: [...answering] }, `mesh ready: ${[...answering].join(', ')}`);
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (!stopping) logger.warn({ process: label }, 'process said it started but does not answer');
  };

  const launch = (args: string[]) => {
    const label = args.join(' ');
    const started = performance.now();
    const child = spawnChild([...meshCommand, ...args], env);
    children.set(label, child);
    child.on('message', (message) => {
      if (isReadyMessage(message)) void checkReady(label, message);
    });
    child.once('exit', (code, signal) => {
      children.delete(label);
      answering.delete(label);
      if (stopping) return;
      const inARow = performance.now() - started > HEALTHY_RUN_MS ? 1 : (failures.get(label) ?? 0) + 1;
      failures.set(label, inARow);
      const delay = restartDelay(inARow, firstDelay, maxDelay);
      if (inARow === FAILING_AFTER) {
        logger.error({ process: label, failures: inARow, code, signal }, `${label} keeps failing (${inARow} times in a row); retrying every ${maxDelay / 1000} s at most`);
      } else if (inARow < FAILING_AFTER) {
        logger.error({ process: label, code, signal }, `process exited; restarting in ${delay} ms`);
      }
      setTimeout(() => !stopping && launch(args), delay);
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
