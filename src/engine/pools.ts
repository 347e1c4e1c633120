import type { Isolation, Pool, Policy } from '../policy/types.ts';
import {
  BACKEND_SPECS, isFraction, isolationCovers, poolPlacement, type ContainerTranslation,
} from './backends.ts';
import { effectiveTotal, type ContainerDemand, type GpuRequest } from './demand.ts';
import type { Intent } from './intent.ts';
import type { NamespaceLimits } from './namespace.ts';
import { parseQuantity, type Quantity } from './quantity.ts';
import { ACK_CPUSET_ANNOTATION, ACK_GPU_COUNT_LABEL, ACK_NUMA_ANNOTATION, ANNOTATION } from './vocabulary.ts';

/** Facts about the whole pod that every pool is judged against. */
export interface PodFacts {
  readonly namespace: string;
  readonly intent: Intent;
  readonly limits: NamespaceLimits;
  readonly isolation: Isolation;
  /** Containers that ask for GPUs. */
  readonly gpuContainers: readonly (ContainerDemand & { readonly request: GpuRequest })[];
  /**
   * Cards a pod of native requests holds on one node. Generic requests are counted per pool
   * instead (`wholeCards`: whether a request is a whole card depends on the card), so 0 there.
   * `requested` counts every card asked, shares included, for namespace limits.
   */
  readonly gpus: number;
  readonly requested: number;
  readonly cpus: number;
  /** Why the pod's CPUs do not suit NUMA binding, if they do not. */
  readonly cpuProblem?: string;
  /** Names of the pod's privileged containers: they see every card of the node. */
  readonly privileged: readonly string[];
}

/** How a pool would serve the pod. Plans with equal `key` translate the pod identically. */
export interface PoolPlan {
  readonly pool: Pool;
  readonly containers: ReadonlyMap<string, ContainerTranslation>;
  /** Pod labels to set; null removes a label (a stale aliyun.com/gpu-count). */
  readonly labels: Readonly<Record<string, string | null>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly schedulerName?: string;
  readonly rdmaResource?: string;
  readonly warnings: readonly string[];
  /** A NUMA BestEffort request this pool cannot honour. */
  readonly downgraded: boolean;
  readonly key: string;
}

export type PoolOutcome =
  | { readonly ok: true; readonly plan: PoolPlan }
  | { readonly ok: false; readonly pool: Pool; readonly reason: string };

const cardCache = new WeakMap<Pool, Quantity>();
export function cardMemory(pool: Pool): Quantity {
  let card = cardCache.get(pool);
  if (!card) {
    card = parseQuantity(pool.gpu.memory) as Quantity; // validated when the policy was parsed
    cardCache.set(pool, card);
  }
  return card;
}

/** Pod-level reasons a pool is ruled out, before any container is translated. */
export function admissionReason(pool: Pool, facts: PodFacts): string | undefined {
  const { intent, limits } = facts;
  const spec = BACKEND_SPECS[pool.backend];
  if (limits.allowedPools && !limits.allowedPools.has(pool.name)) return `not allowed in namespace ${facts.namespace}`;
  if (intent.pools && !intent.pools.includes(pool.name)) return `not in ${ANNOTATION.pools}`;
  if (intent.models && !intent.models.includes(pool.gpu.model)) return `model ${pool.gpu.model} is not ${intent.models.join(' or ')}`;
  if (!isolationCovers(spec.isolation, facts.isolation)) {
    return `${pool.backend} isolates ${spec.isolation === 'none' ? 'nothing' : spec.isolation}, the pod needs ${facts.isolation}`;
  }
  const placement = poolPlacement(pool);
  if (intent.placement && placement !== intent.placement) return `placement is ${placement ?? 'not configurable'}, not ${intent.placement}`;
  if (intent.rdma && !pool.rdma) return 'has no RDMA';
  const [privileged] = facts.privileged;
  if (privileged !== undefined && spec.shares) return `container "${privileged}" is privileged and would see every shared card of the node`;
  if (facts.gpus > pool.gpu.perNode) return `pod asks ${facts.gpus} GPUs, a node has ${pool.gpu.perNode}`;
  return undefined;
}

/** Whole cards on one node of this pool: requests that are not a share of its card. */
function wholeCards(pool: Pool, facts: PodFacts): number {
  const card = cardMemory(pool);
  return effectiveTotal(facts.gpuContainers, (c) => (c.request && !isFraction(c.request, card) ? c.request.gpu : 0));
}

function numaProblem(pool: Pool, facts: PodFacts, cards: number): string | undefined {
  const { numa } = facts.intent;
  if (!numa) return undefined;
  if (!pool.numa) return 'has no NUMA topology';
  const card = cardMemory(pool);
  if (facts.gpuContainers.some((c) => isFraction(c.request, card))) return 'NUMA binding needs whole GPUs';
  if (facts.cpuProblem) return facts.cpuProblem;
  if (numa !== 'SingleNUMANode') return undefined;
  if (cards > pool.numa.gpusPerNode) return `${cards} GPUs exceed one NUMA node (${pool.numa.gpusPerNode})`;
  if (facts.cpus > pool.numa.cpusPerNode) return `${facts.cpus} CPUs exceed one NUMA node (${pool.numa.cpusPerNode})`;
  return undefined;
}

function numaAnnotations(intent: Intent): Record<string, string> {
  const spec = { numaTopologyPolicy: intent.numa, ...(intent.numaExclusive ? { singleNUMANodeExclusive: intent.numaExclusive } : {}) };
  return { [ACK_CPUSET_ANNOTATION]: 'required', [ACK_NUMA_ANNOTATION]: JSON.stringify(spec) };
}

/** Judges one pool: a plan for serving the pod, or the reason it cannot. */
export function evaluatePool(pool: Pool, facts: PodFacts, policy: Policy): PoolOutcome {
  const fail = (reason: string): PoolOutcome => ({ ok: false, pool, reason });
  const early = admissionReason(pool, facts);
  if (early) return fail(early);
  const cards = wholeCards(pool, facts);
  const numa = numaProblem(pool, facts, cards);
  const downgraded = numa !== undefined && facts.intent.numa === 'BestEffort';
  if (numa && !downgraded) return fail(numa);
  const card = cardMemory(pool);
  const spec = BACKEND_SPECS[pool.backend];
  const containers = new Map<string, ContainerTranslation>();
  const warnings: string[] = [];
  const counts = new Set<number>();
  for (const c of facts.gpuContainers) {
    const who = facts.gpuContainers.length > 1 ? `container "${c.name}": ` : '';
    if (c.request.gpu > pool.gpu.perNode) return fail(`${who}${c.request.gpu} GPUs, a node has ${pool.gpu.perNode}`);
    if (c.request.memory && c.request.memory.num * card.den > card.num * c.request.memory.den) {
      return fail(`${who}card has ${pool.gpu.memory}`);
    }
    const t = spec.translate({ request: c.request, pool, card, rounding: policy.defaults.rounding, container: c.name });
    if ('reason' in t) return fail(`${who}${t.reason}`);
    containers.set(c.name, t);
    warnings.push(...t.warnings);
    counts.add(c.request.gpu);
  }
  if (cards > pool.gpu.perNode) return fail(`pod asks ${cards} GPUs, a node has ${pool.gpu.perNode}`);
  if (spec.ackShared && counts.size > 1) return fail(`ACK shares one GPU count per pod; containers ask ${[...counts].join(' and ')} GPUs`);
  if (downgraded) warnings.push(`NUMA BestEffort dropped on pool ${pool.name}: ${numa}`);
  const [count = 1] = counts;
  const labels: Record<string, string | null> = spec.ackShared ? { [ACK_GPU_COUNT_LABEL]: count > 1 ? String(count) : null } : {};
  const annotations = facts.intent.numa && !downgraded ? numaAnnotations(facts.intent) : {};
  const schedulerName = pool.schedulerName ?? spec.schedulerName;
  const rdmaResource = facts.intent.rdma ? pool.rdmaResource : undefined;
  const key = JSON.stringify([[...containers].map(([n, t]) => [n, t.resources]), labels, annotations, schedulerName, rdmaResource]);
  return {
    ok: true,
    plan: { pool, containers, labels, annotations, warnings, downgraded, key,
      ...(schedulerName ? { schedulerName } : {}), ...(rdmaResource ? { rdmaResource } : {}) },
  };
}
