// The identity a gateway forwards on NATS: a short-lived HS256 token in the `Mesh-Identity` header, minted with
// auth.meshSecret, so a service can verify who called and a raw NATS client cannot claim to be someone else.
import { hkdfSync } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { CONTENT_TYPE_HEADER } from '../wire/codec.ts';
import type { AuthConfig } from '../process/config.ts';
import { MeshError } from '../wire/errors.ts';
import { IDENTITY_HEADER } from '../wire/propagation.ts';
import type { AuthMethod, Identity } from './identity.ts';
import type { VerifiedToken } from './jwt.ts';

/** The issuer of every identity token: how the service host tells one from a user's own JWT. */
export const IDENTITY_ISSUER = 'nats-mesh';
const IDENTITY_AUDIENCE = 'nats-mesh-service';
const METHODS = new Set<AuthMethod>(['jwt', 'api_key', 'anonymous']);

/**
 * The key identity tokens are signed with: auth.meshSecret, else one derived from auth.jwtSecret (HKDF), so a
 * development mesh with only AUTH_JWT_SECRET works; never the JWT secret itself.
 */
export function meshKeyOf(auth: AuthConfig): Uint8Array | undefined {
  if (auth.meshSecret) return new TextEncoder().encode(auth.meshSecret);
  if (auth.jwtSecret) return new Uint8Array(hkdfSync('sha256', auth.jwtSecret, 'nats-mesh', 'identity token key', 32));
  return undefined;
}

export async function mintIdentityToken(identity: Identity, key: Uint8Array, ttlSec: number): Promise<string> {
  return new SignJWT({ roles: [...identity.roles], amr: identity.method })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity.id)
    .setIssuer(IDENTITY_ISSUER)
    .setAudience(IDENTITY_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSec)
    .sign(key);
}

/** The identity an identity token carries; UNAUTHENTICATED when it is not one this key signed, or expired. */
export async function verifyIdentityToken(token: string, key: Uint8Array, clockSkewSec = 5): Promise<VerifiedToken> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: IDENTITY_ISSUER,
      audience: IDENTITY_AUDIENCE,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: clockSkewSec,
    }));
  } catch {
    throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token is not valid: not signed with this mesh's secret, or expired`);
  }
  const { roles, amr } = payload;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string') || !METHODS.has(amr as AuthMethod)) {
    throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token does not carry roles and a method`);
  }
  const identity: Identity = Object.freeze({ id: payload.sub!, roles: Object.freeze(roles as string[]), method: amr as AuthMethod });
  return { identity, expiresAt: payload.exp! * 1000 };
}

/** Whether a token claims to be an identity token (by its unverified issuer); a malformed token is not. */
export function isIdentityToken(token: string): boolean {
  try {
    return decodeJwt(token).iss === IDENTITY_ISSUER;
  } catch {
    return false;
  }
}

export interface IdentityForwarder {
  /** Request headers carrying the identity (and the Content-Type, when given), when a fresh token is cached. */
  peek(identity: Identity, contentType?: string): MsgHdrs | undefined;
  /** Request headers carrying the identity, minting a token when none is fresh. */
  headers(identity: Identity, contentType?: string): Promise<MsgHdrs>;
}

interface Minted {
  token: string;
  byType: Map<string, MsgHdrs>;
  renewAt: number;
}

/**
 * Mints one token per identity object and reuses it for half its lifetime, so forwarding a known caller's
 * identity costs a WeakMap lookup. Undefined when no mesh key is configured: then nothing is forwarded.
 */
export function createIdentityForwarder(auth: AuthConfig): IdentityForwarder | undefined {
  const key = meshKeyOf(auth);
  if (!key) return undefined;
  const ttlMs = auth.identityTtlSec * 1000;
  const minted = new WeakMap<Identity, Minted>();
  const headersOf = (entry: Minted, contentType = ''): MsgHdrs => {
    let headers = entry.byType.get(contentType);
    if (!headers) {
      headers = natsHeaders();
      headers.set(IDENTITY_HEADER, entry.token);
      if (contentType) headers.set(CONTENT_TYPE_HEADER, contentType);
      entry.byType.set(contentType, headers);
    }
    return headers;
  };
  return {
    peek(identity, contentType) {
      const entry = minted.get(identity);
      if (!entry || entry.renewAt <= Date.now()) return undefined;
      return headersOf(entry, contentType);
    },
    async headers(identity, contentType) {
      const fresh = this.peek(identity, contentType);
      if (fresh) return fresh;
      const token = await mintIdentityToken(identity, key, auth.identityTtlSec);
      const entry: Minted = { token, byType: new Map(), renewAt: Date.now() + ttlMs / 2 };
      minted.set(identity, entry);
      return headersOf(entry, contentType);
    },
  };
}
