import type { Pool, Policy } from '../policy/types.ts';
import { parseMigProfile } from '../policy/semantics.ts';
import type { ContainerDemand } from './demand.ts';
import { GIB, MIB, type Quantity } from './quantity.ts';
import { cardMemory } from './pools.ts';
import { NATIVE } from './vocabulary.ts';

/**
 * Native GPU requests (written in one dialect, such as `aliyun.com/gpu-mem: 40`) are not
 * rewritten, but a pod that no pool of the policy could ever serve is refused at once.
 */

const asNumber = (q: Quantity): number => Number(q.num) / Number(q.den);

/** Why `pool` cannot serve this native resource, or undefined if it can. */
function nativeReason(pool: Pool, resource: string, value: Quantity, gpuCount: number): string | undefined {
  const b = pool.backend;
  const card = cardMemory(pool);
  const v = asNumber(value);
  const takes = (ok: boolean) => (ok ? undefined : `${b} does not take ${resource}`);
  const perNode = (n: number) => (n > pool.gpu.perNode ? `${resource}: ${n} GPUs, a node has ${pool.gpu.perNode}` : undefined);
  if (resource === NATIVE.nvidiaGpu) return takes(['ack-exclusive', 'nvidia-exclusive', 'hami'].includes(b)) ?? perNode(v);
  if (resource === NATIVE.aliyunGpu) return takes(b === 'ack-topology') ?? perNode(v);
  if (resource === NATIVE.aliyunGpuMem) {
    const perGpu = v / gpuCount;
    return takes(['ack-cgpu', 'ack-share', 'ack-mps', 'ack-core-mem'].includes(b)) ?? perNode(gpuCount)
      ?? (perGpu > asNumber(card) / Number(GIB) ? `card has ${pool.gpu.memory}, ${resource} asks ${perGpu}Gi per GPU` : undefined);
  }
  if (resource === NATIVE.aliyunGpuCore) return takes(b === 'ack-core-mem') ?? (v > 100 ? `${resource} above 100` : undefined);
  if (resource === NATIVE.hamiMem) {
    return takes(b === 'hami') ?? (v > asNumber(card) / Number(MIB) ? `card has ${pool.gpu.memory}, ${resource} asks ${v}Mi` : undefined);
  }
  if (resource === NATIVE.hamiCores || resource === NATIVE.hamiMemPercent) return takes(b === 'hami') ?? (v > 100 ? `${resource} above 100` : undefined);
  if (resource.startsWith(NATIVE.migPrefix)) {
    const profile = parseMigProfile(resource.slice(NATIVE.migPrefix.length));
    if (!['ack-mig', 'nvidia-mig'].includes(b)) return takes(false);
    return profile && pool.mig?.profiles.includes(profile.name) ? undefined : `MIG profile ${resource.slice(NATIVE.migPrefix.length)} is not listed`;
  }
  return takes(pool.timeSlicing?.resource === resource);
}

/** Reasons per pool for a pod of native requests; an empty reason list means some pool serves it. */
export function nativeOutcomes(pools: readonly Pool[], containers: readonly ContainerDemand[], gpuCount: number): { pool: string; reason: string }[] | undefined {
  const reasons: { pool: string; reason: string }[] = [];
  for (const pool of pools) {
    const reason = containers.flatMap((c) => c.natives.map((n) => nativeReason(pool, n.resource, n.value, gpuCount)))
      .find((r) => r !== undefined);
    if (reason === undefined) return undefined;
    reasons.push({ pool: pool.name, reason });
  }
  return reasons;
}

export function allowedPools(policy: Policy, filter: (pool: Pool) => string | undefined): { usable: Pool[]; ruledOut: { pool: string; reason: string }[] } {
  const usable: Pool[] = [];
  const ruledOut: { pool: string; reason: string }[] = [];
  for (const pool of policy.pools) {
    const reason = filter(pool);
    if (reason === undefined) usable.push(pool);
    else ruledOut.push({ pool: pool.name, reason });
  }
  return { usable, ruledOut };
}
