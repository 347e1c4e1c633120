// `gpu-admission policy kueue`: the Kueue objects that follow from the policy, so that Kueue's
// flavor choice and gpu-admission's pool choice agree. Kueue's behaviour relied on here is in
// docs/kueue.md, with its source (sigs.k8s.io/kueue v0.17.0).
import { flavorLabels } from '../policy/pool-nodes.ts';
import { poolFacts } from '../policy/gke.ts';
import type { Policy, Pool } from '../policy/types.ts';
import { migProfileOfResource, parseMigProfile } from '../vocabulary/mig.ts';
import { GENERIC, KOORD } from '../vocabulary/names.ts';
import { GIB, parseQuantity, toNumber } from '../vocabulary/quantity.ts';
import { poolUnits, type PoolUnit } from './model.ts';

/** The quota names Kueue charges generic requests under (a container's totals: gpu × per-GPU value). */
export const KUEUE_QUOTA = {
  gpu: GENERIC.gpu,
  memory: 'gpu-admission.io/total-gpu-memory',
  cores: 'gpu-admission.io/total-gpu-cores',
} as const;

export const KUEUE_API = 'kueue.x-k8s.io/v1beta2';
export const KUEUE_CONFIG_API = 'config.kueue.x-k8s.io/v1beta2';
/** The ClusterQueue `policy kueue` writes. */
export const CLUSTER_QUEUE = 'gpu-admission';

/** One entry of the Kueue Configuration's `resources.transformations` (apis/config/v1beta2 ResourceTransformation). */
export interface Transformation {
  readonly input: string;
  readonly strategy: 'Replace';
  readonly multiplyBy?: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export interface KueueObjects {
  readonly flavors: readonly Record<string, unknown>[];
  readonly clusterQueue: Record<string, unknown>;
  readonly configuration: Record<string, unknown>;
  /** What Kueue cannot see or do with these, for stderr. */
  readonly notes: readonly string[];
}

const GENERIC_TRANSFORMATIONS: readonly Transformation[] = [
  { input: GENERIC.memory, strategy: 'Replace', multiplyBy: GENERIC.gpu, outputs: { [KUEUE_QUOTA.memory]: '1' } },
  { input: GENERIC.cores, strategy: 'Replace', multiplyBy: GENERIC.gpu, outputs: { [KUEUE_QUOTA.cores]: '1' } },
];

/**
 * How Kueue's pod integration (plain Pods, built from the pod after every webhook) should charge
 * one of a pool's backend names, in the generic totals; undefined when it cannot be said.
 */
function backendTransformation(pool: Pool, unit: PoolUnit): Transformation | undefined {
  const of = (quota: string, factor: string, multiplyBy?: string): Transformation =>
    ({ input: unit.resource, strategy: 'Replace', ...(multiplyBy ? { multiplyBy } : {}), outputs: { [quota]: factor } });
  const hamiCount = pool.hami?.resourceName;
  switch (unit.unit) {
    case 'GiB': return of(KUEUE_QUOTA.memory, '1Gi');
    case 'MiB': return of(KUEUE_QUOTA.memory, '1Mi', hamiCount);
    // HAMi's and Volcano's cores are per card; Koordinator's are the pod's total, and its memory ratio is no fixed quantity.
    case '%':
      if (unit.resource === KOORD.gpuMemoryRatio) return undefined;
      return of(KUEUE_QUOTA.cores, '1', pool.backend === 'hami' || pool.backend === 'volcano-vgpu' ? hamiCount : undefined);
    case 'cards': case 'vGPUs': case 'replicas': return of(KUEUE_QUOTA.gpu, '1');
    case 'slices': {
      const profile = migProfileOfResource(unit.resource) ?? parseMigProfile(unit.what.replace(/^MIG /, ''));
      return profile ? of(KUEUE_QUOTA.memory, `${profile.memoryGB}G`) : undefined;
    }
    default: return undefined;
  }
}

/** The transformations: the generic totals, plain nvidia.com/gpu as a card, then each pool's backend names (first pool wins a name). */
export function kueueTransformations(policy: Policy): { transformations: Transformation[]; notes: string[] } {
  const byInput = new Map<string, { t: Transformation; pool: string }>();
  const notes: string[] = [];
  const add = (t: Transformation, pool: string): void => {
    const seen = byInput.get(t.input);
    if (!seen) byInput.set(t.input, { t, pool });
    else if (JSON.stringify(seen.t) !== JSON.stringify(t)) {
      notes.push(`${t.input} means one thing in pool ${seen.pool} and another in pool ${pool}; Kueue charges it as ${seen.pool}'s (transformations are cluster-wide)`);
    }
  };
  for (const t of GENERIC_TRANSFORMATIONS) add(t, 'gpu-admission');
  add({ input: 'nvidia.com/gpu', strategy: 'Replace', outputs: { [KUEUE_QUOTA.gpu]: '1' } }, 'gpu-admission');
  for (const pool of policy.pools) {
    for (const unit of poolUnits(pool)) {
      const t = backendTransformation(pool, unit);
      if (t) add(t, pool.name);
    }
    if (pool.backend === 'koordinator') {
      // Koordinator's totals: gpu.shared counts cards, gpu-memory is the pod's bytes.
      add({ input: KOORD.gpuShared, strategy: 'Replace', outputs: { [KUEUE_QUOTA.gpu]: '1' } }, pool.name);
      add({ input: KOORD.gpuMemory, strategy: 'Replace', outputs: { [KUEUE_QUOTA.memory]: '1' } }, pool.name);
    }
  }
  return { transformations: [...byInput.values()].map((v) => v.t), notes };
}

/** Quota of one node's worth of the pool; 0 where the pool must refuse that kind of request. */
function poolQuotas(pool: Pool): { name: string; nominalQuota: string }[] {
  const facts = poolFacts(pool);
  const cards = pool.gpu.perNode;
  // A dra pool hands out whole devices by count, or MIG slices when it has mig (never a compute share).
  const shares = pool.backend === 'dra' ? pool.mig !== undefined : facts.shares;
  const computeShares = shares && facts.computeShares && pool.backend !== 'dra';
  const card = parseQuantity(pool.gpu.memory);
  const bytes = typeof card === 'string' ? 0 : toNumber(card) * cards; // validated with the policy
  const memory = !shares ? '0' : Number.isInteger(bytes / Number(GIB)) ? `${bytes / Number(GIB)}Gi` : String(Math.floor(bytes));
  return [
    { name: KUEUE_QUOTA.gpu, nominalQuota: String(cards) },
    { name: KUEUE_QUOTA.memory, nominalQuota: memory },
    { name: KUEUE_QUOTA.cores, nominalQuota: computeShares ? String(100 * cards) : '0' },
  ];
}

function flavorObject(pool: Pool, poolLabel: string | undefined): Record<string, unknown> {
  const tolerations = pool.taints.map((t) => ({ ...t }));
  return {
    apiVersion: KUEUE_API,
    kind: 'ResourceFlavor',
    metadata: { name: pool.name, labels: { 'app.kubernetes.io/managed-by': 'gpu-admission' } },
    spec: { nodeLabels: flavorLabels(pool, poolLabel), ...(tolerations.length > 0 ? { tolerations } : {}) },
  };
}

/** Pools whose flavor labels do not contradict another pool's terms: without the nodes, that flavor may select the other's nodes too. */
function ambiguousFlavors(pools: readonly Pool[], poolLabel: string | undefined): string[] {
  if (poolLabel !== undefined) return [];
  const pairs = pools.flatMap((p) => {
    const mine = flavorLabels(p, undefined);
    const others = pools.filter((q) => q !== p && Object.entries(mine).every(([k, v]) => (flavorLabels(q, undefined)[k] ?? v) === v));
    return others.length === 0 ? [] : [`${p.name} (also ${others.map((q) => q.name).join(', ')})`];
  });
  if (pairs.length === 0) return [];
  return [`flavors whose labels do not rule out another pool's nodes: ${pairs.join('; ')}. The webhook's node cache rules such pools out `
    + 'while they have nodes, `policy check --cluster` names nodes two pools share, and defaults.poolLabel makes every flavor exact'];
}

/** The Kueue objects for the policy: flavors and a ClusterQueue skeleton (to apply), the Configuration's transformations (to merge). */
export function kueueObjects(policy: Policy): KueueObjects {
  const { poolLabel } = policy.defaults;
  const pools = policy.pools.filter((p) => !p.disabled);
  const { transformations, notes } = kueueTransformations(policy);
  const clusterQueue = {
    apiVersion: KUEUE_API,
    kind: 'ClusterQueue',
    metadata: { name: CLUSTER_QUEUE },
    spec: {
      namespaceSelector: {},
      resourceGroups: [{
        coveredResources: Object.values(KUEUE_QUOTA),
        flavors: pools.map((p) => ({ name: p.name, resources: poolQuotas(p) })),
      }],
    },
  };
  const configuration = { apiVersion: KUEUE_CONFIG_API, kind: 'Configuration', resources: { transformations } };
  return {
    flavors: pools.map((p) => flavorObject(p, poolLabel)),
    clusterQueue,
    configuration,
    notes: [
      ...policy.pools.filter((p) => p.disabled).map((p) => `pool ${p.name} is disabled: no flavor (Kueue would admit Jobs the webhook then refuses)`),
      ...ambiguousFlavors(pools, poolLabel),
      ...notes,
      'quotas are one node\'s worth of each pool: scale them to the nodes you have; add cpu and memory (or leave them to another resource group)',
      'Kueue cannot see: the memory of one card (a request above it is charged, then refused), the gpu-admission.io/gpu-model, pools, '
        + 'numa and rdma annotations, nor that ack-core-mem serves one card per container; the webhook still refuses those',
      'Kueue charges the request, not what the pool allocates: 12Gi on a MIG pool is charged 12Gi and given a 2g.20gb slice; '
        + 'a memory share charges no gpu-admission.io/gpu, a whole card no memory; multiplyBy works on pod totals, so pods with several GPU containers are over-charged',
      'do not give these flavors a topologyName: Topology Aware Scheduling places the pod\'s own requests, and no node advertises generic names',
      'the backend transformations are for Kueue\'s pod integration (plain Pods are charged after the webhook rewrote them); Job-like kinds are charged their generic names',
    ],
  };
}
