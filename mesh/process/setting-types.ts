// The value types settings are made of (a port, a size, a list, a switch), each reading the string an environment
// variable gives as well as the JSON a config file holds. Shared by the framework's sections and the components'.
import bytes from 'bytes';
import { z } from 'zod';

/** A comma-separated string (as an environment variable gives it) or a list. */
function list<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );
}

/** A size in bytes: a number, or a string such as 1mb or 64kb. */
const byteSize = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = typeof value === 'number' ? value : bytes.parse(value);
  if (parsed === null || !Number.isFinite(parsed) || parsed <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as 1mb or 65536' });
    return z.NEVER;
  }
  return Math.floor(parsed);
});

export const setting = {
  port: z.coerce.number().int().min(0).max(65535),
  positiveInt: z.coerce.number().int().positive(),
  /** Text that is unset (null) unless given. */
  optionalText: z.string().min(1).nullable().default(null),
  /** true or false; an environment variable gives "true", "false", "1" or "0". */
  boolean: z.preprocess((value) => ({ true: true, '1': true, false: false, '0': false })[String(value).toLowerCase()] ?? value, z.boolean()),
  byteSize,
  list,
};
