// thing_service's declared parameters and results, as zod schemas that @rpc checks before anything touches the database.
// A failure is an INVALID_ARGUMENT naming the field (the host does it); no procedure checks its arguments itself.
import { z } from '../../mesh/index.ts';
import { NAME_MAX_LENGTH } from './thing.ts';

export const MAX_LIMIT = 1000;

const LIMIT_RULE = `must be an integer from 1 to ${MAX_LIMIT}`;
const OFFSET_RULE = 'must be an integer from 0';
const UUID_RULE = 'must be a UUID such as 123e4567-e89b-12d3-a456-426614174000';

/** A message for a value of the wrong kind; a missing value keeps the host's "is required". */
function unlessMissing(message: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? undefined : message) };
}

/** Trimmed, then 1 to 255 characters (code points, as Postgres's char_length counts them). */
const name = z
  .string(unlessMissing('must be a string'))
  .trim()
  .min(1, 'must not be empty')
  .refine((value) => [...value].length <= NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`)
  .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

const limit = z.int({ error: LIMIT_RULE }).min(1, LIMIT_RULE).max(MAX_LIMIT, LIMIT_RULE);

const offset = z.int({ error: OFFSET_RULE }).min(0, OFFSET_RULE);

/** Any 8-4-4-4-12 hex string, as Postgres's uuid type reads it; a well-formed unknown uuid is NOT_FOUND, not malformed. */
const uuid = z.guid(unlessMissing(UUID_RULE));

export const thingJson = z.object({ uuid: z.string(), name: z.string(), is_created_at: z.iso.datetime() });

export const createThingParams = z.object({ name });
export const getThingsParams = z.object({ limit: limit.default(100), offset: offset.default(0) });
export const uuidParams = z.object({ uuid });
