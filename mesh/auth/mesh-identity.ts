// The identity a gateway forwards on NATS: an HS256 JWT in the `Mesh-Identity` header, minted with auth.meshSecret
// for one subject and a short life that never outlasts the call's deadline, so a token seen on the wire opens nothing else.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { decodeJwt } from 'jose';
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
/** The JOSE header of every identity token, base64url-encoded once. */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * The key identity tokens are signed with: auth.meshSecret, else one derived from auth.jwtSecret (HKDF), so a
 * development mesh with only AUTH_JWT_SECRET works; never the JWT secret itself.
 */
export function meshKeyOf(auth: AuthConfig): Uint8Array | undefined {
  if (auth.meshSecret) return new TextEncoder().encode(auth.meshSecret);
  if (auth.jwtSecret) return new Uint8Array(hkdfSync('sha256', auth.jwtSecret, 'nats-mesh', 'identity token key', 32));
  return undefined;
}

/** What one identity token admits: a request on one NATS subject, until a moment (ms since the epoch). */
export interface IdentityGrant {
  subject: string;
  expiresAt: number;
}

function signature(input: string, key: Uint8Array): Buffer {
  return createHmac('sha256', key).update(input).digest();
}

/** A token for the identity, valid for the grant's subject until its expiry (`exp` in seconds, to the millisecond). */
export function mintIdentityToken(identity: Identity, key: Uint8Array, grant: IdentityGrant): string {
  const claims = {
    iss: IDENTITY_ISSUER,
    aud: IDENTITY_AUDIENCE,
    sub: identity.id,
    roles: identity.roles,
    amr: identity.method,
    subj: grant.subject,
    exp: Math.floor(grant.expiresAt) / 1000,
  };
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${signature(input, key).toString('base64url')}`;
}

const invalid = () => new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token is not valid: not signed with this mesh's secret, or malformed`);

/** The JSON a base64url segment holds, or undefined. */
function segmentJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The identity a token carries for a request on `subject`; UNAUTHENTICATED when this key did not sign it, when it
 * was minted for another subject, or once its `exp` has passed (no tolerance: like Mesh-Deadline, it assumes NTP).
 */
export function verifyIdentityToken(token: string, key: Uint8Array, subject: string, now = Date.now()): VerifiedToken {
  const [header, payload, mac, extra] = token.split('.');
  if (header === undefined || payload === undefined || mac === undefined || extra !== undefined) throw invalid();
  const expected = signature(`${header}.${payload}`, key);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  if ((segmentJson(header) as { alg?: unknown } | undefined)?.alg !== 'HS256') throw invalid();
  const claims = segmentJson(payload) as Record<string, unknown> | undefined;
  const { iss, aud, sub, roles, amr, subj, exp } = claims ?? {};
  if (
    iss !== IDENTITY_ISSUER ||
    aud !== IDENTITY_AUDIENCE ||
    typeof sub !== 'string' ||
    sub === '' ||
    typeof subj !== 'string' ||
    typeof exp !== 'number' ||
    !Array.isArray(roles) ||
    !roles.every((r) => typeof r === 'string') ||
    !METHODS.has(amr as AuthMethod)
  ) {
    throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token does not carry an issuer, subject, roles, method, subj and exp`);
  }
  if (subj !== subject) throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token was minted for another subject`);
  const expiresAt = exp * 1000;
  if (expiresAt <= now) throw new MeshError('UNAUTHENTICATED', `the ${IDENTITY_HEADER} token has expired`);
  const identity: Identity = Object.freeze({ id: sub, roles: Object.freeze(roles as string[]), method: amr as AuthMethod });
  return { identity, expiresAt, subject };
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
  /**
   * The token for a message on `subject` (the NATS subject, namespace included) whose call ends by `deadline` (ms since
   * the epoch; Infinity for an event): a cached one while it has half its life ahead and ends by the deadline.
   */
  token(identity: Identity, subject: string, deadline: number): string;
  /** Request headers carrying that token, and the Content-Type when given. */
  headers(identity: Identity, subject: string, deadline: number, contentType?: string): MsgHdrs;
}

interface Minted {
  token: string;
  expiresAt: number;
  renewAt: number;
  byType: Map<string, MsgHdrs>;
}

/** Subjects one identity keeps tokens for; past it they are dropped and minted again as they are needed. */
const SUBJECTS_PER_IDENTITY = 1000;

/**
 * Mints one token per identity object and subject and reuses it for the first half of its life (at most
 * auth.identityTtlSec, never past the deadline of the call it is minted for), so forwarding a known caller to a known
 * procedure costs two Map lookups; an HMAC only when one is due. Undefined when no mesh key is configured.
 */
export function createIdentityForwarder(auth: AuthConfig): IdentityForwarder | undefined {
  const key = meshKeyOf(auth);
  if (!key) return undefined;
  const ttlMs = auth.identityTtlSec * 1000;
  const minted = new WeakMap<Identity, Map<string, Minted>>();

  const entryFor = (identity: Identity, subject: string, deadline: number): Minted => {
    let bySubject = minted.get(identity);
    if (!bySubject) minted.set(identity, (bySubject = new Map()));
    let entry = bySubject.get(subject);
    const now = Date.now();
    if (entry === undefined || entry.renewAt <= now || entry.expiresAt > deadline) {
      const expiresAt = Math.min(now + ttlMs, deadline);
      entry = { token: mintIdentityToken(identity, key, { subject, expiresAt }), expiresAt, renewAt: now + (expiresAt - now) / 2, byType: new Map() };
      if (bySubject.size >= SUBJECTS_PER_IDENTITY) bySubject.clear();
      bySubject.set(subject, entry);
    }
    return entry;
  };

  return {
    token: (identity, subject, deadline) => entryFor(identity, subject, deadline).token,
    headers(identity, subject, deadline, contentType = '') {
      const entry = entryFor(identity, subject, deadline);
      let headers = entry.byType.get(contentType);
      if (!headers) {
        headers = natsHeaders();
        headers.set(IDENTITY_HEADER, entry.token);
        if (contentType) headers.set(CONTENT_TYPE_HEADER, contentType);
        entry.byType.set(contentType, headers);
      }
      return headers;
    },
  };
}
