// Authentication and authorization for gateways and the service host: identities, credentials, the policy and the
// identity token on NATS. Gateways import from here; a service author needs only currentCall() and @rpc options.
export { anonymousIdentity, hasAnyRole, ANONYMOUS_ID, type AuthMethod, type Identity } from './identity.ts';
export { createAuthenticator, MAX_CREDENTIAL_BYTES, type Authenticator } from './authenticator.ts';
export { hashApiKey, newApiKey, loadApiKeys } from './api-keys.ts';
export { loadPolicy, policyFrom, ACTIONS, type Action, type Match, type Policy, type PolicyDefinition } from './policy.ts';
export { createIdentityForwarder, mintIdentityToken, verifyIdentityToken, meshKeyOf, type IdentityForwarder } from './mesh-identity.ts';
export { IDENTITY_HEADER } from '../wire/propagation.ts';
export { createIdentityVerifier, type IdentityVerifier } from './identity-verifier.ts';
export { createTokenVerifier, type TokenVerifier, type VerifiedToken } from './jwt.ts';
export { bearerCredential, createGatewayAuth, type GatewayAuth } from './gateway-auth.ts';
export { signUserToken, parseTtl, type UserTokenClaims } from './user-token.ts';
