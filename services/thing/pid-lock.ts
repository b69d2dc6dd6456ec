// A lock file holding the pid of the one process that may open a folder, released on close or when that process dies.
// PGlite opens the same folder twice without complaint and the two would corrupt it; this refuses the second.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export interface PidLock {
  release(): void;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock at `path`, replacing one left by a process that is gone; throws if a live process holds it. */
export function takePidLock(path: string, purpose: string): PidLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return {
        release() {
          if (holderOf(path) === process.pid) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = holderOf(path);
    if (holder !== undefined && isRunning(holder)) {
      throw new Error(`${purpose} is in use by process ${holder} (lock file ${path})`);
    }
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`cannot take the lock file ${path}`);
}
