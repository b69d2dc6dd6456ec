// The project `mesh up` runs: the processes the package.json in the working directory declares under `mesh.up`.
// It reads the user's project, never this package's own manifest (whose `mesh.up` is the demo this repository runs).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../process/config.ts';

const EXAMPLE = '"mesh": { "up": ["run services/greeting", "gateway http"] }';

/** The `mesh.up` list of the working directory's package.json: undefined when it declares none; a ConfigError when it is malformed. */
export function projectProcesses(dir = process.cwd()): string[] | undefined {
  const path = resolve(dir, 'package.json');
  if (!existsSync(path)) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path} is not JSON: ${(err as Error).message}`);
  }
  const up = (manifest as { mesh?: { up?: unknown } } | null)?.mesh?.up;
  if (up === undefined) return undefined;
  if (!Array.isArray(up) || up.length === 0 || !up.every((line) => typeof line === 'string' && line.trim() !== '')) {
    throw new ConfigError(`mesh.up in ${path} must be a list of mesh commands, e.g. ${EXAMPLE}`);
  }
  return up as string[];
}

/** What `mesh up` starts when no processes are named: the project's `mesh.up`, or a ConfigError saying how to declare it. */
export function declaredProcesses(dir = process.cwd()): string[] {
  const declared = projectProcesses(dir);
  if (declared) return declared;
  throw new ConfigError(`nothing to start: ${resolve(dir, 'package.json')} declares no mesh.up; add ${EXAMPLE}, or name them: mesh up "run services/greeting"`);
}
