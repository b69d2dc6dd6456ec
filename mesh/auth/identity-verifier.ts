// What the service host uses to read the `Mesh-Identity` header: an identity token a gateway minted, or a raw NATS
// caller's own user JWT (verified with the user-token rules). Enforcing a procedure's access is the host's job.
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';
import type { Identity } from './identity.ts';
import { createTokenVerifier, type TokenVerifier, type VerifiedToken } from './jwt.ts';
import { IDENTITY_HEADER } from '../wire/propagation.ts';
import { isIdentityToken, meshKeyOf, verifyIdentityToken } from './mesh-identity.ts';
import { MAX_CREDENTIAL_BYTES } from './authenticator.ts';
import { TokenCache } from './token-cache.ts';

export interface IdentityVerifier {
  /** The identity a header token proves, or UNAUTHENTICATED (UNAVAILABLE when a JWKS is down with no keys). */
  verify(token: string): Promise<Identity>;
  /** The identity at once when the token was verified before and has not expired. */
  peek(token: string): Identity | undefined;
}

class HeaderVerifier implements IdentityVerifier {
  private readonly cache: TokenCache;

  constructor(private readonly meshKey: Uint8Array | undefined, private readonly userTokens: TokenVerifier | undefined, cacheSize: number) {
    this.cache = new TokenCache(cacheSize);
  }

  peek(token: string): Identity | undefined {
    return this.cache.get(token)?.identity;
  }

  async verify(token: string): Promise<Identity> {
    const cached = this.cache.get(token);
    if (cached) return cached.identity;
    if (token.length > MAX_CREDENTIAL_BYTES) throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token is over ${MAX_CREDENTIAL_BYTES} bytes`);
    let verified: VerifiedToken;
    if (isIdentityToken(token)) {
      if (!this.meshKey) throw new MeshError('UNAUTHENTICATED', `this service cannot verify ${IDENTITY_HEADER}: no auth.meshSecret is configured`);
      verified = await verifyIdentityToken(token, this.meshKey);
    } else {
      if (!this.userTokens) throw new MeshError('UNAUTHENTICATED', `this service cannot verify the JWT in ${IDENTITY_HEADER}: no JWT key is configured`);
      verified = await this.userTokens.verify(token);
    }
    this.cache.set(token, verified);
    return verified.identity;
  }
}

/** A verifier from the auth settings; with none configured every header token is refused as unverifiable. */
export function createIdentityVerifier(auth: AuthConfig): IdentityVerifier {
  return new HeaderVerifier(meshKeyOf(auth), createTokenVerifier(auth), auth.tokenCacheSize);
}
