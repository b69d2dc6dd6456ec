// TypeScript type text from JSON Schema, for generated clients: the subset zod 4 emits (object, properties,
// required, type, enum, const, array, items, anyOf, oneOf, default, nullable). Anything else becomes `unknown`; it validates nothing.
import type { JsonSchema } from '../calling/catalog.ts';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property or parameter name as TypeScript accepts it: bare when an identifier, else a JSON string. */
export function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function union(types: string[]): string {
  const distinct = [...new Set(types)];
  if (distinct.includes('unknown')) return 'unknown';
  return distinct.length === 0 ? 'never' : distinct.join(' | ');
}

function literal(value: unknown): string {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) ? JSON.stringify(value) : 'unknown';
}

/** The properties of an object schema, each optional unless `required` names it. */
export function objectMembers(schema: JsonSchema, depth = 0): { key: string; name: string; type: string; optional: boolean }[] {
  const properties = isSchema(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
  return Object.entries(properties).map(([name, property]) => ({
    key: propertyKey(name),
    name,
    type: schemaToType(property, depth + 1),
    optional: !required.includes(name),
  }));
}

function objectType(schema: JsonSchema, depth: number): string {
  const members = objectMembers(schema, depth).map((m) => `${m.key}${m.optional ? '?' : ''}: ${m.type}`);
  const extra = schema.additionalProperties;
  if (isSchema(extra)) members.push(`[key: string]: ${schemaToType(extra, depth + 1)}`);
  if (members.length === 0) return 'Record<string, unknown>';
  return `{ ${members.join('; ')} }`;
}

function typeOfName(name: unknown, schema: JsonSchema, depth: number): string {
  switch (name) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      if (Array.isArray(schema.prefixItems)) return `[${schema.prefixItems.map((item) => schemaToType(item, depth + 1)).join(', ')}]`;
      const item = isSchema(schema.items) ? schemaToType(schema.items, depth + 1) : 'unknown';
      return /[|&]/.test(item) ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      return objectType(schema, depth);
    default:
      return 'unknown';
  }
}

/** The TypeScript type text of a schema; `unknown` for anything outside the subset, or nested too deep. */
export function schemaToType(schema: unknown, depth = 0): string {
  if (schema === true) return 'unknown';
  if (!isSchema(schema) || depth > 32) return 'unknown';
  let type: string;
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    type = union(((schema.anyOf ?? schema.oneOf) as unknown[]).map((s) => schemaToType(s, depth + 1)));
  } else if (Array.isArray(schema.enum)) {
    type = union(schema.enum.map(literal));
  } else if ('const' in schema) {
    type = literal(schema.const);
  } else if (Array.isArray(schema.type)) {
    type = union(schema.type.map((name) => typeOfName(name, schema, depth)));
  } else if (schema.type !== undefined) {
    type = typeOfName(schema.type, schema, depth);
  } else if (isSchema(schema.properties)) {
    type = objectType(schema, depth);
  } else {
    return 'unknown';
  }
  return schema.nullable === true && type !== 'unknown' ? union([type, 'null']) : type;
}
