// `mesh config`: the effective configuration as it is printed (every secret masked, each component's section, the
// policy in force), and the sections of the components the project runs. Loading the configuration is config.ts's.
import { loadPolicy } from '../auth/policy.ts';
import { ConfigError, frameworkDefaults, givenSections, SECRET_SETTINGS, type MeshConfig } from '../process/config.ts';
import type { ConfigSection } from '../process/config-section.ts';
import { MASK, maskUrlPasswords } from '../process/mask.ts';
import { loadSettings, resolveEntry, resolveGatewayEntry } from './entry.ts';
import { projectProcesses } from './project.ts';

/** The config sections of the components `mesh up` starts and of those named. */
export async function componentSections(paths: string[]): Promise<ConfigSection<unknown>[]> {
  const builtIn = (projectProcesses() ?? []).flatMap((line) => {
    const [verb, ...targets] = line.split(/\s+/);
    return targets.map((target) => (verb === 'gateway' ? resolveGatewayEntry(target) : resolveEntry(target)));
  });
  const sections = [];
  for (const entry of [...builtIn, ...paths.map(resolveEntry)]) sections.push(await loadSettings(entry));
  return sections.filter((section) => section !== undefined);
}

/** Every string setting, in lists too, with the passwords of the URLs in it masked, in any section (database.url, nats.url, ...). */
function maskSettings(section: Record<string, unknown> | unknown[]): void {
  for (const [key, value] of Object.entries(section)) {
    if (typeof value === 'string') (section as Record<string, unknown>)[key] = maskUrlPasswords(value);
    else if (Array.isArray(value)) maskSettings(value);
  }
}

/** The configuration with every secret masked, each component's section, and the effective policy the gateways enforce. */
export function printableConfig(config: MeshConfig, sections: ConfigSection<unknown>[]): unknown {
  const unknown = givenSections(config).filter((name) => !(name in frameworkDefaults()) && !sections.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: neither the framework nor a component declares it (name the component: mesh config path/to/it)`);
  }
  const shown = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const section of sections) shown[section.name] = section.of(config) as Record<string, unknown>;
  for (const setting of SECRET_SETTINGS) {
    const [section, key] = setting.split('.') as [string, string];
    if (shown[section]![key] !== null) shown[section]![key] = MASK;
  }
  for (const section of Object.values(shown)) if (section && typeof section === 'object') maskSettings(section);
  let policy: unknown;
  try {
    policy = loadPolicy(config.auth.policyFile).definition ?? 'none: everything is allowed to everyone (set AUTH_POLICY)';
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { ...shown, effectivePolicy: policy };
}
