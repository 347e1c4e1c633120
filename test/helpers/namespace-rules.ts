import type { Pod } from '../../src/engine/pod.ts';
import { poolTerms } from '../../src/policy/pool-nodes.ts';
import type { Policy } from '../../src/policy/types.ts';
import { matchesRequirements, satisfiable, selectorRequirements, type Labels } from '../../src/vocabulary/node-selector.ts';

/**
 * The pools whose nodes an admitted pod can still land on, as kube-scheduler would read its
 * spec: spec.nodeName (the named node's pools), else each required node-affinity term ORed, its
 * label expressions ANDed with the nodeSelector and a pool's terms, and a term's matchFields
 * `metadata.name In` naming the nodes it allows. `nodes` are the cluster's nodes by name;
 * an unknown named node could be in any pool. Used to check that whatever the pod says, an
 * allowed answer keeps it to the pools its namespace may use.
 */
export function reachablePools(pod: Pod, policy: Policy, nodes: Readonly<Record<string, Labels>>): Set<string> {
  const pools = policy.pools;
  const named = (name: string): string[] => {
    const labels = nodes[name];
    return pools.filter((p) => labels === undefined || poolTerms(p).some((t) => matchesRequirements(labels, t))).map((p) => p.name);
  };
  if (pod.spec.nodeName) return new Set(named(pod.spec.nodeName));
  const selector = selectorRequirements(pod.spec.nodeSelector);
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [{}];
  const out = new Set<string>();
  for (const term of terms) {
    const expressions = [...(term.matchExpressions ?? []), ...selector];
    const byName = (term.matchFields ?? []).filter((f) => f.key === 'metadata.name' && f.operator === 'In');
    for (const pool of pools) {
      const labelsOpen = poolTerms(pool).some((t) => satisfiable([...t, ...expressions]));
      const open = byName.length > 0
        ? byName.every((f) => (f.values ?? []).some((n) => {
          const labels = nodes[n];
          return labels === undefined ? labelsOpen : named(n).includes(pool.name) && matchesRequirements(labels, expressions);
        }))
        : labelsOpen;
      if (open) out.add(pool.name);
    }
  }
  return out;
}
