import { BACKEND_FACTS, GKE_MODE_FACTS, type Isolation } from '../vocabulary/backends.ts';
import { ACK_PLACEMENT_LABEL, KAI, KOORD, NVIDIA_MIG_STRATEGY_LABEL, NVIDIA_PRODUCT_LABEL } from '../vocabulary/names.ts';
import { matchesRequirements, type Labels, type NodeSelectorRequirement } from '../vocabulary/node-selector.ts';
import { gkeMode, gkeTerms } from './gke.ts';
import type { Pool } from './types.ts';

/**
 * The nodes of a pool, as node-selector terms (ORed): its backend's mode label, ACK placement,
 * and its own nodeSelector, ANDed in each term. The engine writes these into node affinity;
 * whatever reads nodes by pool uses the same terms.
 */

const label = (key: string, value: string): NodeSelectorRequirement => ({ key, operator: 'In', values: [value] });

function backendTerms(pool: Pool): NodeSelectorRequirement[][] {
  const facts = BACKEND_FACTS[pool.backend];
  // NVIDIA's single MIG strategy labels its nodes `nvidia.com/mig.strategy=single`.
  const mode = facts.modeLabel && pool.mig?.strategy === 'single' ? { ...facts.modeLabel, value: 'single' } : facts.modeLabel;
  const placement: NodeSelectorRequirement[] = !facts.placement ? []
    : poolPlacement(pool) === 'spread' ? [label(ACK_PLACEMENT_LABEL, 'spread')]
      : [{ key: ACK_PLACEMENT_LABEL, operator: 'NotIn', values: ['spread'] }];
  if (pool.backend === 'gke') return [gkeTerms(pool)];
  if (!mode) return [placement];
  const terms = [[label(mode.key, mode.value), ...placement]];
  return mode.orAbsent ? [...terms, [{ key: mode.key, operator: 'DoesNotExist' }, ...placement]] : terms;
}

/**
 * The value of the family's model label on the pool's nodes: `gpu.product`, as GPU feature
 * discovery changes it under the single MIG strategy (`A100-SXM4-40GB-MIG-1g.5gb`) and for
 * time-slicing that keeps the name nvidia.com/gpu (`Tesla-T4-SHARED`).
 */
function productLabelValue(pool: Pool): string {
  const { product } = pool.gpu;
  // A cloud's own model label (GKE, Karpenter, AKS) holds the same value whatever the plugin does with the cards.
  if (modelLabelOf(pool) !== NVIDIA_PRODUCT_LABEL) return product;
  const [single] = pool.mig?.strategy === 'single' ? pool.mig.profiles : [];
  if (single !== undefined) return `${product}-MIG-${single.replace('+', '.')}`;
  if (pool.backend === 'nvidia-time-slicing' && pool.timeSlicing?.resource === 'nvidia.com/gpu') return `${product}-SHARED`;
  return product;
}

/**
 * The node label that holds the pool's model: its own `gpu.modelLabel` (a cloud's label on nodes
 * without GPU feature discovery), else its family's. Undefined where the family picks the model
 * otherwise (HAMi's pod annotation, DRA's device attribute).
 */
export function modelLabelOf(pool: Pool): string | undefined {
  const { model } = BACKEND_FACTS[pool.backend];
  return 'nodeLabel' in model ? pool.gpu.modelLabel ?? model.nodeLabel : undefined;
}

/** The model requirement, unless the family has no model label or the pool's nodeSelector already names that label. */
function modelTerm(pool: Pool): NodeSelectorRequirement[] {
  const key = modelLabelOf(pool);
  if (key === undefined || key in pool.nodeSelector) return [];
  return [label(key, productLabelValue(pool))];
}

/**
 * A koordinator pool with HAMi-core: koord-scheduler answers a pod labelled
 * koordinator.sh/gpu-isolation-provider on a node whose label differs with an Error status that
 * ends the whole scheduling attempt (deviceshare plugin.go: "GPUIsolationProviderHAMICore not
 * found on the node"), so such pods are held to nodes that carry the label.
 */
function isolationTerm(pool: Pool): NodeSelectorRequirement[] {
  const provider = pool.koordinator?.gpuIsolationProvider;
  return provider === undefined || KOORD.isolationLabel in pool.nodeSelector ? [] : [label(KOORD.isolationLabel, provider)];
}

/**
 * What a pool isolates between pods that share a card: its backend's; a gke pool its mode's; a
 * koordinator pool only accounts shares unless its nodes run HAMi-core, which limits memory and compute.
 */
export function poolIsolation(pool: Pool): Isolation {
  if (pool.backend === 'gke') return GKE_MODE_FACTS[gkeMode(pool)].isolation;
  return pool.koordinator?.gpuIsolationProvider !== undefined ? 'compute' : BACKEND_FACTS[pool.backend].isolation;
}

/**
 * A kai pool's own node requirements: MIG nodes by NVIDIA's strategy label, as nvidia-mig; and with
 * the HAMi-core isolator, GPU feature discovery's nvidia.com/gpu.memory, without which KAI's binder
 * sets no memory limit and says nothing (pkg/binder/plugins/hamicore/hami_core.go).
 */
function kaiTerm(pool: Pool): NodeSelectorRequirement[] {
  if (pool.backend !== 'kai') return [];
  const mig = pool.mig && !(NVIDIA_MIG_STRATEGY_LABEL in pool.nodeSelector) ? [label(NVIDIA_MIG_STRATEGY_LABEL, pool.mig.strategy)] : [];
  const memory: NodeSelectorRequirement[] = pool.kai?.gpuIsolationProvider === 'HAMi-core' ? [{ key: KAI.nodeMemoryLabel, operator: 'Exists' }] : [];
  return [...mig, ...memory];
}

const termsCache = new WeakMap<Pool, readonly (readonly NodeSelectorRequirement[])[]>();

/** A pool's effective node selector: its backend's label(s), each ANDed with its model label and its nodeSelector. */
export function poolTerms(pool: Pool): readonly (readonly NodeSelectorRequirement[])[] {
  let terms = termsCache.get(pool);
  if (!terms) {
    const own = [...modelTerm(pool), ...isolationTerm(pool), ...kaiTerm(pool), ...Object.entries(pool.nodeSelector).map(([k, v]) => label(k, v))]
      .sort((a, b) => a.key.localeCompare(b.key));
    terms = backendTerms(pool).map((term) => [...term, ...own]);
    termsCache.set(pool, terms);
  }
  return terms;
}

/** The placement of a pool: its own, binpack by default where the backend has one (ACK shared modes). */
export function poolPlacement(pool: Pool): Pool['placement'] {
  return pool.placement ?? (BACKEND_FACTS[pool.backend].placement ? 'binpack' : undefined);
}

/**
 * The node labels that pick the pool's nodes as a Kueue ResourceFlavor's `nodeLabels` (Kueue
 * writes them into the pod's nodeSelector at admission): the pool label when the policy has one
 * (exact: every pool's nodes carry it), else the single-value labels every term of the pool
 * requires (its mode, model and nodeSelector labels). Empty when the pool has none.
 */
export function flavorLabels(pool: Pool, poolLabel: string | undefined): Record<string, string> {
  if (poolLabel !== undefined) return { [poolLabel]: pool.name };
  const [first = [], ...others] = poolTerms(pool);
  const common = first.filter((r) => r.operator === 'In' && r.values?.length === 1
    && others.every((t) => t.some((o) => o.key === r.key && o.operator === 'In' && o.values?.length === 1 && o.values[0] === r.values?.[0])));
  return Object.fromEntries(common.map((r) => [r.key, r.values?.[0] ?? '']));
}

/** Whether a node with these labels is one of the pool's: it matches one of the terms the engine writes for the pool. */
export function poolHasLabels(pool: Pool, labels: Labels): boolean {
  return poolTerms(pool).some((term) => matchesRequirements(labels, term));
}
