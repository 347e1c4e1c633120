import type { Pool } from '../policy/types.ts';
import { poolTerms } from '../policy/pool-nodes.ts';
import { formatRequirement, parseRequirement } from '../vocabulary/node-selector.ts';
import type { NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Toleration } from './pod.ts';

/**
 * Node affinity and tolerations that send a pod to a group of pools. Every step is idempotent:
 * applied to its own output it changes nothing (webhook reinvocation, retries).
 */

const canonical = new WeakMap<NodeSelectorRequirement, string>();

/** A requirement as one string, its values in order (sorted once per requirement object, not per comparison). */
function requirementKey(r: NodeSelectorRequirement): string {
  let key = canonical.get(r);
  if (key === undefined) {
    key = JSON.stringify([r.key, r.operator, [...(r.values ?? [])].sort()]);
    canonical.set(r, key);
  }
  return key;
}

/** The requirement keys of a term, so that a lookup costs one hash, not a scan of the term. */
function keysOf(requirements: readonly NodeSelectorRequirement[]): Set<string> {
  return new Set(requirements.map(requirementKey));
}

function copyRequirement(r: NodeSelectorRequirement): NodeSelectorRequirement {
  return r.values ? { key: r.key, operator: r.operator, values: [...r.values] } : { key: r.key, operator: r.operator };
}

function contains(term: NodeSelectorTerm, requirements: readonly NodeSelectorRequirement[]): boolean {
  const have = keysOf(term.matchExpressions ?? []);
  return requirements.every((r) => have.has(requirementKey(r)));
}

function withRequirements(term: NodeSelectorTerm, requirements: readonly NodeSelectorRequirement[]): NodeSelectorTerm {
  const have = term.matchExpressions ?? [];
  const keys = keysOf(have);
  const added = requirements.filter((r) => !keys.has(requirementKey(r)));
  return { ...term, matchExpressions: [...have, ...added.map(copyRequirement)] };
}

/**
 * Required node affinity: the pools' terms ORed, ANDed into every term the pod already has.
 * A term that already holds one of the pools' terms is left as it is.
 */
export function requireNodes(spec: PodSpec, pools: readonly Pool[]): void {
  const affinity = (spec.affinity ??= {});
  const nodeAffinity = (affinity.nodeAffinity ??= {});
  const existing = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (existing.length === 0 && pools.length === 1) {
    // withRequirements({}, w) for each of the pool's terms, made once per pool: shared, frozen.
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = ownTerms(pools[0] as Pool);
    return;
  }
  const wanted: (readonly NodeSelectorRequirement[])[] = [];
  for (const pool of pools) for (const term of poolTerms(pool)) wanted.push(term);
  const terms = existing.length === 0
    ? wanted.map((w) => ({ matchExpressions: w.map(copyRequirement) })) // withRequirements({}, w), without the lookups
    : existing.flatMap((term) => wanted.some((w) => contains(term, w)) ? [term] : wanted.map((w) => withRequirements(term, w)));
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: terms };
}

type RequiredTerms = NonNullable<NonNullable<PodSpec['affinity']>['nodeAffinity']>['requiredDuringSchedulingIgnoredDuringExecution'];
const requiredOfPool = new WeakMap<Pool, RequiredTerms>();

/**
 * The required node terms of a pod routed to one pool that had none of its own: the same for every
 * such pod, so made once per pool and frozen through (a decision's pod and patch share it; no step
 * after requireNodes changes required terms).
 */
function ownTerms(pool: Pool): RequiredTerms {
  let required = requiredOfPool.get(pool);
  if (!required) {
    const frozen = (r: NodeSelectorRequirement): NodeSelectorRequirement => {
      const copy = copyRequirement(r);
      if (copy.values) Object.freeze(copy.values);
      return Object.freeze(copy);
    };
    required = Object.freeze({ nodeSelectorTerms: Object.freeze(poolTerms(pool).map((w) => Object.freeze({ matchExpressions: Object.freeze(w.map(frozen)) as NodeSelectorRequirement[] }))) as NodeSelectorTerm[] });
    requiredOfPool.set(pool, required);
  }
  return required;
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
  for (const pool of pools) {
    if (pool.taints.length === 0) continue;
    const tolerations = (spec.tolerations ??= []);
    for (const taint of pool.taints) {
      if (!tolerations.some((t) => sameToleration(t, taint))) tolerations.push({ ...taint });
    }
  }
}

/**
 * The terms a decision ANDs into the pod for these pools, as the record keeps them: frozen, and
 * for one pool the pool's own list (every decision for it shares it, and `writeRecord` its text).
 */
export function recordedTerms(pools: readonly Pool[]): readonly (readonly string[])[] {
  if (pools.length === 1) return poolTermTexts(pools[0] as Pool);
  const terms: (readonly string[])[] = [];
  for (const pool of pools) for (const term of poolTermTexts(pool)) terms.push(term);
  return Object.freeze(terms);
}

const termTexts = new WeakMap<Pool, readonly (readonly string[])[]>();

/** A pool's terms as text, written once per pool (policies are immutable once parsed), frozen: every record of the pool shares them. */
function poolTermTexts(pool: Pool): readonly (readonly string[])[] {
  let texts = termTexts.get(pool);
  if (!texts) termTexts.set(pool, (texts = Object.freeze(poolTerms(pool).map((term) => Object.freeze(term.map(formatRequirement))))));
  return texts;
}

/**
 * Which of those requirements the pod's own terms already held (`ack.node.gpu.schedule In
 * topology` written by the author): a later take-back must leave them, as the pod asked them.
 */
export function ownRequirements(recorded: readonly (readonly string[])[], own: readonly (readonly NodeSelectorRequirement[])[]): string[] {
  if (own.length === 0) return [];
  const texts = new Set(own.flatMap((term) => term.map(formatRequirement)));
  return [...new Set(recorded.flat())].filter((text) => texts.has(text));
}

/**
 * Takes back what an earlier decision added (`terms`, as its record kept them): those
 * requirements leave every required term, and preferred terms made of them go. A term left
 * empty means the pod itself asked nothing there: then nothing is required.
 */
export function forgetNodes(spec: PodSpec, terms: readonly (readonly string[])[], podOwn: readonly string[] = []): void {
  const nodeAffinity = spec.affinity?.nodeAffinity;
  if (!nodeAffinity || terms.length === 0) return;
  const old = terms.map((term) => term.flatMap((text) => parseRequirement(text) ?? []));
  const oldKeys = keysOf(old.flat());
  const kept = keysOf(podOwn.flatMap((text) => parseRequirement(text) ?? []));
  const ours = (r: NodeSelectorRequirement): boolean => oldKeys.has(requirementKey(r)) && !kept.has(requirementKey(r));
  const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    // Terms that differed only by the pool ANDed into them become one again; terms the pod
    // itself wrote twice stay twice.
    const seen = new Map<string, Set<string>>();
    const terms = required.nodeSelectorTerms.flatMap((term) => {
      const kept: NodeSelectorTerm = { ...term, matchExpressions: (term.matchExpressions ?? []).filter((r) => !ours(r)) };
      if (kept.matchExpressions?.length === 0) delete kept.matchExpressions;
      const [after, before] = [JSON.stringify(kept), JSON.stringify(term)];
      const originals = seen.get(after);
      if (originals && !originals.has(before)) return [];
      seen.set(after, (originals ?? new Set()).add(before));
      return [kept];
    });
    // Terms left empty were only ours: when all are, the pod itself asked nothing, so nothing is
    // required; otherwise the empty ones go and the pod's own terms stay (an empty term matches no node).
    const left = terms.filter((t) => t.matchExpressions || t.matchFields);
    if (left.length === 0) delete nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    else required.nodeSelectorTerms = left;
  }
  const preferred = nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  if (preferred) {
    const termKey = (rs: readonly NodeSelectorRequirement[]): string => [...keysOf(rs)].sort().join('\n');
    const oldTerms = new Set(old.map(termKey));
    const left = preferred.filter((p) => !oldTerms.has(termKey(p.preference.matchExpressions ?? [])));
    if (left.length > 0) nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = left;
    else delete nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  }
}
