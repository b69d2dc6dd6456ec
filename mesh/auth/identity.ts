// Who is calling: the one shape both gateways, the service host and a handler's currentCall() agree on.
// It says who was verified and how; deciding what that caller may do is policy.ts's job.

export type AuthMethod = 'jwt' | 'api_key' | 'anonymous';

export interface Identity {
  /** The JWT's `sub`, the API key's id, or `anonymous`. */
  readonly id: string;
  readonly roles: readonly string[];
  readonly method: AuthMethod;
}

export const ANONYMOUS_ID = 'anonymous';

/** The identity of a caller with no credential: the policy's anonymous role, if it has one. */
export function anonymousIdentity(role: string | undefined): Identity {
  return Object.freeze({ id: ANONYMOUS_ID, roles: Object.freeze(role ? [role] : []), method: 'anonymous' as const });
}

export function hasAnyRole(identity: Identity | undefined, roles: readonly string[]): boolean {
  return identity !== undefined && roles.some((role) => identity.roles.includes(role));
}
