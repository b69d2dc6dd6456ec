// The services on the mesh as one description: each service with its version, instances and procedures, and each
// procedure's declared contract (JSON Schema parsed). Built from the registry; it neither queries NATS nor calls.
import type { EndpointInfo } from './registry.ts';

/** A JSON Schema document as a service published it (parsed JSON; nothing about it is trusted). */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface ProcedureDescription {
  /** The method name: the subject after the service name. */
  name: string;
  subject: string;
  description?: string;
  /** The plain parameter list (`first_name, last_name?`), for procedures without a declared schema. */
  parameters?: string;
  access?: string;
  /** The GET route it declares on the HTTP gateway (`http_get`), e.g. `/things/:uuid`. */
  getRoute?: string;
  paramsSchema?: JsonSchema;
  resultSchema?: JsonSchema;
  /** Why a published schema cannot be used (not JSON, not an object): the procedure stays callable, untyped. */
  schemaProblem?: string;
}

export interface ServiceDescription {
  name: string;
  version?: string;
  description?: string;
  /** The ids of the instances that answer, sorted. */
  instances: string[];
  procedures: ProcedureDescription[];
}

/** A JSON Schema a service published in its metadata, or why it cannot be used; undefined when it published none. */
export type PublishedSchema = { schema: JsonSchema } | { unavailable: string } | undefined;

/** Longest schema text read; a longer one is unavailable rather than parsed. */
const MAX_SCHEMA_CHARS = 256 * 1024;

/** Reads a published schema (`params_schema`, `result_schema`): a JSON object, else the reason it is unusable. */
export function parseSchema(text: string | undefined): PublishedSchema {
  if (text === undefined) return undefined;
  if (text.length > MAX_SCHEMA_CHARS) return { unavailable: `schema is over ${MAX_SCHEMA_CHARS} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { unavailable: 'schema is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { unavailable: 'schema is not a JSON object' };
  return { schema: value as JsonSchema };
}

/** The usable schema of a published one, noting in problems why it is not usable. */
function usable(published: PublishedSchema, what: string, problems: string[]): JsonSchema | undefined {
  if (published && 'unavailable' in published) problems.push(`${what}: ${published.unavailable}`);
  return published && 'schema' in published ? published.schema : undefined;
}

function describeProcedure(endpoint: EndpointInfo, service: string): ProcedureDescription {
  const metadata = endpoint.instances.find((i) => i.service === service)!.metadata;
  const problems: string[] = [];
  const procedure: ProcedureDescription = {
    name: endpoint.subject.startsWith(`${service}.`) ? endpoint.subject.slice(service.length + 1) : endpoint.subject,
    subject: endpoint.subject,
  };
  if (metadata.description !== undefined) procedure.description = metadata.description;
  if (metadata.parameters !== undefined) procedure.parameters = metadata.parameters;
  if (metadata.access !== undefined) procedure.access = metadata.access;
  if (metadata.http_get !== undefined) procedure.getRoute = metadata.http_get;
  const paramsSchema = usable(parseSchema(metadata.params_schema), 'params_schema', problems);
  const resultSchema = usable(parseSchema(metadata.result_schema), 'result_schema', problems);
  if (paramsSchema) procedure.paramsSchema = paramsSchema;
  if (resultSchema) procedure.resultSchema = resultSchema;
  if (problems.length > 0) procedure.schemaProblem = problems.join('; ');
  return procedure;
}

/** The services behind the given endpoints, sorted by name, their procedures sorted by name. */
export function catalogOf(endpoints: Iterable<EndpointInfo>): ServiceDescription[] {
  const services = new Map<string, { version?: string; description?: string; instances: Set<string>; procedures: ProcedureDescription[] }>();
  for (const endpoint of endpoints) {
    for (const name of endpoint.services) {
      let service = services.get(name);
      if (!service) services.set(name, (service = { instances: new Set(), procedures: [] }));
      for (const instance of endpoint.instances) {
        if (instance.service !== name) continue;
        service.instances.add(instance.id);
        service.version ??= instance.version;
        service.description ??= instance.description;
      }
      service.procedures.push(describeProcedure(endpoint, name));
    }
  }
  return [...services.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => ({
      name,
      ...(s.version !== undefined ? { version: s.version } : {}),
      ...(s.description !== undefined ? { description: s.description } : {}),
      instances: [...s.instances].sort(),
      procedures: s.procedures.sort((a, b) => a.name.localeCompare(b.name)),
    }));
}
