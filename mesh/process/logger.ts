// Structured logs for every process: JSON lines in containers and pipes, pretty lines in a terminal.
// The logger is handed to whatever needs it; nothing logs through a global.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { MeshConfig } from './config.ts';

export type { Logger };

export function createLogger(config: Pick<MeshConfig['log'], 'level' | 'format'>, name: string): Logger {
  const usePretty = config.format === 'pretty' || (config.format === 'auto' && process.stdout.isTTY === true);
  const options = { name, level: config.level };
  return usePretty ? pino(options, pretty({ colorize: true, sync: true })) : pino(options);
}
