// Encodes hostile values as JSON text or MessagePack bytes, including what JSON.stringify and @msgpack/msgpack
// refuse to make: 100k-deep nesting and number literals such as 1e400 or -0. For fuzz inputs, not for the mesh.
import { encode } from '@msgpack/msgpack';

/** `depth` arrays nested in one another, the innermost empty. */
export class Nested {
  constructor(readonly depth: number) {}
}

/** A JSON number literal written as it is (`1e400`, `-0`, `1.0`); MessagePack gets Number(text). */
export class NumberLiteral {
  constructor(readonly text: string) {}
}

/** A value written by hand for each serializer: what neither library writes (a 100k-digit integer, bigint map keys). */
export class Written {
  constructor(
    readonly json: string,
    readonly msgpack: Uint8Array,
  ) {}
}

export type Hostile = null | boolean | number | string | Nested | NumberLiteral | Written | Hostile[] | { [key: string]: Hostile };

export function toJson(value: Hostile): string {
  if (value instanceof Nested) return '['.repeat(value.depth) + ']'.repeat(value.depth);
  if (value instanceof NumberLiteral) return value.text;
  if (value instanceof Written) return value.json;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function header(small: number, length: number, u16: number, u32: number): number[] {
  if (length < 16) return [small | length];
  if (length < 0x10000) return [u16, length >> 8, length & 0xff];
  return [u32, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
}

function msgpackParts(value: Hostile, parts: Uint8Array[]): void {
  if (value instanceof Nested) {
    parts.push(new Uint8Array(value.depth).fill(0x91), new Uint8Array([0x90]));
  } else if (value instanceof NumberLiteral) {
    parts.push(encode(Number(value.text)));
  } else if (value instanceof Written) {
    parts.push(value.msgpack);
  } else if (Array.isArray(value)) {
    parts.push(new Uint8Array(header(0x90, value.length, 0xdc, 0xdd)));
    for (const item of value) msgpackParts(item, parts);
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    parts.push(new Uint8Array(header(0x80, entries.length, 0xde, 0xdf)));
    for (const [k, v] of entries) {
      parts.push(encode(k));
      msgpackParts(v, parts);
    }
  } else {
    parts.push(encode(value));
  }
}

export function toMsgpack(value: Hostile): Uint8Array {
  const parts: Uint8Array[] = [];
  msgpackParts(value, parts);
  return Buffer.concat(parts);
}

/** A short, printable description of an input for a failure message: JSON-escaped, cut after `max` characters. */
export function describe(data: string | Uint8Array, max = 300): string {
  const text = typeof data === 'string' ? JSON.stringify(data) : `<${data.length} bytes ${Buffer.from(data.subarray(0, max / 2)).toString('hex')}>`;
  return text.length > max ? `${text.slice(0, max)}... (${typeof data === 'string' ? data.length : data.length} chars/bytes in all)` : text;
}
