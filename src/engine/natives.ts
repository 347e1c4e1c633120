import type { Pool, Policy } from '../policy/types.ts';
import { parseMigProfile } from '../policy/semantics.ts';
import { effectiveTotal, type ContainerDemand } from './demand.ts';
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

/** Why `pool` cannot take every native request of these containers, or undefined if it can. */
export function nativePoolReason(pool: Pool, containers: readonly ContainerDemand[], gpuCount: number): string | undefined {
  for (const c of containers) {
    for (const n of c.natives) {
      const reason = nativeReason(pool, n.resource, n.value, gpuCount);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

/** The cards one container's native requests stand for, and whether it shares them. */
function containerCards(c: ContainerDemand, policy: Policy, gpuCount: number): { cards: number; shared: boolean } {
  let cards = 0;
  let migSevenths = 0;
  let shared = false;
  for (const { resource, value } of c.natives) {
    const v = Math.ceil(asNumber(value));
    if (resource === NATIVE.nvidiaGpu || resource === NATIVE.aliyunGpu) cards = Math.max(cards, v);
    else if (resource === NATIVE.aliyunGpuMem) [cards, shared] = [Math.max(cards, gpuCount), true];
    else if (resource.startsWith(NATIVE.migPrefix)) {
      migSevenths += (parseMigProfile(resource.slice(NATIVE.migPrefix.length))?.slices ?? 7) * v;
      shared = true;
    } else if (policy.pools.some((p) => p.timeSlicing?.resource === resource)) [cards, shared] = [Math.max(cards, v), true];
    else shared = true; // HAMi's gpumem / gpucores make its nvidia.com/gpu a share
  }
  return { cards: Math.max(cards, Math.ceil(migSevenths / 7)), shared };
}

/**
 * Cards of a pod's native requests: `requested` adds every container's (Kubernetes' effective
 * request), as the generic path does for namespace limits; `onNode` is what one node must hold:
 * exclusive devices add up, shares may sit on the same cards (the largest share counts).
 */
export function nativeCards(containers: readonly ContainerDemand[], policy: Policy, gpuCount: number): { requested: number; onNode: number } {
  const per = new Map(containers.map((c) => [c, containerCards(c, policy, gpuCount)]));
  const requested = effectiveTotal(containers, (c) => per.get(c)?.cards ?? 0);
  const exclusive = effectiveTotal(containers, (c) => (per.get(c)?.shared ? 0 : per.get(c)?.cards ?? 0));
  const largestShare = Math.max(0, ...[...per.values()].filter((p) => p.shared).map((p) => p.cards));
  return { requested, onNode: Math.max(exclusive, largestShare) };
}
