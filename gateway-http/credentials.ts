// What an HTTP request presents to be authenticated: its credential (`Authorization: Bearer`, else `X-Api-Token`)
// and its client address. Verifying the credential is GatewayAuth's job; deciding what it may do, the policy's.
import type { Context } from 'koa';
import { bearerCredential, type GatewayAuth, type Identity } from '../mesh/gateway.ts';

/** A credential as a request presents it, and whether its header takes API keys only. */
export interface Presented {
  credential: string;
  apiKeyOnly: boolean;
}

/** The credential a request presents: `Authorization: Bearer <jwt or api key>`, else `X-Api-Token: <api key>`. */
export function credentialOf(ctx: Context): Presented | undefined {
  const authorization = ctx.get('Authorization');
  if (authorization) return { credential: bearerCredential(authorization), apiKeyOnly: false };
  const apiKey = ctx.get('X-Api-Token');
  return apiKey ? { credential: apiKey, apiKeyOnly: true } : undefined;
}

/** The address a request came from: the key of the failed-authentication limit and of anonymous budgets. */
export function addressOf(ctx: Context): string {
  return ctx.request.socket.remoteAddress ?? '';
}

/** Who sends the request: the anonymous identity without a credential, else what its credential proves. */
export function callerOf(ctx: Context, auth: GatewayAuth): Identity | Promise<Identity> {
  const presented = credentialOf(ctx);
  return presented === undefined ? auth.anonymous : auth.identify(presented.credential, addressOf(ctx), presented.apiKeyOnly);
}
