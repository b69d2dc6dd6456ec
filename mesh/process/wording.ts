// zod's issues in the house wording every caller sees, whatever its language: "is required", "must be a string, got
// number", "must be at least 0". Used where a schema judges input: a contract's arguments, a declaration, a setting.
import type { z } from 'zod';

/** The JSON type of a value, as a caller in any language would name it; a number that is not finite, by its value. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

const EXPECTED_PHRASES: Partial<Record<string, string>> = { int: 'an integer', null: 'null' };

/** What a size counts, by the kind of value checked: "must have at least 2 characters". */
const UNITS: Partial<Record<string, string>> = { string: 'character', array: 'item', set: 'item', file: 'byte' };

function plural(n: number | bigint, unit: string): string {
  return `${n} ${unit}${Number(n) === 1 ? '' : 's'}`;
}

/** A bound in the house wording: "must be at least 0", "must have at most 3 items", "must be after 2024-01-01T00:00:00.000Z". */
function bound(origin: string, limit: number | bigint, inclusive: boolean | undefined, low: boolean): string {
  if (origin === 'date') return `must be ${low ? (inclusive ? 'on or after' : 'after') : inclusive ? 'on or before' : 'before'} ${new Date(Number(limit)).toISOString()}`;
  const word = low ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  const unit = UNITS[origin];
  return unit ? `must have ${word} ${plural(limit, unit)}` : `must be ${word} ${limit}`;
}

const FORMAT_PHRASES: Partial<Record<string, string>> = {
  email: 'an email address',
  url: 'a URL',
  uuid: 'a UUID',
  guid: 'a GUID',
  datetime: 'an ISO 8601 date and time',
  date: 'an ISO 8601 date',
  time: 'an ISO 8601 time',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
};

/**
 * Messages for the checks a schema leaves to zod's defaults, in the house wording every caller sees, whatever its
 * language: "is required", "must be a string, got number", "must be at least 0", "must be one of "a", "b"".
 * A message the schema gives itself (`z.string().min(1, 'must not be empty')`) wins over these. Passed at our parse
 * site only: zod's global configuration, which the application may use too, is left alone.
 */
export const houseMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = EXPECTED_PHRASES[issue.expected] ?? `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
      // z.coerce.number() turns text that is not a number into NaN: the caller's value is gone, only the rule is left.
      if (Number.isNaN(issue.input)) return `must be ${expected}`;
      return `must be ${expected}, got ${jsonType(issue.input)}`;
    }
    case 'too_small':
      return bound(issue.origin, issue.minimum, issue.inclusive, true);
    case 'too_big':
      return bound(issue.origin, issue.maximum, issue.inclusive, false);
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format': {
      if (issue.format === 'regex' && 'pattern' in issue) return `must match ${String(issue.pattern)}`;
      if (issue.format === 'starts_with' && 'prefix' in issue) return `must start with ${JSON.stringify(issue.prefix)}`;
      if (issue.format === 'ends_with' && 'suffix' in issue) return `must end with ${JSON.stringify(issue.suffix)}`;
      if (issue.format === 'includes' && 'includes' in issue) return `must include ${JSON.stringify(issue.includes)}`;
      return `must be ${FORMAT_PHRASES[issue.format] ?? `a valid ${issue.format}`}`;
    }
    case 'unrecognized_keys':
      return `has unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed forms';
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has a value that is not allowed';
    default:
      return 'is not valid';
  }
};
