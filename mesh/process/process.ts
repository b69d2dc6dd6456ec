// What a mesh process is: something started with the configuration and a logger, and stopped by a signal.
// Services and gateways export `start(context)`; the CLI resolves them by path and runs them the same way.
import { ConfigError, type MeshConfig } from './config.ts';
import { MeshError } from '../wire/errors.ts';
import type { Logger } from './logger.ts';
import { maskUrlPasswords } from './mask.ts';

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

/** What a started process tells a supervisor (`mesh up`) over IPC, so it can check that the process answers. */
export interface ReadyMessage {
  type: 'mesh-ready';
  /** Services whose `$SRV.PING.<name>` should answer. */
  services?: string[];
  /** A URL whose GET should answer 200. */
  health?: string;
}

export function isReadyMessage(value: unknown): value is ReadyMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'mesh-ready';
}

export interface Started {
  running: Running;
  /** How a supervisor checks that the process answers. */
  ready: Omit<ReadyMessage, 'type'>;
}

/**
 * Runs a long-lived process: every fatal error (a failure to start, an uncaught exception, an unhandled rejection)
 * is logged through the logger, in its format, before the process exits with 1; once started it drains on signals
 * and tells a supervising parent, if any, how to check that it is ready.
 */
export async function runProcess(logger: Logger, start: () => Promise<Started>): Promise<void> {
  const fatal = (err: unknown, message: string): never => {
    // No URL password reaches the log, whatever threw: the message and the stack are masked.
    const text = maskUrlPasswords(`${message}: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof MeshError) logger.fatal({ code: err.code }, text);
    else if (err instanceof ConfigError) logger.fatal(text);
    else logger.fatal({ err: { type: err instanceof Error ? err.name : typeof err, stack: maskUrlPasswords(err instanceof Error ? (err.stack ?? '') : '') } }, text);
    // 78 (EX_CONFIG), as the CLI exits on a wrong setting it finds before the process starts.
    process.exit(err instanceof ConfigError ? 78 : 1);
  };
  process.on('uncaughtException', (err) => fatal(err, 'uncaught exception, exiting'));
  process.on('unhandledRejection', (reason) => fatal(reason, 'unhandled rejection, exiting'));
  let started: Started;
  try {
    started = await start();
  } catch (err) {
    return fatal(err, 'could not start');
  }
  const { running, ready } = started;
  stopOnSignals(running, logger);
  if (process.connected) process.send?.({ type: 'mesh-ready', ...ready } satisfies ReadyMessage);
}
