// The OpenAPI 3.1 document of the gateway, built from the live registry: one POST operation per procedure the viewer may
// call, a GET operation per declared GET route, with the schemas its service publishes, the error model and the auth
// schemes. It describes calls; it does not serve them.
import { ERROR_STATUS, type ProcedureRegistry } from '../mesh/gateway.ts';
import { catalogOf, PACKAGE_VERSION, type ProcedureEntry, type PublishedSchema } from './catalog.ts';
import type { View } from './discovery.ts';
import type { GetRoute, GetRoutes } from './get-routes.ts';

export interface OpenApiOptions {
  registry: ProcedureRegistry;
  getRoutes: GetRoutes;
  /** Credentials are checked: the document lists the bearer and `X-Api-Token` schemes. */
  authenticated: boolean;
}

type Schema = Record<string, unknown>;

const ERROR_RESPONSE = { $ref: '#/components/responses/Error' };

const COMPONENTS = {
  schemas: {
    ErrorCode: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'Stable error code; the HTTP status follows from it.' },
    ErrorDetail: {
      type: 'object',
      required: ['field', 'message'],
      properties: { field: { type: 'string', description: 'Argument name, dotted into nested values' }, message: { type: 'string' } },
    },
    ErrorBody: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message', 'status'],
          properties: {
            code: { $ref: '#/components/schemas/ErrorCode' },
            message: { type: 'string' },
            status: { type: 'integer' },
            details: { type: 'array', items: { $ref: '#/components/schemas/ErrorDetail' } },
            id: { type: 'string', description: 'Identifies this error in the logs' },
          },
        },
      },
    },
  },
  responses: {
    Error: {
      description: 'The call failed: the error body, with the HTTP status of its code',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    },
  },
};

const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key', description: 'Authorization: Bearer <JWT or API key>' },
  apiToken: { type: 'apiKey', in: 'header', name: 'X-Api-Token', description: 'An API key' },
};

/**
 * A published schema placed inside the document: `$schema` dropped (the document's dialect applies), and an `$id`
 * when it has `$defs`, so its own `#/$defs/...` references resolve within it rather than against the document.
 */
function embedded(published: { schema: Schema }, id: string): Schema {
  const { $schema: _dialect, ...schema } = published.schema;
  if (schema.$defs !== undefined && schema.$id === undefined) schema.$id = `urn:nats-mesh:${id}`;
  return schema;
}

/** The schema for one side of a contract, and whether the service's was unusable. */
function sideSchema(published: PublishedSchema, id: string, fallback: Schema): { schema: Schema; unavailable?: string } {
  if (published === undefined) return { schema: fallback };
  if ('unavailable' in published) {
    return { schema: { ...fallback, description: `Schema unavailable: ${published.unavailable}` }, unavailable: published.unavailable };
  }
  return { schema: embedded(published, id) };
}

function operation(procedure: ProcedureEntry, authenticated: boolean): Schema {
  const params = sideSchema(procedure.params, `${procedure.name}:params`, { type: 'object', description: 'Keyword arguments (not declared)' });
  const result = sideSchema(procedure.result, `${procedure.name}:result`, { description: 'The result (not declared)' });
  const request = {
    oneOf: [
      { ...params.schema, title: 'keyword arguments' },
      {
        title: '[args, kwargs]',
        type: 'array',
        maxItems: 2,
        prefixItems: [
          { type: 'array', description: 'Positional arguments, in the order of the keyword form' },
          { type: 'object', description: 'Keyword arguments' },
        ],
      },
    ],
  };
  return {
    operationId: procedure.name,
    ...common(procedure, authenticated, params.unavailable, result),
    requestBody: {
      required: false,
      content: { 'application/json': { schema: request }, 'application/msgpack': { schema: request } },
    },
  };
}

/** What the POST and the GET operation of a procedure share: tags, texts, responses, security. */
function common(procedure: ProcedureEntry, authenticated: boolean, paramsUnavailable: string | undefined, result: { schema: Schema; unavailable?: string }): Schema {
  const unavailable: Record<string, string> = {};
  if (paramsUnavailable) unavailable.params_schema = paramsUnavailable;
  if (result.unavailable) unavailable.result_schema = result.unavailable;
  const notes = Object.entries(unavailable).map(([key, why]) => `${key} unavailable: ${why}.`);
  const op: Schema = {
    tags: [procedure.service],
    summary: procedure.description ?? procedure.name,
    description: [procedure.description, procedure.parameters === undefined ? undefined : `Parameters: ${procedure.parameters}`, ...notes].filter(Boolean).join('\n\n'),
    responses: {
      200: {
        description: 'The reply: [args, kwargs], the result as args[0]',
        content: {
          'application/json': {
            schema: { type: 'array', prefixItems: [{ type: 'array', prefixItems: [result.schema] }, { type: 'object' }] },
          },
        },
      },
      default: ERROR_RESPONSE,
    },
  };
  if (Object.keys(unavailable).length > 0) op['x-schema-unavailable'] = unavailable;
  if (authenticated && procedure.access === 'public') op.security = [{}, { bearer: [] }, { apiToken: [] }];
  return op;
}

/** A property's schema as a parameter's: itself, unless it refers into the published document (`$ref`), which a parameter cannot reach. */
function parameterSchema(property: unknown): Schema {
  if (typeof property !== 'object' || property === null || Array.isArray(property)) return { type: 'string' };
  return JSON.stringify(property).includes('"$ref"') ? { description: 'See the POST operation’s request schema' } : (property as Schema);
}

/**
 * The GET operation of a declared route: its :parameters as path parameters, every other keyword argument the
 * params schema (or the plain parameter list) names as a query parameter; the same responses as the POST.
 */
function getOperation(procedure: ProcedureEntry, route: GetRoute, authenticated: boolean): Schema {
  const published = procedure.params && 'schema' in procedure.params ? procedure.params.schema : undefined;
  // Its own $id: one document may not hold two schema resources under the same one.
  const result = sideSchema(procedure.result, `${procedure.name}:get:result`, { description: 'The result (not declared)' });
  const properties = (published?.properties ?? {}) as Record<string, unknown>;
  const required = new Set(Array.isArray(published?.required) ? (published.required as unknown[]) : []);
  const named = published
    ? Object.keys(properties).map((name) => ({ name, required: required.has(name) }))
    : (procedure.parameters ?? '')
        .split(', ')
        .filter((p) => /^[A-Za-z_$][\w$]*\??$/.test(p))
        .map((p) => ({ name: p.replace(/\?$/, ''), required: !p.endsWith('?') }));
  const inPath = new Set(route.pattern.params);
  const parameters = [
    ...route.pattern.params.map((name) => ({ name, in: 'path', required: true, schema: parameterSchema(properties[name]) })),
    ...named.filter((p) => !inPath.has(p.name)).map((p) => ({ name: p.name, in: 'query', required: p.required, schema: parameterSchema(properties[p.name]) })),
  ];
  return {
    // A space never appears in a procedure name: no GET operation's id is a POST's.
    operationId: `GET ${procedure.name}`,
    ...common(procedure, authenticated, procedure.params && 'unavailable' in procedure.params ? procedure.params.unavailable : undefined, result),
    parameters,
  };
}

/** `/things/:uuid` as an OpenAPI path template, `/things/{uuid}`. */
function pathTemplate(route: GetRoute): string {
  return `/${route.pattern.segments.map((s) => ('param' in s ? `{${s.param}}` : s.literal)).join('/')}`;
}

function buildDocument({ registry, getRoutes, authenticated }: OpenApiOptions, view: View): Schema {
  const services = catalogOf(registry, view.visible);
  const paths: Schema = {};
  const procedures = new Map<string, ProcedureEntry>();
  for (const service of services) {
    for (const procedure of service.procedures) {
      paths[`/${procedure.name}`] = { post: operation(procedure, authenticated) };
      procedures.set(procedure.name, procedure);
    }
  }
  // One GET per path shape: two versions of a procedure may name its parameter differently, and OpenAPI takes one.
  const shapes = new Set<string>();
  for (const route of getRoutes.list()) {
    const procedure = procedures.get(route.procedure);
    if (!procedure || shapes.has(route.pattern.shape)) continue;
    shapes.add(route.pattern.shape);
    paths[pathTemplate(route)] = { get: getOperation(procedure, route, authenticated) };
  }
  const document: Schema = {
    openapi: '3.1.0',
    info: {
      title: 'nats-mesh HTTP gateway',
      version: PACKAGE_VERSION,
      description:
        'Every procedure on the mesh, as its service declares it. POST a JSON object of keyword arguments, or [args, kwargs]; a procedure that declares a GET route also takes its keyword arguments from the path and the query string.',
    },
    tags: services.map((s) => ({ name: s.name, description: [s.description, s.version && `version ${s.version}`].filter(Boolean).join(', ') })),
    paths,
    components: authenticated ? { ...COMPONENTS, securitySchemes: SECURITY_SCHEMES } : COMPONENTS,
  };
  if (authenticated) document.security = [{ bearer: [] }, { apiToken: [] }];
  return document;
}

/** Views whose documents are kept at once; past it they are all built again as they are asked for. */
const KEPT_VIEWS = 256;

/** The document of what a view may see, as JSON text: one per view, built again only when the registry's generation has moved. */
export function createOpenApi(options: OpenApiOptions): (view: View) => string {
  let generation = -1;
  const texts = new Map<string, string>();
  return (view) => {
    if (generation !== options.registry.generation) {
      generation = options.registry.generation;
      texts.clear();
    }
    let text = texts.get(view.key);
    if (text === undefined) {
      if (texts.size >= KEPT_VIEWS) texts.clear();
      texts.set(view.key, (text = JSON.stringify(buildDocument(options, view))));
    }
    return text;
  };
}
