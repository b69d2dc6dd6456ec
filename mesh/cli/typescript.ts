// Lets the compiled CLI load a user's TypeScript: registers tsx the first time a .ts file is loaded, and refuses one
// that would run as CommonJS. Not for the CLI's own code: in a checkout, bin/mesh.js registered tsx before these sources.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../process/config.ts';

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/** tsx's registration, once begun: at once when this module is itself TypeScript (a checkout, where bin/mesh.js did it). */
let registration: Promise<void> | undefined = import.meta.url.endsWith('.ts') ? Promise.resolve() : undefined;

async function registerTsx(): Promise<void> {
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  cjs.register();
}

/** The package.json nearest to a file, in its folder or above, as Node looks for the one whose "type" applies. */
function nearestPackageJson(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'package.json');
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Refuses a TypeScript file tsx would compile to CommonJS: its `require('nats-mesh')` would load a second copy of
 * the package beside the CLI's, with a call context of its own (currentCall() undefined in every handler).
 */
function refuseCommonJs(path: string): void {
  if (!TYPESCRIPT_FILE.test(path) || /\.mtsx?$/.test(path)) return;
  // A .cts file is always CommonJS; a .ts file is what the nearest package.json's "type" says (with none, its syntax decides).
  const manifest = /\.cts$/.test(path) ? undefined : nearestPackageJson(path);
  const type = manifest ? (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type : undefined;
  if (manifest ? type !== 'commonjs' : !/\.cts$/.test(path)) return;
  const why = manifest ? `${manifest} says "type": "commonjs"` : 'a .cts file';
  throw new ConfigError(
    `${path} would run as CommonJS (${why}), where nats-mesh would be loaded twice and lose the call context: set "type": "module" in package.json (as mesh init does) or name the file .mts`,
  );
}

/** Checks `path` and, when it is a TypeScript file, resolves once tsx is registered (every load waits for the same registration). */
export async function prepareToLoad(path: string): Promise<void> {
  refuseCommonJs(path);
  if (TYPESCRIPT_FILE.test(path)) await (registration ??= registerTsx());
}
