// API keys, configured hashed: a JSON or YAML file of {id, sha256, roles}, where sha256 is the hex SHA-256 of the
// key (`mesh apikey hash <key>`). It finds the key a caller presents; it never stores or logs the key itself.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Identity } from './identity.ts';
import { readStructuredFile } from './structured-file.ts';

const apiKeyEntry = z.strictObject({
  id: z.string().min(1),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'must be the hex SHA-256 of the key (mesh apikey hash <key>)')
    .transform((h) => h.toLowerCase()),
  roles: z.array(z.string().min(1)).default([]),
});

const apiKeysFile = z.union([z.array(apiKeyEntry), z.strictObject({ keys: z.array(apiKeyEntry) }).transform((f) => f.keys)]);

/** The hex SHA-256 of an API key: what the keys file holds. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random API key (32 bytes, base64url), prefixed so it is never mistaken for a JWT. */
export function newApiKey(): string {
  return `mk_${randomBytes(32).toString('base64url')}`;
}

export type ApiKeys = ReadonlyMap<string, Identity>;

/** API key identities by the hash of their key. */
export function loadApiKeys(file: string): ApiKeys {
  const parsed = apiKeysFile.safeParse(readStructuredFile(file, 'auth.apiKeysFile'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`auth.apiKeysFile ${file}: ${issue.path.join('.') || 'file'}: ${issue.message}; expected a list of {id, sha256, roles}`);
  }
  const keys = new Map<string, Identity>();
  for (const entry of parsed.data) {
    keys.set(entry.sha256, Object.freeze({ id: entry.id, roles: Object.freeze(entry.roles), method: 'api_key' as const }));
  }
  return keys;
}
