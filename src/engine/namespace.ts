import type { Pool, Policy } from '../policy/types.ts';
import { isolationCovers, type Isolation } from '../vocabulary/backends.ts';
import { matchesRequirement } from '../vocabulary/node-selector.ts';
import type { NamespaceFacts } from './pod.ts';

/** What the policy's namespace rules say for one namespace (all matching rules combined). */
export interface NamespaceLimits {
  /** Pools the namespace may use; undefined when no rule restricts it. */
  readonly allowedPools?: ReadonlySet<string>;
  readonly maxGpusPerPod?: number;
  readonly isolation?: Isolation;
  /** Pools tried first, in this order (the rules' preferredPools, in rule order). */
  readonly preferred?: readonly string[];
}

function matches(rule: Policy['namespaces'][number], ns: NamespaceFacts): boolean {
  const byName = rule.names === undefined || rule.names.includes(ns.name);
  const byLabels = rule.selector === undefined
    || (Object.entries(rule.selector.matchLabels ?? {}).every(([k, v]) => ns.labels[k] === v)
      && (rule.selector.matchExpressions ?? []).every((r) => matchesRequirement(ns.labels, { ...r, values: [...r.values ?? []] })));
  return byName && byLabels;
}

/** The limits worked out per namespace name, under a policy whose rules select by name only (null: some rule selects by label). */
const byName = new WeakMap<Policy, Map<string, NamespaceLimits> | null>();
/** Namespace names whose limits are kept per policy, at most: then they are worked out again from empty. */
const MAX_NAMESPACES = 1024;
/** The longest namespace name kept (a real one has at most 63 characters; a review sent to the webhook directly may claim any). */
const MAX_NAMESPACE_NAME = 253;

/**
 * Every rule that matches applies: allowed pools intersect, the smallest limit and strictest
 * isolation win. Where no rule of the policy selects by label, the namespace's name alone decides,
 * and what it comes to is kept (read-only: every pod of the namespace shares it).
 */
export function namespaceLimits(policy: Policy, ns: NamespaceFacts): NamespaceLimits {
  let kept = byName.get(policy);
  if (kept === undefined) byName.set(policy, (kept = policy.namespaces.some((r) => r.selector !== undefined) ? null : new Map()));
  if (kept === null) return limitsOf(policy, ns);
  let limits = kept.get(ns.name);
  if (!limits) {
    limits = Object.freeze(limitsOf(policy, ns));
    if (ns.name.length > MAX_NAMESPACE_NAME) return limits;
    if (kept.size >= MAX_NAMESPACES) kept.clear();
    kept.set(ns.name, limits);
  }
  return limits;
}

/** How many namespaces' limits are kept under a policy now (its bound's test reads it). */
export function namespacesKept(policy: Policy): number {
  return byName.get(policy)?.size ?? 0;
}

function limitsOf(policy: Policy, ns: NamespaceFacts): NamespaceLimits {
  let allowed: Set<string> | undefined;
  let max: number | undefined;
  let isolation: Isolation | undefined;
  const preferred: string[] = [];
  for (const rule of policy.namespaces.filter((r) => matches(r, ns))) {
    for (const name of rule.preferredPools ?? []) if (!preferred.includes(name)) preferred.push(name);
    if (rule.allowedPools) {
      const names = new Set(rule.allowedPools);
      allowed = allowed ? new Set([...allowed].filter((p) => names.has(p))) : names;
    }
    if (rule.maxGpusPerPod !== undefined) max = Math.min(max ?? Infinity, rule.maxGpusPerPod);
    if (rule.isolation && (!isolation || !isolationCovers(isolation, rule.isolation))) isolation = rule.isolation;
  }
  return {
    ...(allowed ? { allowedPools: allowed } : {}),
    ...(max !== undefined ? { maxGpusPerPod: max } : {}),
    ...(isolation ? { isolation } : {}),
    ...(preferred.length > 0 ? { preferred } : {}),
  };
}

/** The policy's pools in the namespace's order of preference: its preferred pools first, then the rest as listed. */
export function poolsInOrder(pools: readonly Pool[], limits: NamespaceLimits): readonly Pool[] {
  const preferred = limits.preferred;
  if (!preferred) return pools;
  const rank = (p: Pool): number => {
    const i = preferred.indexOf(p.name);
    return i === -1 ? preferred.length : i;
  };
  return [...pools].sort((a, b) => rank(a) - rank(b));
}
