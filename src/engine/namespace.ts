import type { Policy } from '../policy/types.ts';
import { isolationCovers, type Isolation } from '../vocabulary/backends.ts';
import type { NamespaceFacts } from './pod.ts';

/** What the policy's namespace rules say for one namespace (all matching rules combined). */
export interface NamespaceLimits {
  /** Pools the namespace may use; undefined when no rule restricts it. */
  readonly allowedPools?: ReadonlySet<string>;
  readonly maxGpusPerPod?: number;
  readonly isolation?: Isolation;
}

function matches(rule: Policy['namespaces'][number], ns: NamespaceFacts): boolean {
  const byName = rule.names === undefined || rule.names.includes(ns.name);
  const byLabels = rule.selector === undefined
    || Object.entries(rule.selector.matchLabels).every(([k, v]) => ns.labels[k] === v);
  return byName && byLabels;
}

/** Every rule that matches applies: allowed pools intersect, the smallest limit and strictest isolation win. */
export function namespaceLimits(policy: Policy, ns: NamespaceFacts): NamespaceLimits {
  let allowed: Set<string> | undefined;
  let max: number | undefined;
  let isolation: Isolation | undefined;
  for (const rule of policy.namespaces.filter((r) => matches(r, ns))) {
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
  };
}
