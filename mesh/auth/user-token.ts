// Signs a user JWT with auth.jwtSecret for development and tests (`mesh token`, klue's generate_token).
// Production tokens come from an identity provider; this never signs with a private key.
import { SignJWT } from 'jose';
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';

export interface UserTokenClaims {
  sub: string;
  roles: readonly string[];
  /** Lifetime in seconds. */
  ttlSec: number;
}

const TTL = /^(\d+)\s*([smhd]?)$/;
const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** A lifetime such as 90, 90s, 30m, 1h or 7d, in seconds; INVALID_ARGUMENT otherwise. */
export function parseTtl(text: string): number {
  const match = TTL.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2]!]! : NaN;
  if (!(seconds > 0) || !Number.isSafeInteger(seconds)) {
    throw new MeshError('INVALID_ARGUMENT', `--ttl must be a lifetime such as 90s, 30m, 1h or 7d, got ${JSON.stringify(text)}`);
  }
  return seconds;
}

/** The roles claim by its dotted path: `realm_access.roles` nests the list as Keycloak does. */
function rolesClaim(path: string, roles: readonly string[]): Record<string, unknown> {
  return path.split('.').reduceRight<unknown>((value, key) => ({ [key]: value }), [...roles]) as Record<string, unknown>;
}

export async function signUserToken(auth: AuthConfig, claims: UserTokenClaims): Promise<string> {
  if (!auth.jwtSecret) {
    throw new MeshError('INVALID_ARGUMENT', 'no JWT secret is configured: set AUTH_JWT_SECRET (auth.jwtSecret) to sign tokens with `mesh token`');
  }
  if (claims.sub === '') throw new MeshError('INVALID_ARGUMENT', '--sub must not be empty');
  const now = Math.floor(Date.now() / 1000);
  const token = new SignJWT(rolesClaim(auth.rolesClaim, claims.roles))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + claims.ttlSec);
  if (auth.jwtIssuer) token.setIssuer(auth.jwtIssuer);
  if (auth.jwtAudience) token.setAudience(auth.jwtAudience);
  return token.sign(new TextEncoder().encode(auth.jwtSecret));
}
