// Watch mode (`mesh run ... --watch`, `npm run dev`): runs the command as a child and restarts it when a
// .ts file under the watched folders changes. Debounced; the old child drains before the new one starts.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'chokidar';
import { spawnChild, stopChild, untilStopSignal } from './child.ts';
import type { Logger } from '../process/logger.ts';

export interface WatchOptions {
  /** Folders (or files) whose .ts files the process uses. */
  paths: string[];
  /** The command to run: executable, then arguments. */
  command: string[];
  logger: Logger;
  debounceMs?: number;
}

const IGNORED = /(^|[/\\])(node_modules|\.git|\.data|dist)([/\\]|$)/;

/** Runs until SIGINT/SIGTERM, then stops the child (which drains) and the watcher. */
export async function runWatched({ paths, command, logger, debounceMs = 300 }: WatchOptions): Promise<void> {
  let child: ChildProcess | undefined;
  let restarting: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const launch = () => {
    const current = spawnChild(command);
    // A supervisor above the watcher (`mesh up --watch`) hears what the process says, e.g. that it is ready.
    current.on('message', (message) => process.connected && process.send?.(message));
    current.once('exit', (code, signal) => {
      if (child === current && code !== 0 && signal === null) {
        logger.error({ code }, 'process failed; fix the source and it restarts on the next change');
      }
    });
    child = current;
  };

  const restart = (changed: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      restarting = restarting.then(async () => {
        logger.info({ changed }, 'source changed, restarting');
        if (child) await stopChild(child);
        launch();
      });
    }, debounceMs);
  };

  const watcher = watch(paths, {
    ignoreInitial: true,
    ignored: (path, stats) => IGNORED.test(path) || (stats?.isFile() === true && !path.endsWith('.ts')),
  });
  watcher.on('all', (_event, path) => restart(path));
  await once(watcher, 'ready');
  launch();
  logger.info({ paths }, 'watching for changes');

  await untilStopSignal();
  clearTimeout(timer);
  await watcher.close();
  await restarting;
  if (child) await stopChild(child);
}
