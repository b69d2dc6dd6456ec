// Finds and loads what the CLI runs by path: a service folder (default export: the class) or a gateway
// folder (export: start, and its config section as settings). Looks in the working directory first, then in this package.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isConfigSection, type ConfigSection } from '../process/config-section.ts';
import type { ProcessContext, Running } from '../process/process.ts';
import type { ServiceClass } from '../service/runner.ts';
import { MeshError } from '../wire/errors.ts';
import type { NatsRole } from './nats-permissions.ts';
import { PACKAGE_ROOT } from './package-json.ts';
import { prepareToLoad } from './typescript.ts';

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
  throw new MeshError('NOT_FOUND', `cannot find '${target}': expected a file, or a folder with index.ts or index.js`);
}

/**
 * A module's exports. A TypeScript file of a CommonJS project is compiled to CommonJS (`export default` becomes
 * `exports.default`, with `__esModule` set), and importing it gives that exports object as `default`: it is unwrapped.
 */
async function load(path: string): Promise<Record<string, unknown>> {
  await prepareToLoad(path);
  const module = (await import(`${pathToFileURL(path).href}?t=${Date.now()}`)) as Record<string, unknown>;
  const commonJs = module.default as { __esModule?: unknown } | null | undefined;
  return typeof commonJs === 'object' && commonJs !== null && commonJs.__esModule === true ? (commonJs as Record<string, unknown>) : module;
}

/** A gateway named by path, or by the short name of one in this package: `http` for gateway-http. */
export function resolveGatewayEntry(target: string): string {
  try {
    return resolveEntry(target);
  } catch (err) {
    if (target.includes('/') || !existsSync(resolve(PACKAGE_ROOT, `gateway-${target}`))) throw err;
    return resolveEntry(resolve(PACKAGE_ROOT, `gateway-${target}`));
  }
}

/** What a component is called in logs and traces: its folder's name, or its file's without the extension. */
export function componentName(entry: string): string {
  return /^index\.[jt]s$/.test(basename(entry)) ? basename(dirname(entry)) : basename(entry).replace(/\.[jt]s$/, '');
}

export async function loadServiceClass(target: string): Promise<ServiceClass> {
  const path = resolveEntry(target);
  const module = await load(path);
  if (typeof module.default !== 'function' && typeof module.start === 'function') {
    throw new Error(`${path} is a gateway (it exports start): run it with mesh gateway ${target}`);
  }
  if (typeof module.default !== 'function') throw new Error(`${path} must export its service class as default`);
  return module.default as ServiceClass;
}

/** The config section a component's entry module exports as `settings`, if it declares one. */
export async function loadSettings(entry: string): Promise<ConfigSection<unknown> | undefined> {
  const { settings } = await load(entry);
  return isConfigSection(settings) ? settings : undefined;
}

/** A gateway's start: it runs until stopped and serves HTTP at `url` (with GET /health). */
export type Start = (context: ProcessContext) => Promise<Running & { readonly url: string }>;

export interface Gateway {
  start: Start;
  /** The gateway's section of the configuration, if it declares one (`mesh gateway --port` sets its port). */
  settings?: ConfigSection<unknown>;
  /** What it does on NATS, for `mesh nats-config` (`export const natsRole`): a `caller` unless it says otherwise. */
  natsRole: NatsRole;
}

export async function loadGateway(entry: string): Promise<Gateway> {
  const { start, settings, natsRole = 'caller' } = await load(entry);
  if (typeof start !== 'function') throw new Error(`${entry} must export a start(context) function`);
  if (natsRole !== 'caller' && natsRole !== 'router') throw new Error(`${entry} exports natsRole ${JSON.stringify(natsRole)}: it must be 'caller' or 'router'`);
  return { start: start as Start, settings: isConfigSection(settings) ? settings : undefined, natsRole };
}
