import { BACKEND_FACTS } from '../vocabulary/backends.ts';
import { GPU_RESOURCE_PREFIXES } from '../vocabulary/names.ts';
import { satisfiable } from '../vocabulary/node-selector.ts';
import { fitWarning } from '../vocabulary/warnings.ts';
import { CLOUD_MODEL_VALUES, EKS_GPU_MEMORY_LABEL } from '../vocabulary/clouds.ts';
import { poolTerms } from './pool-nodes.ts';
import { poolFacts } from './gke.ts';
import { DEFAULT_RDMA_RESOURCE } from './defaults.ts';
import type { Policy, Pool } from './types.ts';

/**
 * Valid policies that probably do not do what the operator means. Shown by `policy check`, as
 * admission warnings when the ConfigMap is applied, and logged when a policy is loaded: so each
 * starts with its path and what to do, and fits whole in the 120 characters kubectl shows.
 */
export function policyWarnings(policy: Policy): string[] {
  const warnings: string[] = [];
  policy.pools.forEach((pool, i) => {
    if (pool.backend === 'ack-exclusive' && Object.keys(pool.nodeSelector).length === 0) {
      warnings.push(fitWarning((m) => `/pools/${i}: set a nodeSelector: ack-exclusive without one takes every ${m} node with no GPU mode label`, pool.gpu.product));
    }
    if (pool.timeSlicing && pool.timeSlicing.replicas === undefined) {
      warnings.push(`/pools/${i}/timeSlicing: set replicas, so that requests are checked against a replica's share`);
    }
    warnings.push(...productWarnings(pool, i, policy.pools));
    // Two dra pools on one node are told apart by their DeviceClasses, not by node labels.
    const overlap = policy.pools.slice(0, i).findIndex((other) => !(pool.dra && other.dra) && overlaps(pool, other));
    if (overlap !== -1) {
      warnings.push(fitWarning((o) => `/pools/${i}: tell it apart by nodeSelector: it can match the nodes of /pools/${overlap} (${o})`, policy.pools[overlap]?.name ?? ''));
    }
    const unseen = [pool.timeSlicing?.resource, pool.hami?.resourceName, pool.hami?.resourceMem, pool.hami?.resourceMemPercentage,
      pool.hami?.resourceCores, ...(pool.dra?.deviceClasses ?? []).map((d) => d.extendedResourceName)]
      .filter((r): r is string => r !== undefined && !GPU_RESOURCE_PREFIXES.some((prefix) => r.startsWith(prefix)));
    if (unseen.length > 0) {
      // The webhook configurations send only pods that name these prefixes: others escape maxGpusPerPod and allowedPools.
      warnings.push(`/pools/${i}: rename ${unseen.join(', ')} under nvidia.com/ or hami.io/: pods asking it escape namespace rules`);
    }
    if (pool.rdma?.resource === DEFAULT_RDMA_RESOURCE && !pool.backend.startsWith('ack-')) {
      warnings.push(`/pools/${i}: set rdma.resource: rdma on ${pool.backend} uses ACK's aliyun/erdma`);
    }
  });
  policy.namespaces.forEach((rule, i) => {
    if (rule.allowedPools?.length === 0) warnings.push(`/namespaces/${i}/allowedPools: list pools: empty, those namespaces get no GPU`);
  });
  // GKE's own pods write nvidia.com/gpu: 1 for a share; read as a whole card, it fits no shared gke pool.
  const shared = policy.pools.findIndex((p) => p.backend === 'gke' && p.gke !== undefined);
  if (policy.defaults.acceptNvidiaGpu && shared !== -1) {
    warnings.push(`/defaults/acceptNvidiaGpu: set false: on /pools/${shared} (GKE sharing) nvidia.com/gpu: 1 is a share, not a whole card`);
  }
  const isolations = new Set(policy.pools.map((p) => poolFacts(p).isolation));
  if (policy.defaults.isolation === 'compute' && !isolations.has('compute')) {
    warnings.push('/defaults/isolation: add a pool that isolates compute, or lower it: compute, but no pool isolates compute');
  }
  return warnings;
}

/** GPU model labels publish vendor names (nvidia-smi's, with `-`): a bare model name matches no node. */
const VENDOR_NAME = /^(NVIDIA|Tesla|Quadro|GeForce|RTX|A\d+-PCIE|Graphics-Device)-/i;

function productWarnings(pool: Pool, i: number, pools: readonly Pool[]): string[] {
  const { model } = BACKEND_FACTS[pool.backend];
  const product = pool.gpu.product;
  if ('podAnnotation' in model) {
    // HAMi matches card types by case-insensitive substring, and writes them with a space (NVIDIA L40S).
    const wider = pools.findIndex((p, j) => j !== i && p.backend === pool.backend && p.gpu.product !== product
      && p.gpu.product.toLowerCase().includes(product.toLowerCase()));
    if (wider !== -1) {
      return [fitWarning((a, b) => `/pools/${i}/gpu/product: make it unique: HAMi matches types by substring, ${a} also takes /pools/${wider}'s ${b}`,
        product, pools[wider]?.gpu.product ?? '')];
    }
    return /^NVIDIA-/i.test(product) ? [fitWarning((s) => `/pools/${i}/gpu/product: use the short name ${s}: HAMi names cards "NVIDIA ${s}"`, product.slice(7))] : [];
  }
  if ('deviceAttribute' in model) {
    // NVIDIA's DRA driver publishes NVML's name, with spaces (NVIDIA H100 80GB HBM3), not the label's dashes.
    return product.includes(' ') ? [] : [fitWarning((p) => `/pools/${i}/gpu: set gpu.product to NVML's name (NVIDIA H100 80GB HBM3): the driver's `
      + `${model.deviceAttribute} is never "${p}"`, product)];
  }
  // A cloud's model label: the pool's own, or GKE's accelerator label on gke pools.
  const key = pool.gpu.modelLabel ?? (pool.backend === 'gke' ? model.nodeLabel : undefined);
  if (key !== undefined) return cloudLabelWarnings(pool, i, key);
  if (model.nodeLabel in pool.nodeSelector) return [];
  if (pool.backend === 'koordinator') {
    // koordlet strips the vendor: "A100 SXM4 80GB -> A100-SXM4-80GB", "Tesla T4 -> Tesla-T4" (states_device_linux.go).
    return /^NVIDIA-/i.test(product) ? [fitWarning((s) => `/pools/${i}/gpu/product: use ${s}: Koordinator's gpu-model label drops "NVIDIA "`, product.slice(7))] : [];
  }
  if (VENDOR_NAME.test(product)) return [];
  return [fitWarning((p) => `/pools/${i}/gpu: set gpu.product to the vendor's name (NVIDIA-…): nodes match ${model.nodeLabel}=${p}`, product)];
}

/**
 * Whether two pools can hold the same node: a term of each that some node could satisfy
 * together, where one constrains no label the other leaves free (pools told apart only by
 * labels of different keys are not flagged: only the nodes themselves could tell).
 */
function overlaps(a: Pool, b: Pool): boolean {
  return poolTerms(a).some((ta) => poolTerms(b).some((tb) => {
    const [ka, kb] = [new Set(ta.map((r) => r.key)), new Set(tb.map((r) => r.key))];
    const nested = [...ka].every((k) => kb.has(k)) || [...kb].every((k) => ka.has(k));
    return nested && satisfiable([...ta, ...tb]);
  }));
}

/**
 * A cloud's model label holds its own spelling (GKE nvidia-l4, Karpenter l40s): a product that
 * cannot be one matches no node. Karpenter's (or EKS Auto Mode's) GPU name alone also takes other cards of that name.
 */
function cloudLabelWarnings(pool: Pool, i: number, key: string): string[] {
  const warnings: string[] = [];
  const values = CLOUD_MODEL_VALUES[key];
  if (values && !values.shape.test(pool.gpu.product)) {
    warnings.push(fitWarning((p) => `/pools/${i}/gpu/product: set it as ${key} spells it (${values.example}): nodes never hold ${p}`, pool.gpu.product));
  }
  const memory = EKS_GPU_MEMORY_LABEL[key];
  if (memory !== undefined && !(memory in pool.nodeSelector)) {
    warnings.push(`/pools/${i}/nodeSelector: add ${memory}: one GPU name spans cards (a100: 40 and 80 GB)`);
  }
  return warnings;
}
