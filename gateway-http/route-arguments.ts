// A GET route's keyword arguments: its path parameters (percent-decoded) and its query string, each value text, made
// a number, a boolean or a list where the procedure's published params schema says so. The procedure's contract judges them.
import { MeshError, quoteName, type Codec, type Kwargs } from '../mesh/gateway.ts';
import type { RouteMatch } from './get-routes.ts';
import type { GatewayContext } from './context.ts';

/** What a text value may become, by the JSON types a params schema gives its property. */
export interface ValueKind {
  /** The property takes text (or says nothing of its type): the value stays as it came. */
  readonly text: boolean;
  readonly number: boolean;
  readonly boolean: boolean;
  /** The property takes a list: of values of this kind. */
  readonly list: ValueKind | undefined;
}

const TEXT: ValueKind = { text: true, number: false, boolean: false, list: undefined };

/** How deep anyOf/oneOf/allOf and lists are followed in a schema a service published (nothing in it is trusted). */
const MAX_SCHEMA_DEPTH = 4;

/** JSON's number grammar: what a service in any language reads as a number. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

function kindOf(schema: unknown, depth: number): ValueKind {
  const types = new Set<string>();
  let items: unknown;
  const visit = (node: unknown, level: number) => {
    if (!isTree(node) || level > MAX_SCHEMA_DEPTH) return;
    for (const type of Array.isArray(node.type) ? node.type : [node.type]) if (typeof type === 'string') types.add(type);
    items ??= node.items;
    for (const key of ['anyOf', 'oneOf', 'allOf']) {
      const members = node[key];
      if (Array.isArray(members)) for (const member of members) visit(member, level + 1);
    }
  };
  visit(schema, 0);
  if (types.size === 0 || types.has('string')) return TEXT;
  return {
    text: false,
    number: types.has('number') || types.has('integer'),
    boolean: types.has('boolean'),
    list: types.has('array') && depth < MAX_SCHEMA_DEPTH ? kindOf(items, depth + 1) : undefined,
  };
}

/** The kind of each property of a params schema that does not take text; none without a schema. */
export function valueKinds(schema: Readonly<Tree> | undefined): ReadonlyMap<string, ValueKind> {
  const kinds = new Map<string, ValueKind>();
  const properties = schema?.properties;
  if (!isTree(properties)) return kinds;
  for (const [key, property] of Object.entries(properties)) {
    const kind = kindOf(property, 0);
    if (!kind.text) kinds.set(key, kind);
  }
  return kinds;
}

/**
 * One text as its kind wants it: a JSON number that fits a double exactly (an integer past 2^53 stays text), `true`
 * or `false`, or a one-item list; anything else stays text, for the contract to refuse in its own words.
 */
function convert(text: string, kind: ValueKind): unknown {
  if (kind.number && JSON_NUMBER.test(text)) {
    const value = Number(text);
    if (Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return value;
  }
  if (kind.boolean && (text === 'true' || text === 'false')) return text === 'true';
  if (kind.list) return [convert(text, kind.list)];
  return text;
}

function valueOf(texts: string[], kind: ValueKind | undefined): unknown {
  if (!kind) return texts.length === 1 ? texts[0] : texts;
  if (texts.length === 1) return convert(texts[0]!, kind);
  // A repeated key is a list; for a property that takes no list it stays one, and the contract refuses it.
  return texts.map((text) => (kind.list ? convert(text, kind.list) : text));
}

/** The path parameter's text: percent-decoded, or INVALID_ARGUMENT when the encoding is broken. */
function decodeParam(name: string, raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new MeshError('INVALID_ARGUMENT', `the path's :${name} is not valid percent-encoding`);
  }
}

/** The keyword arguments of a GET route's request: its path parameters, then its query string; a name given twice is refused. */
export function routeKwargs({ route, params }: RouteMatch, querystring: string): Kwargs {
  const texts = new Map<string, string[]>();
  for (const name of route.pattern.params) texts.set(name, [decodeParam(name, params[name]!)]);
  for (const [key, value] of new URLSearchParams(querystring)) {
    if (route.pattern.params.includes(key)) throw new MeshError('INVALID_ARGUMENT', `${quoteName(key)} is given by the path; the query string may not give it again`);
    const list = texts.get(key);
    if (list) list.push(value);
    else texts.set(key, [value]);
  }
  return Object.fromEntries([...texts].map(([key, list]) => [key, valueOf(list, route.kinds.get(key))]));
}

/** A GET route's request as the NATS request's body, `[[], kwargs]`; a request body is refused, not ignored. */
export function routeBody(ctx: GatewayContext, match: RouteMatch, codec: Codec): Buffer {
  if ((ctx.request.length ?? 0) > 0 || ctx.get('Transfer-Encoding')) {
    throw new MeshError('INVALID_ARGUMENT', 'a GET route takes its arguments from the path and the query string, not from a body');
  }
  return Buffer.from(codec.encode([[], routeKwargs(match, ctx.querystring)]));
}
