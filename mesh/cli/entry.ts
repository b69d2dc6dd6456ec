// Finds and loads what the CLI runs by path: a service folder (default export: the class) or a gateway
// folder (export: start). Looks in the working directory first, then in this package.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ProcessContext, Running } from '../process/process.ts';
import type { ServiceClass } from '../service/runner.ts';

/** The folder holding mesh/, services/ and the gateway folders: the checkout, or dist/ in an installed package. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** This package's package.json: beside mesh/ in a checkout, one level up from dist/ when installed. */
export const PACKAGE_JSON = [resolve(PACKAGE_ROOT, 'package.json'), resolve(PACKAGE_ROOT, '..', 'package.json')].find((p) => existsSync(p))!;

/** The module file a path names: the file itself, or the folder's index.ts or index.js. */
export function resolveEntry(target: string): string {
  for (const base of [process.cwd(), PACKAGE_ROOT]) {
    const path = resolve(base, target);
    if (!existsSync(path)) continue;
    if (statSync(path).isFile()) return path;
    for (const index of ['index.ts', 'index.js']) {
      if (existsSync(resolve(path, index))) return resolve(path, index);
    }
  }
  throw new Error(`cannot find '${target}': expected a file, or a folder with index.ts or index.js`);
}

async function load(path: string): Promise<Record<string, unknown>> {
  return (await import(`${pathToFileURL(path).href}?t=${Date.now()}`)) as Record<string, unknown>;
}

export async function loadServiceClass(target: string): Promise<ServiceClass> {
  const path = resolveEntry(target);
  const exported = (await load(path)).default;
  if (typeof exported !== 'function') throw new Error(`${path} must export its service class as default`);
  return exported as ServiceClass;
}

/** A gateway's start: it runs until stopped and serves HTTP at `url` (with GET /health). */
export type Start = (context: ProcessContext) => Promise<Running & { readonly url: string }>;

export async function loadStart(target: string): Promise<Start> {
  const path = resolveEntry(target);
  const start = (await load(path)).start;
  if (typeof start !== 'function') throw new Error(`${path} must export a start(context) function`);
  return start as Start;
}
