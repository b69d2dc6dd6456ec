// `mesh client --out mesh-client.ts`: a typed TypeScript module from the live catalog, for Node over NATS (nats-mesh's
// createClient), browsers over HTTP fetch to gateway-http, or an Autobahn session over WAMP. It only writes text.
import type { JsonSchema, ProcedureDescription, ServiceDescription } from '../calling/catalog.ts';
import { objectMembers, propertyKey, schemaToType } from './schema-types.ts';

export type ClientTarget = 'node' | 'http' | 'wamp';

function typeName(service: string): string {
  const words = service.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return /^[A-Za-z]/.test(name) ? name : `S${name}`;
}

function comment(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text.replace(/\*\//g, '* /').replace(/\s+/g, ' ')} */\n` : '';
}

/** A parameter whose value is an object: given last, the runtime (as createClient's) sends it as keyword arguments. */
function objectLike(type: string): boolean {
  return type.startsWith('{') || type.startsWith('Record<');
}

/**
 * The overloads of one procedure, as the runtime binds a call: leading positionals, then optionally one object of
 * keyword arguments. A call that would end with an object-typed positional is left out (its object would be sent as
 * keyword arguments and refused), so `welcome('P', 3, { city: 'Rome' })` does not compile where `options` is the
 * third parameter; `welcome('P', 3, { options: { city: 'Rome' } })` does.
 */
function signatures(procedure: ProcedureDescription): string[] {
  const result = `Promise<${procedure.resultSchema ? schemaToType(procedure.resultSchema) : 'unknown'}>`;
  const params: JsonSchema | undefined = procedure.paramsSchema?.type === 'object' ? procedure.paramsSchema : undefined;
  if (!params) return [`(...args: unknown[]): ${result}`];
  const members = objectMembers(params);
  const positional = (count: number) => members.slice(0, count).map((m, i) => `${IDENTIFIER.test(m.name) && !RESERVED.has(m.name) ? m.name : `arg${i}`}: ${m.type}`);
  const kwargs = (from: number) =>
    `kwargs: { ${members
      .slice(from)
      .map((m) => `${m.key}${m.optional ? '?' : ''}: ${m.type}`)
      .join('; ')} }`;
  const overloads: string[] = [];
  for (let count = 0; count <= members.length; count++) {
    const restOptional = members.slice(count).every((m) => m.optional);
    if (restOptional && (count === 0 || !objectLike(members[count - 1]!.type))) overloads.push(`(${positional(count).join(', ')}): ${result}`);
  }
  for (let from = 0; from < members.length; from++) overloads.push(`(${[...positional(from), kwargs(from)].join(', ')}): ${result}`);
  return overloads;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED = new Set([
  'kwargs',
  'this',
  'new',
  'class',
  'function',
  'default',
  'delete',
  'in',
  'var',
  'let',
  'const',
  'return',
  'typeof',
  'void',
  'null',
  'true',
  'false',
  'if',
  'else',
  'for',
  'while',
  'do',
  'switch',
  'case',
  'break',
  'continue',
  'try',
  'catch',
  'finally',
  'throw',
  'with',
  'yield',
  'await',
  'enum',
  'export',
  'import',
  'extends',
  'super',
  'instanceof',
]);

function serviceInterface(service: ServiceDescription): string {
  let text = comment([service.description, service.version && `version ${service.version}`].filter(Boolean).join(', '), '');
  text += `export interface ${typeName(service.name)} {\n`;
  for (const procedure of service.procedures) {
    const note = procedure.schemaProblem ? `${procedure.description ?? ''} (untyped: ${procedure.schemaProblem})` : procedure.description;
    for (const signature of signatures(procedure)) text += `${comment(note, '  ')}  ${propertyKey(procedure.name)}${signature};\n`;
  }
  return `${text}}\n`;
}

const RESULT_OF = `/** A [[value], {}] reply gives the value, [[], {}] undefined; several values or keyword results give [args, kwargs]. */
function resultOf(args: unknown[], kwargs: Record<string, unknown>): unknown {
  return Object.keys(kwargs).length > 0 || args.length > 1 ? [args, kwargs] : args[0];
}

function splitArguments(given: unknown[]): [unknown[], Record<string, unknown>] {
  const last = given[given.length - 1];
  const plain = typeof last === 'object' && last !== null && !Array.isArray(last) && [null, Object.prototype].includes(Object.getPrototypeOf(last));
  return plain ? [given.slice(0, -1), last as Record<string, unknown>] : [given, {}];
}

function proxies(call: (procedure: string, args: unknown[], kwargs: Record<string, unknown>) => Promise<unknown>): Mesh {
  const services: Record<string, Record<string, unknown>> = {};
  for (const [service, methods] of Object.entries(PROCEDURES)) {
    const object: Record<string, unknown> = (services[service] = {});
    for (const method of methods) object[method] = (...given: unknown[]) => call(\`\${service}.\${method}\`, ...splitArguments(given));
  }
  return services as unknown as Mesh;
}
`;

function runtime(target: ClientTarget, importFrom: string): string {
  if (target === 'node') {
    return `import type { NatsConnection } from '@nats-io/transport-node';
import { createClient, type MeshClient } from ${JSON.stringify(importFrom)};

/** A nats-mesh client on the connection (which the caller owns and closes) with every service as a typed property. */
export function createMeshClient(nc: NatsConnection, options: { timeoutMs?: number; namespace?: string | null } = {}): MeshClient & Mesh {
  const client = createClient(nc, options);
  const call = (procedure: string, args: unknown[], kwargs: Record<string, unknown>) => client.call(procedure, args, kwargs).then(([a, k]) => resultOf(a, k));
  return Object.assign(proxies(call), {
    call: client.call.bind(client),
    stream: client.stream.bind(client),
    publish: client.publish.bind(client),
    close: client.close.bind(client),
  });
}
`;
  }
  if (target === 'http') {
    return `/** The error an error reply carries: its code, message and field-level details. */
export class MeshCallError extends Error {
  constructor(readonly code: string, message: string, readonly details: { field: string; message: string }[] | undefined, readonly status: number) {
    super(message);
  }
}

/** Every service as a typed property, calling gateway-http with fetch: \`createMeshClient('http://localhost:8080')\`. */
export function createMeshClient(baseUrl: string, options: { headers?: Record<string, string> } = {}): Mesh {
  return proxies(async (procedure, args, kwargs) => {
    const response = await fetch(\`\${baseUrl.replace(/\\/$/, '')}/\${procedure}\`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify([args, kwargs]),
    });
    const body = (await response.json()) as unknown;
    if (!response.ok || !Array.isArray(body)) {
      const error = (body as { error?: { code?: string; message?: string; details?: { field: string; message: string }[] } }).error ?? {};
      throw new MeshCallError(error.code ?? 'INTERNAL', error.message ?? response.statusText, error.details, response.status);
    }
    const [resultArgs = [], resultKwargs = {}] = body as [unknown[]?, Record<string, unknown>?];
    return resultOf(resultArgs, resultKwargs);
  });
}
`;
  }
  return `/** What this module needs of an Autobahn|JS session. */
export interface WampSession {
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>): PromiseLike<unknown>;
}

/** Every service as a typed property, calling over an open Autobahn session (its Result split like any reply). */
export function createMeshClient(session: WampSession): Mesh {
  return proxies(async (procedure, args, kwargs) => {
    const result = (await session.call(procedure, args, kwargs)) as { args?: unknown[]; kwargs?: Record<string, unknown> } | unknown;
    // Autobahn resolves a single value as itself and anything else as an instance of its Result class.
    if (typeof result === 'object' && result !== null && !Array.isArray(result) && Object.getPrototypeOf(result) !== Object.prototype && 'args' in result) {
      const { args: a = [], kwargs: k = {} } = result as { args?: unknown[]; kwargs?: Record<string, unknown> };
      return resultOf(a, k);
    }
    return result;
  });
}
`;
}

/** The generated module's text. */
export function generateClient(services: ServiceDescription[], options: { target: ClientTarget; importFrom?: string; generatedAt?: Date }): string {
  const header = `// Generated by \`mesh client --target ${options.target}\` from the mesh's $SRV.INFO${options.generatedAt ? ` on ${options.generatedAt.toISOString()}` : ''}.
// Typed calls to ${services.length} service(s); do not edit: run the command again when contracts change.
`;
  const interfaces = services.map(serviceInterface).join('\n');
  const mesh = `/** The services by name. */\nexport interface Mesh {\n${services.map((s) => `  readonly ${propertyKey(s.name)}: ${typeName(s.name)};\n`).join('')}}\n`;
  const procedures = `const PROCEDURES: Record<string, string[]> = ${JSON.stringify(Object.fromEntries(services.map((s) => [s.name, s.procedures.map((p) => p.name)])))};\n`;
  return [header, interfaces, mesh, procedures, RESULT_OF, runtime(options.target, options.importFrom ?? 'nats-mesh')].join('\n');
}
