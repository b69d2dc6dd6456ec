// The package as `npm pack` makes it (its prepack script builds dist/), packed once for the files it is made from and
// kept in the temporary folder: the package test installs it, the compose test runs its build as the image does.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What `npm pack` reads: the shipped folders and files, the build's sources and configuration, and the compiler. */
const INPUTS = [
  'bin',
  'docs',
  'frontend',
  'gateway-http',
  'gateway-wamp',
  'mesh',
  'services',
  'README.md',
  'CHANGELOG.md',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'node_modules/typescript/package.json',
];
/** Never inputs: what a build or a run leaves in a folder. */
const SKIPPED = new Set(['node_modules', 'dist', '.data']);

function* files(path: string): Generator<string> {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) if (!SKIPPED.has(entry)) yield* files(join(path, entry));
  } else {
    yield path;
  }
}

/** A hash of every input's path and content: a change to any of them packs anew. */
function inputsKey(): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of files(join(ROOT, input))) hash.update(`${relative(ROOT, file)}\0${readFileSync(file, 'latin1')}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Whether the process holding a lock died and left it behind (false while the holder has not written its pid yet). */
function holderDied(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false;
  }
  try {
    return pid > 0 && !process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let packed: Promise<string> | undefined;

/**
 * The path of the package's tarball for the files as they are now. One process packs at a time (npm pack rebuilds
 * dist/ in the checkout) under a lock folder; the others wait for its tarball, or take over if it died.
 */
export function packedTarball(): Promise<string> {
  return (packed ??= (async () => {
    const folder = join(tmpdir(), `nats-mesh-test-pack-${inputsKey()}`);
    const lock = `${folder}.lock`;
    for (;;) {
      if (existsSync(folder)) return join(folder, 'package.tgz');
      try {
        mkdirSync(lock);
      } catch {
        if (holderDied(lock)) rmSync(lock, { recursive: true, force: true });
        await sleep(500);
        continue;
      }
      try {
        writeFileSync(join(lock, 'pid'), String(process.pid));
        const fresh = mkdtempSync(`${folder}-`);
        await run('npm', ['pack', '--pack-destination', fresh], { cwd: ROOT });
        renameSync(join(fresh, readdirSync(fresh)[0]!), join(fresh, 'package.tgz'));
        renameSync(fresh, folder);
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
  })());
}
