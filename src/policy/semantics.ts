import { GIB, floorUnits, parseQuantity, type Quantity } from '../vocabulary/quantity.ts';
import { cardMigCatalog, computeSlices, memorySlices, parseMigProfile } from '../vocabulary/mig.ts';
import { NATIVE } from '../vocabulary/names.ts';
import { suggest } from './suggest.ts';
import { BACKENDS, BACKEND_FACTS, ownedLabel, type Backend } from '../vocabulary/backends.ts';
import type { Pool, Policy } from './types.ts';

/** The backends whose pools have a placement (ACK shared modes: the label ack.node.gpu.placement). */
const PLACED: readonly Backend[] = BACKENDS.filter((b) => BACKEND_FACTS[b].placement);
const MIG_BACKENDS: ReadonlySet<Backend> = new Set(['ack-mig', 'nvidia-mig']);
const NVIDIA_GPU = NATIVE.nvidiaGpu;

/** Whether a pool's pods ask nvidia.com/gpu: exclusive cards, time-slicing that keeps the name, MIG's single strategy. */
function writesNvidiaGpu(pool: Pool): boolean {
  return pool.backend === 'ack-exclusive' || pool.backend === 'nvidia-exclusive' || pool.timeSlicing?.resource === NVIDIA_GPU
    || (pool.backend === 'nvidia-mig' && pool.mig?.strategy === 'single');
}

/** Checks the schema cannot express. Each error names its path. */
export function checkSemantics(policy: Omit<Policy, 'revision'>): string[] {
  const errors: string[] = [];
  const seen = new Map<string, number>();
  policy.pools.forEach((pool, i) => {
    const path = `/pools/${i}`;
    const first = seen.get(pool.name);
    if (first !== undefined) errors.push(`${path}/name: "${pool.name}" is already the name of /pools/${first}`);
    else seen.set(pool.name, i);
    errors.push(...checkPool(pool, path));
  });
  policy.namespaces.forEach((rule, i) => {
    rule.selector?.matchExpressions?.forEach((r, j) => {
      const many = r.operator === 'In' || r.operator === 'NotIn';
      if (many !== ((r.values?.length ?? 0) > 0)) {
        errors.push(`/namespaces/${i}/selector/matchExpressions/${j}/values: ${many ? `${r.operator} needs at least one value` : `${r.operator} takes no values`}`);
      }
    });
    for (const field of ['allowedPools', 'preferredPools'] as const) {
      rule[field]?.forEach((name, j) => {
        if (!seen.has(name)) errors.push(`/namespaces/${i}/${field}/${j}: no pool is named "${name}"${suggest(name, [...seen.keys()])}`);
      });
    }
  });
  return [...errors, ...hamiBesideExclusive(policy.pools)];
}

/**
 * HAMi's webhook claims every pod that asks its resource names and gives it to hami-scheduler,
 * so an exclusive pool writing the same name would lose its pods to HAMi.
 */
function hamiBesideExclusive(pools: readonly Pool[]): string[] {
  const others = pools.filter((p) => p.backend !== 'hami' && writesNvidiaGpu(p));
  return pools.flatMap((p, i) => {
    const clash = p.hami?.resourceName === NVIDIA_GPU ? others[0] : undefined;
    return clash ? [`/pools/${i}/hami/resourceName: HAMi's webhook would claim the ${NVIDIA_GPU} pods of pool ${clash.name} `
      + `(${clash.backend}) for hami-scheduler; rename HAMi's resources (its chart's resourceName, resourceMem, resourceCores) and set them here`] : [];
  });
}

function checkPool(pool: Pool, path: string): string[] {
  const errors: string[] = [];
  const memory = parseQuantity(pool.gpu.memory);
  if (typeof memory === 'string' || memory.num <= 0n) {
    errors.push(`${path}/gpu/memory: must be a positive quantity such as 24Gi`);
  } else if (floorUnits(memory, GIB) < 1n) {
    errors.push(`${path}/gpu/memory: must be at least 1Gi`);
  }
  if (BACKEND_FACTS[pool.backend].modeLabel === undefined && Object.keys(pool.nodeSelector).length === 0) {
    errors.push(`${path}/nodeSelector: backend ${pool.backend} needs a nodeSelector that picks the pool's nodes`);
  }
  const owned = ownedLabel(pool.backend);
  if (owned !== undefined && owned in pool.nodeSelector) {
    errors.push(`${path}/nodeSelector: "${owned}" is set by backend ${pool.backend}; remove it`);
  }
  if (pool.placement !== undefined && !BACKEND_FACTS[pool.backend].placement) {
    errors.push(`${path}/placement: only ACK shared backends (${PLACED.join(', ')}) have a placement`);
  }
  if (pool.timeSlicing !== undefined && pool.backend !== 'nvidia-time-slicing') {
    errors.push(`${path}/timeSlicing: only backend nvidia-time-slicing takes it`);
  }
  if (pool.hami !== undefined && pool.backend !== 'hami') errors.push(`${path}/hami: only backend hami takes it`);
  errors.push(...checkMig(pool, path, memory), ...checkNuma(pool, path), ...checkTaints(pool, path));
  return errors;
}

function checkMig(pool: Pool, path: string, memory: Quantity | string): string[] {
  const { mig } = pool;
  if (!MIG_BACKENDS.has(pool.backend)) return mig ? [`${path}/mig: only MIG backends (ack-mig, nvidia-mig) take it`] : [];
  if (!mig) return [`${path}/mig: backend ${pool.backend} needs mig.profiles or mig.layout`];
  if (typeof memory === 'string') return [];
  const errors: string[] = [];
  const at = (name: string, j: number): string => (mig.layout ? `${path}/mig/layout/${name}` : `${path}/mig/profiles/${j}`);
  if (mig.strategy === 'single' && pool.backend !== 'nvidia-mig') errors.push(`${path}/mig/strategy: single is the NVIDIA device plugin's (nvidia-mig)`);
  if (mig.strategy === 'single' && mig.profiles.length !== 1) {
    errors.push(`${path}/mig/profiles: the single strategy cuts every card alike: list exactly one profile`);
  }
  const catalog = cardMigCatalog(pool.gpu, memory);
  mig.profiles.forEach((name, j) => {
    const profile = parseMigProfile(name);
    if (!profile) return;
    if (profile.memoryBytes * memory.den > memory.num) {
      errors.push(`${at(name, j)}: ${name} needs ${profile.memoryGB} GB, the card has ${pool.gpu.memory}`);
    } else if (catalog && catalog.profiles[name] === undefined) {
      errors.push(`${at(name, j)}: ${name} is not a MIG profile of the ${catalog.name} (it offers ${Object.keys(catalog.profiles).join(', ')})`);
    } else if (catalog && mig.layout && (mig.layout[name] ?? 0) > (catalog.profiles[name] ?? 0)) {
      errors.push(`${at(name, j)}: a card holds at most ${catalog.profiles[name]} × ${name}`);
    }
  });
  const layout = Object.entries(mig.layout ?? {});
  const slices = layout.reduce((sum, [name, n]) => sum + (parseMigProfile(name)?.slices ?? 0) * n, 0);
  const total = computeSlices(catalog);
  if (slices > total) errors.push(`${path}/mig/layout: ${slices} compute slices, a card has ${total}`);
  const memoryUsed = layout.reduce((sum, [name, n]) => sum + (memorySlices(catalog, name) ?? 0) * n, 0);
  const memoryTotal = total === 4 ? 4 : 8;
  if (catalog && memoryUsed > memoryTotal) errors.push(`${path}/mig/layout: ${memoryUsed} memory slices, a card has ${memoryTotal}`);
  return errors;
}

/** Taints become pod tolerations, which the API server validates: say so here instead. */
function checkTaints(pool: Pool, path: string): string[] {
  return pool.taints.flatMap((t, j) => {
    if (t.operator === 'Exists' && t.value !== undefined && t.value !== '') {
      return [`${path}/taints/${j}/value: must be empty when operator is Exists`];
    }
    if (t.operator === 'Equal' && (t.key === undefined || t.key === '')) return [`${path}/taints/${j}/key: needed when operator is Equal`];
    return [];
  });
}

function checkNuma(pool: Pool, path: string): string[] {
  const numa = pool.numa;
  if (!numa) return [];
  if (pool.backend !== 'ack-topology') return [`${path}/numa: NUMA scheduling needs backend ack-topology`];
  if (numa.nodes * numa.gpusPerNode !== pool.gpu.perNode) {
    return [`${path}/numa: ${numa.nodes} nodes × ${numa.gpusPerNode} GPUs is not gpu.perNode (${pool.gpu.perNode})`];
  }
  return [];
}
