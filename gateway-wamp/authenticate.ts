// How a HELLO becomes an identity: the authmethod chosen from the client's list (`ticket`, `anonymous`), the
// ticket checked by the shared Authenticator (a JWT or an API key). It sends nothing; the session speaks WAMP.
import { MeshError } from '../mesh/index.ts';
import type { GatewayAuth, Identity } from '../mesh/gateway.ts';
import { WampUri } from './protocol.ts';

/** The identity a session gets, and how it got it (WELCOME's authmethod and authprovider). */
export interface Authenticated {
  /** Undefined when nothing is configured: the session is anonymous and the policy is open. */
  identity: Identity | undefined;
  authmethod: 'ticket' | 'anonymous';
  authprovider: string;
}

/** What a HELLO, or an AUTHENTICATE, leads to; an ABORT carries its URI and the coded error it stands for. */
export type AuthStep = { step: 'welcome'; authenticated: Authenticated } | { step: 'challenge'; claimedAuthid: string | undefined } | { step: 'abort'; uri: string; error: MeshError };

/** The ABORT URI of a refused ticket: the JWKS down, too many failures from the address, or a bad ticket. */
function abortUri(error: MeshError): string {
  if (error.code === 'UNAVAILABLE') return WampUri.AUTHENTICATION_UNAVAILABLE;
  if (error.code === 'RESOURCE_EXHAUSTED') return WampUri.AUTHENTICATION_LIMITED;
  return WampUri.AUTHENTICATION_FAILED;
}

/** Whether the gateway admits callers without a credential: no policy, or a policy with an anonymous role. */
function admitsAnonymous(auth: GatewayAuth): boolean {
  return !auth.policy.configured || auth.policy.anonymousRole !== undefined;
}

/**
 * The first authmethod of the client's list (default `["anonymous"]`) this gateway accepts: `ticket` when
 * credentials are configured, `anonymous` when the policy lets anonymous callers in (always with nothing configured).
 */
export function answerHello(auth: GatewayAuth | undefined, details: Record<string, unknown>): AuthStep {
  const methods = (details.authmethods as string[] | undefined) ?? ['anonymous'];
  for (const method of methods) {
    if (method === 'ticket' && auth?.authenticator.configured) {
      return { step: 'challenge', claimedAuthid: details.authid as string | undefined };
    }
    if (method === 'anonymous' && (!auth || admitsAnonymous(auth))) {
      return { step: 'welcome', authenticated: { identity: auth?.anonymous, authmethod: 'anonymous', authprovider: 'static' } };
    }
  }
  const offered = auth?.authenticator.configured ? (admitsAnonymous(auth) ? 'ticket or anonymous' : 'ticket') : 'anonymous';
  return { step: 'abort', uri: WampUri.NO_AUTH_METHOD, error: new MeshError('UNAUTHENTICATED', `this router accepts ${offered} authentication`) };
}

/**
 * The identity a ticket proves for a client at `address` (failures count against it, as over HTTP); a HELLO authid
 * that names someone else fails like a bad ticket.
 */
export async function answerTicket(auth: GatewayAuth, ticket: string, claimedAuthid: string | undefined, address: string): Promise<AuthStep> {
  let identity: Identity;
  try {
    identity = await auth.identify(ticket, address);
  } catch (err) {
    const error = err instanceof MeshError ? err : new MeshError('UNAUTHENTICATED', 'the ticket cannot be verified');
    return { step: 'abort', uri: abortUri(error), error };
  }
  if (claimedAuthid !== undefined && claimedAuthid !== identity.id) {
    return { step: 'abort', uri: WampUri.AUTHENTICATION_FAILED, error: new MeshError('UNAUTHENTICATED', 'the ticket is not for the authid HELLO named') };
  }
  return { step: 'welcome', authenticated: { identity, authmethod: 'ticket', authprovider: identity.method } };
}
