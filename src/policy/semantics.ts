import { GIB, floorUnits, parseQuantity, type Quantity } from '../vocabulary/quantity.ts';
import { parseMigProfile } from '../vocabulary/mig.ts';
import { BACKENDS, BACKEND_FACTS, ownedLabel, type Backend } from '../vocabulary/backends.ts';
import type { Pool, Policy } from './types.ts';

/** The backends whose pools have a placement (ACK shared modes: the label ack.node.gpu.placement). */
const PLACED: readonly Backend[] = BACKENDS.filter((b) => BACKEND_FACTS[b].placement);
const MIG_BACKENDS: ReadonlySet<Backend> = new Set(['ack-mig', 'nvidia-mig']);

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
    rule.allowedPools?.forEach((name, j) => {
      if (!seen.has(name)) errors.push(`/namespaces/${i}/allowedPools/${j}: no pool is named "${name}"`);
    });
  });
  return errors;
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
  errors.push(...checkMig(pool, path, memory), ...checkNuma(pool, path), ...checkTaints(pool, path));
  return errors;
}

function checkMig(pool: Pool, path: string, memory: Quantity | string): string[] {
  if (!MIG_BACKENDS.has(pool.backend)) {
    return pool.mig ? [`${path}/mig: only MIG backends (ack-mig, nvidia-mig) take it`] : [];
  }
  if (!pool.mig) return [`${path}/mig: backend ${pool.backend} needs mig.profiles`];
  if (typeof memory === 'string') return [];
  const errors: string[] = [];
  pool.mig.profiles.forEach((name, j) => {
    const profile = parseMigProfile(name);
    if (profile && profile.memoryBytes * memory.den > memory.num) {
      errors.push(`${path}/mig/profiles/${j}: ${name} needs ${profile.memoryGB} GB, the card has ${pool.gpu.memory}`);
    }
  });
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
