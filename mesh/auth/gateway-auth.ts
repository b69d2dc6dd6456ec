// Everything a gateway needs to authenticate, authorize and forward identities, built once from the auth settings.
// Undefined when nothing is configured: the gateway then skips every auth step and forwards no identity.
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';
import { createAuthenticator, isJwtShaped, type Authenticator } from './authenticator.ts';
import { createFailureLimit, type FailureLimit } from './failure-limit.ts';
import { anonymousIdentity, type Identity } from './identity.ts';
import { createIdentityForwarder, type IdentityForwarder } from './mesh-identity.ts';
import { loadPolicy, type Policy } from './policy.ts';

export interface GatewayAuth {
  authenticator: Authenticator;
  policy: Policy;
  /** The identity of a caller who presents no credential. */
  anonymous: Identity;
  /** Mints the `Mesh-Identity` headers; undefined when no mesh key is configured. */
  forwarder: IdentityForwarder | undefined;
  /**
   * The identity a credential proves for a client at `address`: a cached token or a known API key at once; any other
   * credential is refused (RateLimitedError, 429) while the address has used its failures (auth.failuresPerAddress),
   * else verified, each UNAUTHENTICATED counted against it. `apiKeyOnly` (the `X-Api-Token` header) refuses a JWT.
   */
  identify(credential: string, address: string, apiKeyOnly?: boolean): Identity | Promise<Identity>;
}

async function verifyCounted(authenticator: Authenticator, failures: FailureLimit, credential: string, address: string, apiKeyOnly: boolean): Promise<Identity> {
  const refusal = await failures.refusal(address);
  if (refusal) throw refusal;
  try {
    if (apiKeyOnly && isJwtShaped(credential)) throw new MeshError('UNAUTHENTICATED', 'X-Api-Token takes an API key; send a JWT as "Authorization: Bearer <token>"');
    return await authenticator.authenticate(credential);
  } catch (err) {
    if (err instanceof MeshError && err.code === 'UNAUTHENTICATED') await failures.count(address);
    throw err;
  }
}

/** `Bearer <token>`, the token in the first group. */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The credential of an `Authorization: Bearer <JWT or API key>` header; UNAUTHENTICATED for any other scheme. */
export function bearerCredential(authorization: string): string {
  const bearer = BEARER.exec(authorization);
  if (!bearer) throw new MeshError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token or API key>"');
  return bearer[1]!;
}

/** The gateway's auth, or undefined with no JWT key, API keys, policy or mesh secret configured. */
export function createGatewayAuth(auth: AuthConfig): GatewayAuth | undefined {
  const authenticator = createAuthenticator(auth);
  const policy = loadPolicy(auth.policyFile);
  const forwarder = createIdentityForwarder(auth);
  if (!authenticator.configured && !policy.configured && !forwarder) return undefined;
  const failures = createFailureLimit(auth.failuresPerAddress, auth.failureWindowS);
  return {
    authenticator,
    policy,
    anonymous: anonymousIdentity(policy.anonymousRole),
    forwarder,
    // Through `this`, so a copy with another authenticator (`{ ...auth, authenticator }`) uses that one.
    identify(this: GatewayAuth, credential, address, apiKeyOnly = false) {
      const known = apiKeyOnly && isJwtShaped(credential) ? undefined : this.authenticator.peek(credential);
      return known ?? verifyCounted(this.authenticator, failures, credential, address, apiKeyOnly);
    },
  };
}
