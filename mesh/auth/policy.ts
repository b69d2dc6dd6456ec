// The authorization policy both gateways share: roles → permissions on URI patterns (exact, prefix, wildcard) for
// call, publish, subscribe and register; deny by default once a file is configured. It never authenticates.
import { z } from 'zod';
import type { Identity } from './identity.ts';
import { readStructuredFile } from './structured-file.ts';

export const ACTIONS = ['call', 'publish', 'subscribe', 'register'] as const;
export type Action = (typeof ACTIONS)[number];

export type Match = 'exact' | 'prefix' | 'wildcard';

export interface Policy {
  /** Whether one of the identity's roles has a permission for the action on the URI. */
  allows(identity: Identity, action: Action, uri: string): boolean;
  /**
   * Whether one of the identity's roles has the action on every URI a pattern matches: `prefix` `a.b` matches
   * every URI that starts with the string `a.b` (`a.b`, `a.b.c`, `a.bc`), `wildcard` `a..c` (or `a.*.c`) any one component where a part is empty.
   */
  allowsEvery(identity: Identity, action: Action, pattern: string, match: Match): boolean;
  /** False for the default (no file): then everything is allowed to everyone. */
  readonly configured: boolean;
  /** The role a caller without credential gets, if any. */
  readonly anonymousRole: string | undefined;
  /** The policy as written after validation, for `mesh config`. */
  readonly definition: PolicyDefinition | undefined;
}

const permission = z.strictObject({
  uri: z.string(),
  match: z.enum(['exact', 'prefix', 'wildcard'] satisfies Match[]).default('exact'),
  allow: z.array(z.enum(ACTIONS)).min(1),
});

const policyFile = z
  .strictObject({
    anonymous: z.string().min(1).optional(),
    roles: z.record(z.string().min(1), z.array(permission)),
  })
  .refine((policy) => policy.anonymous === undefined || Object.hasOwn(policy.roles, policy.anonymous), {
    path: ['anonymous'],
    message: 'must name a role the policy defines',
  });

export type PolicyDefinition = z.output<typeof policyFile>;

/** A wildcard pattern's components; `*` or an empty component (Crossbar's form) matches any one component. */
function wildcardMatches(pattern: readonly string[], parts: readonly string[]): boolean {
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
  if (rules.exact.has(uri) || rules.prefixes.some((p) => uri.startsWith(p))) return true;
  if (rules.wildcards.length === 0) return false;
  const parts = uri.split('.');
  return rules.wildcards.some((w) => wildcardMatches(w, parts));
}

/**
 * Whether the rules grant every URI a prefix or wildcard pattern matches. Such a pattern matches URIs of any token
 * in a free position, so no exact rule and no finite set of rules that each fix one can cover it: one rule must.
 * That is a policy prefix ending before the first free position, or (for a wildcard) a wildcard rule of the same
 * length that is free wherever the pattern is and equal wherever it is not.
 */
function coversEvery(rules: RoleRules, pattern: string, match: 'prefix' | 'wildcard'): boolean {
  const parts = pattern.split('.');
  const free = match === 'prefix' ? -1 : parts.findIndex((p) => p === '' || p === '*');
  // What every matched URI starts with: a prefix itself (WAMP's prefix matches by string), else the components
  // before the first free one, each with its dot.
  const fixed =
    match === 'prefix'
      ? pattern
      : free < 0
        ? pattern
        : parts
            .slice(0, free)
            .map((p) => `${p}.`)
            .join('');
  if (rules.prefixes.some((p) => fixed.startsWith(p))) return true;
  if (match === 'prefix') return false;
  if (free < 0) return allowedBy(rules, pattern);
  return rules.wildcards.some((w) => w.length === parts.length && w.every((c, i) => c === '' || c === '*' || c === parts[i]));
}

const OPEN_POLICY: Policy = Object.freeze({ allows: () => true, allowsEvery: () => true, configured: false, anonymousRole: undefined, definition: undefined });

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
    allowsEvery(identity: Identity, action: Action, pattern: string, match: Match): boolean {
      if (match === 'exact') return this.allows(identity, action, pattern);
      return identity.roles.some((role) => {
        const rules = roles.get(role)?.[action];
        return rules !== undefined && coversEvery(rules, pattern, match);
      });
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
