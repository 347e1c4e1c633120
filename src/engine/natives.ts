import { timeSlicingResource } from '../policy/time-slicing.ts';
import type { Pool, Policy } from '../policy/types.ts';
import { BACKEND_FACTS } from '../vocabulary/backends.ts';
import { migProfileOfResource } from '../vocabulary/mig.ts';
import { ACK_GPU_COUNT_LABEL, NATIVE } from '../vocabulary/names.ts';
import { GIB, MIB, isInteger, type Quantity } from '../vocabulary/quantity.ts';
import { effectiveTotal, type ContainerDemand } from './demand.ts';
import { cardMemory } from './pools.ts';
import { problem, type Problem } from './problem.ts';

/**
 * Native GPU requests (written in one dialect, such as `aliyun.com/gpu-mem: 40`) are not
 * rewritten, but they are held to the values their backend accepts, and a pod that no pool of
 * the policy could ever serve is refused at once.
 */

const asNumber = (q: Quantity): number => Number(q.num) / Number(q.den);

/** The ACK card count of a pod: its label aliyun.com/gpu-count (1 without it), or a problem. */
export function readGpuCount(labels: Readonly<Record<string, string>> | undefined): number | Problem {
  const text = labels?.[ACK_GPU_COUNT_LABEL];
  if (text === undefined) return 1;
  const n = Number(text);
  return typeof text === 'string' && /^[1-9]\d{0,3}$/.test(text) && Number.isInteger(n)
    ? n : problem('invalid-request', `label ${ACK_GPU_COUNT_LABEL}: "${String(text)}" is not a whole number of cards from 1`);
}

type Rule = (v: Quantity, c: ContainerDemand, gpuCount: number) => string | undefined;
const range = (lo: number, hi: number, what: string): Rule => (v) =>
  (isInteger(v) && asNumber(v) >= lo && asNumber(v) <= hi ? undefined : `must be a whole ${what} from ${lo} to ${hi}`);
const has = (c: ContainerDemand, resource: string): boolean => c.natives.some((n) => n.resource === resource);

/** What each backend accepts of its own resources (docs/backends.md gives the sources). */
const RULES: Readonly<Record<string, Rule>> = {
  [NATIVE.aliyunGpuMem]: (v, _c, count) => {
    if (!isInteger(v) || v.num < 1n) return 'must be a whole number of GiB from 1';
    return v.num % BigInt(count) === 0n ? undefined
      : `${v.text} is not divisible by ${ACK_GPU_COUNT_LABEL} ${count}: each card gives an equal whole GiB share`;
  },
  [NATIVE.aliyunGpuCore]: (v, c, count) => {
    if (!isInteger(v) || v.num < 5n || v.num > 100n || v.num % 5n !== 0n) return 'must be a multiple of 5 from 5 to 100';
    if (!has(c, NATIVE.aliyunGpuMem)) return `needs ${NATIVE.aliyunGpuMem} in the same container (ACK core_mem asks both)`;
    return count > 1 ? `cannot be shared over ${count} cards: ACK's multi-GPU sharing isolates memory only` : undefined;
  },
  [NATIVE.aliyunGpu]: range(1, 1024, 'number of GPUs'),
  [NATIVE.nvidiaGpu]: range(1, 1024, 'number of GPUs'),
  [NATIVE.hamiMem]: range(1, 2 ** 31 - 1, 'number of MiB'),
  [NATIVE.hamiMemPercent]: range(0, 100, 'percent'), // HAMi reads 0 as unset
  [NATIVE.hamiCores]: range(0, 100, 'percent'),
};

/** The values no backend would accept, each naming the container and the resource. */
export function nativeValueProblems(containers: readonly ContainerDemand[], gpuCount: number): Problem[] {
  return containers.flatMap((c) => c.natives.flatMap(({ resource, value }) => {
    const field = `container "${c.name}": resources.limits["${resource}"]`;
    if (resource.startsWith(NATIVE.migPrefix)) {
      if (!migProfileOfResource(resource)) return [problem('invalid-request', `${field}: not a MIG profile NVIDIA exposes (such as nvidia.com/mig-1g.10gb)`)];
      return isInteger(value) && value.num >= 1n ? [] : [problem('invalid-request', `${field}: must be a whole number of MIG devices from 1`)];
    }
    const rule = RULES[resource] ?? range(1, 1024, 'number of devices');
    const why = rule(value, c, gpuCount);
    return why ? [problem('invalid-request', `${field}: ${why} (got "${value.text}")`)] : [];
  }));
}

/** Why `pool` cannot serve this native resource, or undefined if it can. */
function nativeReason(pool: Pool, c: ContainerDemand, resource: string, value: Quantity, gpuCount: number): string | undefined {
  const b = pool.backend;
  const facts = BACKEND_FACTS[b];
  const card = cardMemory(pool);
  const v = asNumber(value);
  const takes = (ok: boolean) => (ok ? undefined : `${b} does not take ${resource}`);
  const perNode = (n: number) => (n > pool.gpu.perNode ? `${resource}: ${n} GPUs, a node has ${pool.gpu.perNode}` : undefined);
  if (resource === NATIVE.nvidiaGpu) return takes(['ack-exclusive', 'nvidia-exclusive', 'hami'].includes(b)) ?? perNode(v);
  if (resource === NATIVE.aliyunGpu) return takes(b === 'ack-topology') ?? perNode(v);
  if (resource === NATIVE.aliyunGpuMem) {
    const perGpu = v / gpuCount;
    return takes(facts.family === 'ack' && facts.placement) ?? perNode(gpuCount)
      ?? (gpuCount > 1 && !facts.multiCardShares ? `${b} serves one card per pod (ACK documents multi-GPU sharing for cgpu only)` : undefined)
      ?? (facts.computeRequired && !has(c, NATIVE.aliyunGpuCore)
        ? `${b} needs ${NATIVE.aliyunGpuCore} beside ${resource}: ACK does not mix memory-only and memory+compute jobs on one node` : undefined)
      ?? (perGpu > asNumber(card) / Number(GIB) ? `card has ${pool.gpu.memory}, ${resource} asks ${perGpu}Gi per GPU` : undefined);
  }
  if (resource === NATIVE.aliyunGpuCore) return takes(b === 'ack-core-mem');
  if (resource === NATIVE.hamiMem) {
    return takes(b === 'hami') ?? (v > asNumber(card) / Number(MIB) ? `card has ${pool.gpu.memory}, ${resource} asks ${v}Mi` : undefined);
  }
  if (resource === NATIVE.hamiCores || resource === NATIVE.hamiMemPercent) return takes(b === 'hami');
  if (resource.startsWith(NATIVE.migPrefix)) {
    const profile = migProfileOfResource(resource);
    if (!['ack-mig', 'nvidia-mig'].includes(b)) return takes(false);
    return profile && pool.mig?.profiles.includes(profile.name) ? undefined : `MIG profile ${profile?.name ?? resource} is not listed`;
  }
  return takes(timeSlicingResource(pool) === resource);
}

/** Why `pool` cannot take every native request of these containers, or undefined if it can. */
export function nativePoolReason(pool: Pool, containers: readonly ContainerDemand[], gpuCount: number): string | undefined {
  for (const c of containers) {
    for (const n of c.natives) {
      const reason = nativeReason(pool, c, n.resource, n.value, gpuCount);
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
    const profile = migProfileOfResource(resource);
    if (resource === NATIVE.nvidiaGpu || resource === NATIVE.aliyunGpu) cards = Math.max(cards, v);
    else if (resource === NATIVE.aliyunGpuMem) [cards, shared] = [Math.max(cards, gpuCount), true];
    else if (profile || resource.startsWith(NATIVE.migPrefix)) {
      migSevenths += (profile?.slices ?? 7) * v;
      shared = true;
    } else if (policy.pools.some((p) => timeSlicingResource(p) === resource)) [cards, shared] = [Math.max(cards, v), true];
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
  return { requested, onNode: exclusive + largestShare };
}
