// The authorization policy both gateways share: roles → permissions on URI patterns (exact, prefix, wildcard) for
// call, publish, subscribe and register; deny by default once a file is configured. It never authenticates.
import { z } from 'zod';
import type { Identity } from './identity.ts';
import { readStructuredFile } from './structured-file.ts';

export const ACTIONS = ['call', 'publish', 'subscribe', 'register'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Policy {
  /** Whether one of the identity's roles has a permission for the action on the URI. */
  allows(identity: Identity, action: Action, uri: string): boolean;
  /** False for the default (no file): then everything is allowed to everyone. */
  readonly configured: boolean;
  /** The role a caller without credential gets, if any. */
  readonly anonymousRole: string | undefined;
  /** The policy as written after validation, for `mesh config`. */
  readonly definition: PolicyDefinition | undefined;
}

const permission = z.strictObject({
  uri: z.string(),
  match: z.enum(['exact', 'prefix', 'wildcard']).default('exact'),
  allow: z.array(z.enum(ACTIONS)).min(1),
});

const policyFile = z.strictObject({
  anonymous: z.string().min(1).optional(),
  roles: z.record(z.string().min(1), z.array(permission)),
}).refine((policy) => policy.anonymous === undefined || Object.hasOwn(policy.roles, policy.anonymous), {
  path: ['anonymous'],
  message: 'must name a role the policy defines',
});

export type PolicyDefinition = z.output<typeof policyFile>;

/** A wildcard pattern's components; `*` or an empty component (Crossbar's form) matches any one component. */
function wildcardMatches(pattern: readonly string[], uri: string): boolean {
  const parts = uri.split('.');
  return parts.length === pattern.length && pattern.every((p, i) => p === '' || p === '*' || p === parts[i]);
}

interface RoleRules {
  exact: Set<string>;
  prefixes: string[];
  wildcards: string[][];
}

type CompiledRole = Record<Action, RoleRules>;

function compile(definition: PolicyDefinition): Map<string, CompiledRole> {
  const roles = new Map<string, CompiledRole>();
  for (const [role, permissions] of Object.entries(definition.roles)) {
    const rules = (): RoleRules => ({ exact: new Set(), prefixes: [], wildcards: [] });
    const compiled: CompiledRole = { call: rules(), publish: rules(), subscribe: rules(), register: rules() };
    for (const { uri, match, allow } of permissions) {
      for (const action of allow) {
        const rules = compiled[action];
        if (match === 'exact') rules.exact.add(uri);
        else if (match === 'prefix') rules.prefixes.push(uri);
        else rules.wildcards.push(uri.split('.'));
      }
    }
    roles.set(role, compiled);
  }
  return roles;
}

function allowedBy(rules: RoleRules, uri: string): boolean {
  return rules.exact.has(uri) || rules.prefixes.some((p) => uri.startsWith(p)) || rules.wildcards.some((w) => wildcardMatches(w, uri));
}

const OPEN_POLICY: Policy = Object.freeze({ allows: () => true, configured: false, anonymousRole: undefined, definition: undefined });

export function policyFrom(definition: PolicyDefinition): Policy {
  const roles = compile(definition);
  return Object.freeze({
    configured: true,
    anonymousRole: definition.anonymous,
    definition,
    allows(identity: Identity, action: Action, uri: string): boolean {
      for (const role of identity.roles) {
        const rules = roles.get(role)?.[action];
        if (rules && allowedBy(rules, uri)) return true;
      }
      return false;
    },
  });
}

/** The policy a file defines, or the open default with no file; a bad file throws an Error naming it. */
export function loadPolicy(file: string | null | undefined): Policy {
  if (!file) return OPEN_POLICY;
  const parsed = policyFile.safeParse(readStructuredFile(file, 'auth.policyFile'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`auth.policyFile ${file}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return policyFrom(parsed.data);
}
