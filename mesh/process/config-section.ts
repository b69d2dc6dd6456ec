// A component's own part of the configuration: a gateway or a service declares its section (a name, a zod schema,
// its environment variables) and reads it from the loaded configuration. The framework's sections are in config.ts.
import type { z } from 'zod';
import { ConfigError, frameworkDefaults, readSection, type Environment, type MeshConfig } from './config.ts';

/** A declared section: `of(config)` validates it and returns its settings, or throws a ConfigError naming the setting. */
export interface ConfigSection<T> {
  /** The top-level key in the config file, e.g. "greeter". */
  readonly name: string;
  /** Environment variables and the dotted settings they set, e.g. {GREETER_PORT: 'greeter.port'}. */
  readonly environment: Environment;
  /** Command line over environment over config file over defaults, as for the framework's sections; read once per configuration. */
  of(config: MeshConfig): T;
  /** Every setting at its default. */
  defaults(): T;
}

/**
 * Declares a component's section. `schema` checks it (a strict object, so a key it does not know is refused);
 * `env` maps environment variables to keys of the section: configSection('greeter', schema, { GREETER_PORT: 'port' }).
 * The component's entry module exports it as `settings`, so that `mesh config` shows it and `mesh gateway --port` sets it.
 */
export function configSection<S extends z.ZodType>(name: string, schema: S, env: Readonly<Record<string, string>> = {}): ConfigSection<z.output<S>> {
  if (name in frameworkDefaults()) throw new ConfigError(`the section ${name} belongs to the framework; a component needs a name of its own`);
  const environment = Object.fromEntries(Object.entries(env).map(([variable, key]) => [variable, `${name}.${key}`]));
  const read = new WeakMap<MeshConfig, z.output<S>>();
  return {
    name,
    environment,
    of(config) {
      if (!read.has(config)) read.set(config, readSection(config, name, schema, environment));
      return read.get(config)!;
    },
    defaults: () => schema.parse({}),
  };
}

export function isConfigSection(value: unknown): value is ConfigSection<unknown> {
  const section = value as Partial<ConfigSection<unknown>> | undefined;
  return typeof section?.name === 'string' && typeof section.of === 'function' && typeof section.defaults === 'function';
}

/** A complete config file with every setting at its default: the framework's, and those of the sections given. */
export function defaultConfigFile(sections: readonly ConfigSection<unknown>[] = []): string {
  const declared = Object.fromEntries(sections.map((section) => [section.name, section.defaults()]));
  return `${JSON.stringify({ ...frameworkDefaults(), ...declared }, null, 2)}\n`;
}
