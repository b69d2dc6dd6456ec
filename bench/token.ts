// The bearer token the authentication benchmarks send: an HS256 JWT for the role `bench`, which the policy of the
// `gateway-auth` server (workers/http-server.ts) lets call the service under test.
import { SignJWT } from 'jose';

export function benchToken(secret: string): Promise<string> {
  return new SignJWT({ roles: ['bench'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('1h').sign(new TextEncoder().encode(secret));
}
