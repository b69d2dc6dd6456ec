// Test fixtures for authentication: real JWTs made with jose, keys on disk, a JWKS served over real HTTP.
// Nothing here verifies; the tests call the mesh's own authenticator, gateway and host.
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export const SECRET = 'test-secret-that-is-long-enough-0123456789';
export const OTHER_SECRET = 'another-secret-that-is-long-enough-98765';
export const MESH_SECRET = 'mesh-secret-that-is-long-enough-for-hs256!';

export function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mesh-auth-')), name);
  writeFileSync(file, text);
  return file;
}

const now = () => Math.floor(Date.now() / 1000);

export interface SignOptions {
  sub?: string;
  roles?: unknown;
  exp?: number;
  nbf?: number;
  iss?: string;
  aud?: string;
  extra?: JWTPayload;
  kid?: string;
}

/** A JWT signed with an HMAC secret or a private key, with the claims asked for (exp one hour ahead by default). */
export async function sign(key: Uint8Array | CryptoKey, alg: string, options: SignOptions = {}): Promise<string> {
  const jwt = new SignJWT({ roles: options.roles ?? ['reader'], ...options.extra })
    .setProtectedHeader({ alg, typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) })
    .setSubject(options.sub ?? 'alice')
    .setIssuedAt()
    .setExpirationTime(options.exp ?? now() + 3600);
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  if (options.iss) jwt.setIssuer(options.iss);
  if (options.aud) jwt.setAudience(options.aud);
  return jwt.sign(key);
}

export const hs256 = (options: SignOptions = {}, secret = SECRET) => sign(new TextEncoder().encode(secret), 'HS256', options);

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token assembled by hand: any header and payload text, HMAC-signed with the secret (or unsigned for alg none). */
export function handmade(header: object, payload: unknown, secret?: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

export { now };

export interface KeyPairFiles {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicKeyPem: string;
  publicKeyFile: string;
}

export async function keyPair(alg: 'RS256' | 'ES256' | 'EdDSA'): Promise<KeyPairFiles> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicKeyPem = await exportSPKI(publicKey);
  return { privateKey, publicKey, publicKeyPem, publicKeyFile: tempFile('public.pem', publicKeyPem) };
}

/** A JWKS endpoint over real HTTP that can be stopped; counts its fetches. */
export class JwksServer {
  fetches = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Serves the public keys given, each with its kid and alg. */
  static async start(keys: { key: CryptoKey; kid: string; alg: string }[]): Promise<JwksServer> {
    const jwks = { keys: await Promise.all(keys.map(async ({ key, kid, alg }) => ({ ...(await exportJWK(key)), kid, alg, use: 'sig' }))) };
    const server = createServer((_req, res) => {
      self.fetches++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(jwks));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const self = new JwksServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
    return self;
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }
}
