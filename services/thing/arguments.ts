// The checks on thing_service's arguments, made with zod before anything touches the database.
// A failure is an INVALID_ARGUMENT naming the field; missing and unknown arguments are the binder's job, not this one's.
import { z } from 'zod';
import { MeshError } from '../../mesh/index.ts';
import { NAME_MAX_LENGTH } from './thing.ts';

export const MAX_LIMIT = 1000;

const LIMIT_RULE = `must be an integer from 1 to ${MAX_LIMIT}`;
const OFFSET_RULE = 'must be an integer from 0';

/** Trimmed, then 1 to 255 characters (code points, as Postgres's char_length counts them). */
const name = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .refine((value) => [...value].length <= NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`)
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

const limit = z.int({ error: LIMIT_RULE }).min(1, LIMIT_RULE).max(MAX_LIMIT, LIMIT_RULE);

const offset = z.int({ error: OFFSET_RULE }).min(0, OFFSET_RULE);

/** Any 8-4-4-4-12 hex string, as Postgres's uuid type reads it; a well-formed unknown uuid is NOT_FOUND, not malformed. */
const uuid = z.guid({ error: 'must be a UUID such as 123e4567-e89b-12d3-a456-426614174000' });

function check<T>(field: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new MeshError('INVALID_ARGUMENT', `${field} ${result.error.issues[0]?.message ?? 'is not valid'}`);
}

export const parseName = (value: unknown): string => check('name', name, value);
export const parseLimit = (value: unknown): number => check('limit', limit, value);
export const parseOffset = (value: unknown): number => check('offset', offset, value);
export const parseUuid = (value: unknown): string => check('uuid', uuid, value);
