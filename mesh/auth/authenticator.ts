// Turns a credential (a JWT or an API key) into a verified Identity, or a MeshError: UNAUTHENTICATED for every
// bad credential, UNAVAILABLE when the JWKS is unreachable. What the identity may do is policy.ts's question.
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';
import { hashApiKey, loadApiKeys, type ApiKeys } from './api-keys.ts';
import type { Identity } from './identity.ts';
import { createTokenVerifier, type TokenVerifier } from './jwt.ts';
import { TokenCache } from './token-cache.ts';

export interface Authenticator {
  /** The identity a credential proves; rejects with UNAUTHENTICATED (or UNAVAILABLE: JWKS down, no keys cached). */
  authenticate(credential: string): Promise<Identity>;
  /** The identity at once when it needs no signature check (a cached token, an API key); else undefined. */
  peek(credential: string): Identity | undefined;
  /** False when no JWT key and no API key is configured: every credential is then refused. */
  readonly configured: boolean;
}

/** Longer credentials are refused before any parsing: no real JWT or API key comes near it. */
export const MAX_CREDENTIAL_BYTES = 8192;

/** Three base64url segments: the compact JWS form. Anything else is taken for an API key. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** Whether a credential has the form of a JWT (else it is taken for an API key). */
export function isJwtShaped(credential: string): boolean {
  return credential.length <= MAX_CREDENTIAL_BYTES && JWT_SHAPE.test(credential);
}

class CredentialAuthenticator implements Authenticator {
  private readonly cache: TokenCache;

  constructor(
    private readonly tokens: TokenVerifier | undefined,
    private readonly apiKeys: ApiKeys,
    cacheSize: number,
  ) {
    this.cache = new TokenCache(cacheSize);
  }

  get configured(): boolean {
    return this.tokens !== undefined || this.apiKeys.size > 0;
  }

  peek(credential: string): Identity | undefined {
    if (credential.length > MAX_CREDENTIAL_BYTES) return undefined;
    if (JWT_SHAPE.test(credential)) return this.cache.get(credential)?.identity;
    return this.apiKeys.size > 0 ? this.apiKeys.get(hashApiKey(credential)) : undefined;
  }

  async authenticate(credential: string): Promise<Identity> {
    if (credential.length > MAX_CREDENTIAL_BYTES) throw new MeshError('UNAUTHENTICATED', `the credential is over ${MAX_CREDENTIAL_BYTES} bytes`);
    if (!JWT_SHAPE.test(credential)) {
      const identity = this.apiKeys.size > 0 ? this.apiKeys.get(hashApiKey(credential)) : undefined;
      if (!identity) throw new MeshError('UNAUTHENTICATED', this.apiKeys.size > 0 ? 'unknown API key' : 'the credential is not a JWT and no API keys are configured');
      return identity;
    }
    const cached = this.cache.get(credential);
    if (cached) return cached.identity;
    if (!this.tokens) throw new MeshError('UNAUTHENTICATED', 'JWTs are not accepted: no JWT key is configured');
    const verified = await this.tokens.verify(credential);
    this.cache.set(credential, verified);
    return verified.identity;
  }
}

export function createAuthenticator(auth: AuthConfig): Authenticator {
  const apiKeys = auth.apiKeysFile ? loadApiKeys(auth.apiKeysFile) : new Map<string, Identity>();
  return new CredentialAuthenticator(createTokenVerifier(auth), apiKeys, auth.tokenCacheSize);
}
