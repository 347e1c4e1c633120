import type { Pool } from '../policy/types.ts';
import { poolTerms } from './backends.ts';
import { ACK_PLACEMENT_LABEL, ACK_SCHEDULE_LABEL, NVIDIA_MIG_STRATEGY_LABEL } from './vocabulary.ts';

const BACKEND_LABELS: ReadonlySet<string> = new Set([ACK_SCHEDULE_LABEL, ACK_PLACEMENT_LABEL, NVIDIA_MIG_STRATEGY_LABEL]);
import type { NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Toleration } from './pod.ts';

/**
 * Node affinity and tolerations that send a pod to a group of pools. Every step is idempotent:
 * applied to its own output it changes nothing (webhook reinvocation, retries).
 */

function sameRequirement(a: NodeSelectorRequirement, b: NodeSelectorRequirement): boolean {
  const av = [...(a.values ?? [])].sort();
  const bv = [...(b.values ?? [])].sort();
  return a.key === b.key && a.operator === b.operator && av.length === bv.length && av.every((v, i) => v === bv[i]);
}

function copyRequirement(r: NodeSelectorRequirement): NodeSelectorRequirement {
  return r.values ? { key: r.key, operator: r.operator, values: [...r.values] } : { key: r.key, operator: r.operator };
}

function contains(term: NodeSelectorTerm, requirements: readonly NodeSelectorRequirement[]): boolean {
  const have = term.matchExpressions ?? [];
  return requirements.every((r) => have.some((h) => sameRequirement(h, r)));
}

function withRequirements(term: NodeSelectorTerm, requirements: readonly NodeSelectorRequirement[]): NodeSelectorTerm {
  const have = term.matchExpressions ?? [];
  const added = requirements.filter((r) => !have.some((h) => sameRequirement(h, r)));
  return { ...term, matchExpressions: [...have, ...added.map(copyRequirement)] };
}

/**
 * Required node affinity: the pools' terms ORed, ANDed into every term the pod already has.
 * A term that already holds one of the pools' terms is left as it is.
 */
export function requireNodes(spec: PodSpec, pools: readonly Pool[]): void {
  const wanted = pools.flatMap(poolTerms);
  const affinity = (spec.affinity ??= {});
  const nodeAffinity = (affinity.nodeAffinity ??= {});
  const existing = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const terms = existing.length === 0
    ? wanted.map((w) => withRequirements({}, w))
    : existing.flatMap((term) => wanted.some((w) => contains(term, w)) ? [term] : wanted.map((w) => withRequirements(term, w)));
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: terms };
}

/** Preferred node affinity weighted by pool order (100, 90, …), when more than one pool can serve. */
export function preferNodes(spec: PodSpec, pools: readonly Pool[]): void {
  if (pools.length < 2) return;
  const nodeAffinity = ((spec.affinity ??= {}).nodeAffinity ??= {});
  const preferred = (nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution ??= []);
  pools.forEach((pool, i) => {
    const weight = Math.max(1, 100 - 10 * i);
    for (const term of poolTerms(pool)) {
      const present = preferred.some((p) => p.weight === weight && contains(p.preference, term)
        && (p.preference.matchExpressions ?? []).length === term.length);
      if (!present) preferred.push({ weight, preference: withRequirements({}, term) });
    }
  });
}

/** Whether the pod's toleration `a` already covers the pool's `b` for good (a timed one does not). */
function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal')
    && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '') && a.tolerationSeconds === undefined;
}

/** Tolerations for the taints of every pool the pod may land on. */
export function tolerateTaints(spec: PodSpec, pools: readonly Pool[]): void {
  const wanted = pools.flatMap((p) => p.taints);
  if (wanted.length === 0) return;
  const tolerations = (spec.tolerations ??= []);
  for (const taint of wanted) {
    if (!tolerations.some((t) => sameToleration(t, taint))) tolerations.push({ ...taint });
  }
}

/**
 * Takes back what an earlier decision added for `pools` (a reinvocation after a policy change
 * routes elsewhere): their requirements leave every required term, and their preferred terms go.
 * Terms left empty are dropped, and terms that became equal are kept once.
 */
export function forgetNodes(spec: PodSpec, pools: readonly Pool[], unknownPools: boolean): void {
  const nodeAffinity = spec.affinity?.nodeAffinity;
  if (!nodeAffinity) return;
  const old = pools.flatMap(poolTerms);
  // A pool the policy no longer has left requirements we cannot name; its backend's own labels
  // (the ACK mode, MIG strategy) are surely ours, its nodeSelector is not known any more.
  const ours = (r: NodeSelectorRequirement): boolean => old.some((term) => term.some((o) => sameRequirement(o, r)))
    || (unknownPools && BACKEND_LABELS.has(r.key));
  const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const seen = new Set<string>();
    const terms = required.nodeSelectorTerms.flatMap((term) => {
      const kept: NodeSelectorTerm = { ...term, matchExpressions: (term.matchExpressions ?? []).filter((r) => !ours(r)) };
      if (kept.matchExpressions?.length === 0) delete kept.matchExpressions;
      const key = JSON.stringify(kept);
      if (seen.has(key)) return [];
      seen.add(key);
      return [kept];
    });
    // A term left empty was only ours: the pod itself asked nothing there, so nothing is required.
    if (terms.some((t) => !t.matchExpressions && !t.matchFields)) delete nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    else required.nodeSelectorTerms = terms;
  }
  const preferred = nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  if (preferred) {
    const left = preferred.filter((p) => !old.some((term) => contains(p.preference, term)
      && (p.preference.matchExpressions ?? []).length === term.length));
    if (left.length > 0) nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = left;
    else delete nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  }
}
