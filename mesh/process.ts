// What a mesh process is: something started with the configuration and a logger, and stopped by a signal.
// Services and gateways export `start(context)`; the CLI resolves them by path and runs them the same way.
import type { MeshConfig } from './config.ts';
import type { Logger } from './logger.ts';

export interface ProcessContext {
  config: MeshConfig;
  logger: Logger;
}

export interface Running {
  /** Drains: stops taking work, finishes what is in flight, closes connections. */
  stop(): Promise<void>;
}

/** Runs `stop` once on SIGINT or SIGTERM, or when the parent that started it goes away; a second signal exits at once. */
export function stopOnSignals(running: Running, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'draining');
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while draining');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (process.connected) process.once('disconnect', () => !stopping && onSignal('SIGTERM'));
}
