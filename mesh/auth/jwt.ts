// Verifies a user's JWT with jose: HS256 with a shared secret, or RS256/ES256/EdDSA with a public key file or a
// JWKS URL. Only the algorithms of the configured key are accepted. It turns a token into an Identity, nothing more.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';
import type { Identity } from './identity.ts';

/** A verified token: who it names, when it stops being valid (ms since the epoch), and the one subject it admits, if bound. */
export interface VerifiedToken {
  identity: Identity;
  expiresAt: number;
  subject?: string;
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** The asymmetric algorithms a JWKS may serve keys for. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/** The one algorithm a public key file allows, from the key's own type (and curve). */
function algorithmOf(key: KeyObject, file: string): string {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
  }
  throw new Error(`auth.jwtPublicKeyFile ${file}: a ${type ?? 'unknown'} key is not supported; use RSA, EC P-256/P-384 or Ed25519`);
}

function readPublicKey(file: string): KeyObject {
  try {
    return createPublicKey(readFileSync(file));
  } catch (err) {
    throw new Error(`auth.jwtPublicKeyFile ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** A claim by dotted path (`realm_access.roles` for Keycloak): a list of role names, none when absent; anything else is refused. */
function rolesOf(payload: JWTPayload, claim: string): string[] {
  let value: unknown = payload;
  for (const key of claim.split('.')) {
    value = typeof value === 'object' && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((role) => typeof role === 'string' && role !== '')) return value;
  throw new MeshError('UNAUTHENTICATED', `the token's ${claim} claim must be a list of role names`);
}

/** A token issued later than now, beyond the clock skew allowed, is refused: no issuer mints tokens ahead of time. */
function refuseFutureIssue(payload: JWTPayload, clockSkewSec: number): void {
  if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + clockSkewSec) {
    throw new MeshError('UNAUTHENTICATED', 'the token is issued in the future (its iat is ahead of this clock by more than auth.clockSkewSec)');
  }
}

/** What a jose failure means to the caller: a fetch of the JWKS that failed is UNAVAILABLE, anything else 401. */
function toMeshError(err: unknown): MeshError {
  if (err instanceof MeshError) return err;
  if (err instanceof errors.JWTExpired) return new MeshError('UNAUTHENTICATED', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new MeshError('UNAUTHENTICATED', err.claim === 'nbf' ? 'the token is not valid yet' : `the token's ${err.claim} claim is not accepted`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new MeshError('UNAUTHENTICATED', "the token's algorithm is not accepted");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new MeshError('UNAUTHENTICATED', 'the token signature is not valid');
  if (err instanceof errors.JWKSNoMatchingKey) return new MeshError('UNAUTHENTICATED', 'no known key signed the token');
  return new MeshError('UNAUTHENTICATED', 'the token is malformed');
}

/** A remote key set whose last keys keep working while the JWKS endpoint is down; no keys at all is UNAVAILABLE. */
function remoteKeys(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      const fetchFailed = !(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err.message.includes('JSON Web Key Set HTTP response');
      if (!fetchFailed) throw err;
      const cached = remote.jwks();
      if (cached) return createLocalJWKSet(cached)(header, token);
      throw new MeshError('UNAVAILABLE', 'the JWKS endpoint is unreachable and no keys are cached', { cause: err });
    }
  };
}

export function createTokenVerifier(auth: AuthConfig): TokenVerifier | undefined {
  const options: JWTVerifyOptions = {
    clockTolerance: auth.clockSkewSec,
    requiredClaims: ['exp', 'sub'],
    ...(auth.jwtIssuer ? { issuer: auth.jwtIssuer } : {}),
    ...(auth.jwtAudience ? { audience: auth.jwtAudience } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if (auth.jwtSecret) {
    const secret = new TextEncoder().encode(auth.jwtSecret);
    verify = async (token) => (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
  } else if (auth.jwtPublicKeyFile) {
    const key = readPublicKey(auth.jwtPublicKeyFile);
    const algorithms = [algorithmOf(key, auth.jwtPublicKeyFile)];
    verify = async (token) => (await jwtVerify(token, key, { ...options, algorithms })).payload;
  } else if (auth.jwksUrl) {
    const keys = remoteKeys(auth.jwksUrl);
    verify = async (token) => (await jwtVerify(token, keys, { ...options, algorithms: JWKS_ALGORITHMS })).payload;
  } else {
    return undefined;
  }
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        payload = await verify(token);
      } catch (err) {
        throw toMeshError(err);
      }
      refuseFutureIssue(payload, auth.clockSkewSec);
      const identity: Identity = Object.freeze({ id: payload.sub!, roles: Object.freeze(rolesOf(payload, auth.rolesClaim)), method: 'jwt' as const });
      return { identity, expiresAt: payload.exp! * 1000 };
    },
  };
}
