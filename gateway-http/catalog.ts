// What the registry knows, as services and procedures with their parsed contracts: the one source of the OpenAPI
// document, the browsable API and its JSON. It reads the registry; it calls no procedure and decides no access.
import { readFileSync } from 'node:fs';
import { parseSchema, type PublishedSchema, type EndpointInfo, type ProcedureRegistry } from '../mesh/gateway.ts';

export type { PublishedSchema };

export interface ProcedureEntry {
  /** The subject, `<service>.<method>`. */
  name: string;
  service: string;
  description: string | undefined;
  /** `public`, `roles:a,b`, or undefined when the service says nothing. */
  access: string | undefined;
  /** The parameter names in order, optional ones marked `?`. */
  parameters: string | undefined;
  params: PublishedSchema;
  result: PublishedSchema;
  instances: number;
}

export interface ServiceEntry {
  name: string;
  version: string | undefined;
  description: string | undefined;
  procedures: ProcedureEntry[];
}

function procedureEntry(info: EndpointInfo): ProcedureEntry {
  const first = info.instances[0]!;
  const { metadata } = first;
  return {
    name: info.subject,
    service: first.service,
    description: metadata.description,
    access: metadata.access,
    parameters: metadata.parameters,
    params: parseSchema(metadata.params_schema),
    result: parseSchema(metadata.result_schema),
    instances: info.instances.length,
  };
}

/** The services of the registry, by name, each with its procedures by name: those `visible` admits, services with none left out. */
export function catalogOf(registry: ProcedureRegistry, visible: (procedure: string) => boolean = () => true): ServiceEntry[] {
  const services = new Map<string, ServiceEntry>();
  for (const info of registry.list()) {
    const first = info.instances[0];
    if (!first || !visible(info.subject)) continue;
    let service = services.get(first.service);
    if (!service) {
      service = { name: first.service, version: first.version, description: first.description, procedures: [] };
      services.set(first.service, service);
    }
    service.procedures.push(procedureEntry(info));
  }
  return [...services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One procedure of the registry, or undefined. */
export function procedureOf(registry: ProcedureRegistry, name: string): ProcedureEntry | undefined {
  const info = registry.get(name);
  return info && info.instances.length > 0 ? procedureEntry(info) : undefined;
}

/** This package's version, from its package.json (next to the sources, or one level up from dist/). */
export const PACKAGE_VERSION: string = (() => {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'nats-mesh' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      continue;
    }
  }
  return 'unknown';
})();
