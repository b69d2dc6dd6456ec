// Everything a gateway needs to authenticate, authorize and forward identities, built once from the auth settings.
// Undefined when nothing is configured: the gateway then skips every auth step and forwards no identity.
import type { AuthConfig } from '../process/config.ts';
import { createAuthenticator, type Authenticator } from './authenticator.ts';
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
}

/** The gateway's auth, or undefined with no JWT key, API keys, policy or mesh secret configured. */
export function createGatewayAuth(auth: AuthConfig): GatewayAuth | undefined {
  const authenticator = createAuthenticator(auth);
  const policy = loadPolicy(auth.policyFile);
  const forwarder = createIdentityForwarder(auth);
  if (!authenticator.configured && !policy.configured && !forwarder) return undefined;
  return { authenticator, policy, anonymous: anonymousIdentity(policy.anonymousRole), forwarder };
}
