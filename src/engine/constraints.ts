import type { Pool } from '../policy/types.ts';
import { poolTerms } from '../policy/pool-nodes.ts';
import { DEFAULT_SCHEDULER } from '../vocabulary/backends.ts';
import { ACK_PLACEMENT_LABEL, KOORD } from '../vocabulary/names.ts';
import {
  byKey, describeRequirement, groupRequirements, implies, matchesRequirements, satisfiableWith, satisfiableWithAny, selectorRequirements,
  type GroupedRequirements, type Labels, type NodeSelectorRequirement, type NodeSelectorTerm,
} from '../vocabulary/node-selector.ts';
import { readHamiChoices, type HamiChoices } from './hami-choices.ts';
import type { Pod, PodSpec } from './pod.ts';
import type { RecordRead } from './record.ts';
import { forgetNodes } from './route.ts';

/**
 * What the pod itself says about where it may run and who schedules it: its nodeSelector and
 * required node affinity (without the terms an earlier decision of ours added), whether it is
 * already pinned to one node, and the scheduler it names.
 */
export interface PodPlacement {
  readonly selector: readonly NodeSelectorRequirement[];
  /** The label requirements of each required node-affinity term (ORed); empty when it has none. */
  readonly terms: readonly (readonly NodeSelectorRequirement[])[];
  /** `spec.nodeName`, when the pod comes already bound. */
  readonly nodeName?: string;
  /**
   * Pinned to named nodes: every required term holds `matchFields metadata.name In [...]` (the
   * DaemonSet controller writes one such term). A term without it, or one that pins by `NotIn`,
   * lets the scheduler choose among nodes, so the pod is routed like any other.
   */
  readonly pinned: boolean;
  /** The nodes a pinned pod may run on: the names its terms list (empty when not pinned). */
  readonly pinnedNodes: readonly string[];
  /** The scheduler the pod itself names (not the default, not one our earlier decision set). */
  readonly scheduler?: string;
  /** HAMi's pod annotations the pod's author wrote (not those an earlier decision wrote). */
  readonly hami: HamiChoices;
  /** The pod's koordinator.sh/gpu-isolation-provider label, which koord-scheduler holds against its node's. */
  readonly isolationProvider?: string;
}

export function readPlacement(pod: Pod, record: RecordRead): PodPlacement {
  const spec = ownAffinity(pod.spec, record);
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const named = pod.spec.schedulerName;
  const ours = record.kind === 'present' ? record.record.scheduler : undefined;
  const scheduler = named === undefined || named === DEFAULT_SCHEDULER || named === ours ? undefined : named;
  const provider = pod.metadata?.labels?.[KOORD.isolationLabel];
  return {
    selector: selectorRequirements(pod.spec.nodeSelector),
    terms: required.map((t) => t.matchExpressions ?? []),
    ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    ...pinning(required),
    ...(scheduler ? { scheduler } : {}),
    hami: readHamiChoices(pod.metadata?.annotations ?? {}, record.kind === 'present' ? record.record.annotations : undefined),
    ...(provider !== undefined ? { isolationProvider: provider } : {}),
  };
}

/**
 * Whether every required term pins by node name (`matchFields metadata.name In`), and the names
 * they allow. A term that pins by `NotIn`, or not at all, leaves the scheduler a choice of nodes.
 */
function pinning(required: readonly NodeSelectorTerm[]): { pinned: boolean; pinnedNodes: string[] } {
  const names = new Set<string>();
  const pinned = required.length > 0 && required.every((t) => {
    const byName = (t.matchFields ?? []).filter((f) => f.key === 'metadata.name' && f.operator === 'In');
    for (const f of byName) for (const v of f.values ?? []) names.add(v);
    return byName.length > 0;
  });
  return { pinned, pinnedNodes: pinned ? [...names] : [] };
}

/** The pod's affinity as the pod itself wrote it: the node terms of an earlier decision taken back. */
function ownAffinity(spec: PodSpec, record: RecordRead): PodSpec {
  if (record.kind !== 'present' || !record.record.nodes?.length || !spec.affinity?.nodeAffinity) return spec;
  const copy: PodSpec = { containers: [], affinity: { nodeAffinity: structuredClone(spec.affinity.nodeAffinity) } };
  forgetNodes(copy, record.record.nodes, record.record.own);
  return copy;
}

/**
 * The labels of each pool's nodes as the webhook's node cache knows them now, by pool name. A
 * pool left out, or with no node (scaled to zero), is not known: only its own terms can rule it out.
 */
export type KnownNodes = ReadonlyMap<string, { readonly labels: readonly Labels[] }>;

/**
 * Why the pod's own nodeSelector or required node affinity leaves no node of this pool, if it
 * does: first by the pool's terms (no node the pool's terms allow could match), then, when the
 * pool's nodes are known, by those nodes (none of them matches: a label the pool's terms do not
 * name, such as a Kueue flavor's, rules the pool out too).
 */
export function placementReason(pool: Pool, placement: PodPlacement, nodes: readonly Labels[] = []): string | undefined {
  if (placement.selector.length === 0 && placement.terms.length === 0) return undefined; // the pod constrains nothing: every pool's nodes fit
  return termsReason(pool, placement) ?? nodesReason(placement, nodes);
}

/** A pool's terms grouped by key, once per pool (policies are immutable once parsed): a pod's nodeSelector is judged on its own keys only. */
const groupedTerms = new WeakMap<Pool, readonly GroupedRequirements[]>();
function poolGroupedTerms(pool: Pool): readonly GroupedRequirements[] {
  let grouped = groupedTerms.get(pool);
  if (!grouped) groupedTerms.set(pool, (grouped = poolTerms(pool).map(groupRequirements)));
  return grouped;
}

function termsReason(pool: Pool, { selector, terms: own }: PodPlacement): string | undefined {
  const terms = poolTerms(pool);
  const grouped = poolGroupedTerms(pool);
  const wanted = byKey(selector);
  // satisfiable([...t, ...selector]) for each of the pool's terms t.
  const open = terms.filter((_, i) => satisfiableWith(grouped[i] as GroupedRequirements, wanted));
  if (open.length === 0) {
    const blocking = selector.filter((r) => grouped.every((t) => !satisfiableWith(t, byKey([r]))));
    return `the pod's nodeSelector ${(blocking.length > 0 ? blocking : selector).map(describeRequirement).join(', ')} excludes it`;
  }
  if (own.length === 0) return undefined;
  if (open.some((t) => satisfiableWithAny([...t, ...selector], own))) return undefined;
  return `the pod's required node affinity excludes it (no term allows ${terms.map((t) => t.map(describeRequirement).join(', ')).join(' or ')})`;
}

/** Why none of the pool's known nodes can take the pod, if none can. */
function nodesReason({ selector, terms }: PodPlacement, nodes: readonly Labels[]): string | undefined {
  if (nodes.length === 0) return undefined;
  const own = terms.length > 0 ? terms : [[]];
  if (nodes.some((labels) => matchesRequirements(labels, selector) && own.some((t) => matchesRequirements(labels, t)))) return undefined;
  const count = `${nodes.length} node${nodes.length > 1 ? 's' : ''}`;
  if (selector.length > 0 && !nodes.some((labels) => matchesRequirements(labels, selector))) {
    return `the pod's nodeSelector ${selector.map(describeRequirement).join(', ')} matches none of its ${count}`;
  }
  return `the pod's required node affinity matches none of its ${count}`;
}

/**
 * Whether the pod's own constraints already keep it on these pools' nodes, so that every node
 * it may run on is served by them (what a DaemonSet pod, created for one node, needs). ACK's
 * placement label only picks the card on the node, not what the pod must ask, and a nodeSelector
 * cannot say `NotIn spread`: it is left out here.
 */
export function confinedTo(pools: readonly Pool[], placement: PodPlacement): boolean {
  const own = placement.terms.length > 0 ? placement.terms : [[]];
  const wanted = pools.flatMap(poolTerms).map((t) => t.filter((r) => r.key !== ACK_PLACEMENT_LABEL));
  const selector = byKey(placement.selector);
  return own.every((term) => {
    const mine = byKey(term);
    // Only the requirements on the wanted key matter: each term costs its own size, not the selector's again.
    const given = (key: string): NodeSelectorRequirement[] => [...(mine.get(key) ?? []), ...(selector.get(key) ?? [])];
    return wanted.some((w) => w.every((r) => implies(given(r.key), r)));
  });
}
