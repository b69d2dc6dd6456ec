// What the service host uses to read the `Mesh-Identity` header: an identity token a gateway minted for the request's
// subject, or a raw NATS caller's own user JWT (verified with the user-token rules). Enforcing access is the host's job.
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';
import type { Identity } from './identity.ts';
import { createTokenVerifier, type TokenVerifier, type VerifiedToken } from './jwt.ts';
import { IDENTITY_HEADER } from '../wire/propagation.ts';
import { createIdentityForwarder, isIdentityToken, meshKeyOf, verifyIdentityToken, type IdentityForwarder } from './mesh-identity.ts';
import { MAX_CREDENTIAL_BYTES } from './authenticator.ts';
import { TokenCache } from './token-cache.ts';

export interface IdentityVerifier {
  /** The identity a header token proves for a message on `subject`, or UNAUTHENTICATED (UNAVAILABLE when a JWKS is down with no keys). */
  verify(token: string, subject: string): Promise<Identity>;
  /** The identity at once when the token was verified before for this subject and has not expired. */
  peek(token: string, subject: string): Identity | undefined;
  /** Mints the token a call or event made from a handler carries on, bound to its own subject; undefined without a mesh key. */
  readonly forwarder: IdentityForwarder | undefined;
}

/** The identity of a verified token on `subject`: an identity token admits only the subject it was minted for. */
function admitted(verified: VerifiedToken, subject: string): Identity {
  if (verified.subject !== undefined && verified.subject !== subject) {
    throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token was minted for another subject`);
  }
  return verified.identity;
}

class HeaderVerifier implements IdentityVerifier {
  private readonly cache: TokenCache;

  constructor(
    private readonly meshKey: Uint8Array | undefined,
    private readonly userTokens: TokenVerifier | undefined,
    cacheSize: number,
    readonly forwarder: IdentityForwarder | undefined,
  ) {
    this.cache = new TokenCache(cacheSize);
  }

  peek(token: string, subject: string): Identity | undefined {
    const cached = this.cache.get(token);
    return cached && (cached.subject === undefined || cached.subject === subject) ? cached.identity : undefined;
  }

  async verify(token: string, subject: string): Promise<Identity> {
    const cached = this.cache.get(token);
    if (cached) return admitted(cached, subject);
    if (token.length > MAX_CREDENTIAL_BYTES) throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token is over ${MAX_CREDENTIAL_BYTES} bytes`);
    let verified: VerifiedToken;
    if (isIdentityToken(token)) {
      if (!this.meshKey) throw new MeshError('UNAUTHENTICATED', `this service cannot verify ${IDENTITY_HEADER}: no auth.meshSecret is configured`);
      verified = verifyIdentityToken(token, this.meshKey, subject);
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
  return new HeaderVerifier(meshKeyOf(auth), createTokenVerifier(auth), auth.tokenCacheSize, createIdentityForwarder(auth));
}
