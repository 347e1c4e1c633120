import { deviceClassOfResource, DRA_COUNT_ONLY } from '../policy/dra.ts';
import type { Pool, PoolRdma, Policy } from '../policy/types.ts';
import { poolIsolation, poolPlacement } from '../policy/pool-nodes.ts';
import { BACKEND_FACTS, isolationCovers, type BackendFacts, type Isolation } from '../vocabulary/backends.ts';
import { gkeMode, nodeGpuUnits, poolFacts } from '../policy/gke.ts';
import { ACK_CPUSET_ANNOTATION, ACK_GPU_COUNT_LABEL, ACK_NUMA_ANNOTATION, ANNOTATION, KAI, KOORD, NATIVE } from '../vocabulary/names.ts';
import { cardMigCatalog, computeSlices, migProfileOfResource, parseMigProfile } from '../vocabulary/mig.ts';
import { GIB, floorUnits, parseQuantity, type Quantity } from '../vocabulary/quantity.ts';
import { fitWarning } from '../vocabulary/warnings.ts';
import { placementReason, type KnownNodes, type PodPlacement } from './constraints.ts';
import { gpuTypeReason, hamiAnnotations, hamiPlacementReason, volcanoModeReason } from './hami-choices.ts';
import { effectiveTotal, type ContainerDemand, type ContainerRole, type GpuRequest } from './demand.ts';
import type { Intent } from './intent.ts';
import type { NamespaceLimits } from './namespace.ts';
import { isFraction, poolScheduler, schedulerToWrite, translate, writtenNames, type ContainerTranslation } from './translate.ts';

/** Facts about the whole pod that every pool is judged against. */
export interface PodFacts {
  readonly namespace: string;
  readonly intent: Intent;
  readonly limits: NamespaceLimits;
  readonly isolation: Isolation;
  readonly placement: PodPlacement;
  /** Each pool's nodes, when the webhook's node cache knows them. */
  readonly knownNodes?: KnownNodes;
  /** Containers that ask for GPUs. */
  readonly gpuContainers: readonly (ContainerDemand & { readonly request: GpuRequest })[];
  /** Every card the pod asks, shares included, for namespace limits. */
  readonly requested: number;
  readonly cpus: number;
  /** Why the pod's CPUs do not suit ACK's NUMA binding, if they do not. */
  readonly cpuProblem?: string;
  /** Names of the pod's privileged containers: they see every card of the node. */
  readonly privileged: readonly string[];
  /** Roles of the containers that ask for GPUs (init containers and sidecars are not served everywhere). */
  readonly gpuRoles: ReadonlySet<ContainerRole>;
  /** App containers that ask for GPUs (ACK's GPU sharing serves one per pod). */
  readonly gpuApps: number;
  /** Containers of every kind that ask for GPUs (Koordinator gives each of them all of the pod's cards). */
  readonly gpuContainerCount: number;
  /** The pod's own labels (a KAI queue label it has is kept). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Native requests only: whether they share cards as koord-scheduler reads them (gpu-memory, or a ratio below a card). */
  readonly nativeKoordShare?: boolean;
  /** The pod asks KAI for MPS (annotation mps: "true"), which KAI serves only beside a GPU fraction. */
  readonly kaiMps?: boolean;
}

/** How a pool would serve the pod. Plans that are `samePlan` translate the pod identically. */
export interface PoolPlan {
  readonly pool: Pool;
  readonly containers: ReadonlyMap<string, ContainerTranslation>;
  /** Pod labels to set; null removes a label (a stale aliyun.com/gpu-count). */
  readonly labels: Readonly<Record<string, string | null>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly schedulerName?: string;
  /** RDMA devices the pod's first GPU app container gets, when the pod asks RDMA. */
  readonly rdma?: PoolRdma;
  readonly warnings: readonly string[];
  /** A NUMA BestEffort request this pool cannot honour. */
  readonly downgraded: boolean;
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

/**
 * What a pool's verdict and plan take from the policy alone, worked out once per pool (policies
 * are immutable once parsed): judging a pool for a pod then compares the pod's facts with these.
 */
interface PoolSheet {
  readonly backend: BackendFacts;
  readonly isolation: Isolation;
  /** ACK's GPU sharing (a placement label): one card count per pod, aliyun.com/gpu-count written. */
  readonly ackShared: boolean;
  /** The card's memory in whole GiB. */
  readonly cardGiB: number;
  readonly schedulerName?: string;
  /** Whether the plan may write labels besides ACK's count: koordinator's isolation label, KAI's queue and node pool. */
  readonly labelled: boolean;
  /** Whether the plan may write annotations besides NUMA's and the containers' own: HAMi's or Volcano's card type and placement, koordinator's. */
  readonly annotated: boolean;
}

const sheets = new WeakMap<Pool, PoolSheet>();
function poolSheet(pool: Pool): PoolSheet {
  let sheet = sheets.get(pool);
  if (!sheet) {
    const backend = poolFacts(pool);
    const schedulerName = schedulerToWrite(pool);
    sheet = {
      backend, isolation: poolIsolation(pool), ackShared: backend.family === 'ack' && backend.placement,
      cardGiB: Number(floorUnits(cardMemory(pool), GIB)), ...(schedulerName ? { schedulerName } : {}),
      labelled: pool.backend === 'koordinator' || pool.kai !== undefined,
      annotated: pool.backend === 'koordinator' || 'podAnnotation' in BACKEND_FACTS[pool.backend].model,
    };
    sheets.set(pool, sheet);
  }
  return sheet;
}

/** What a plan writes when it writes nothing of a kind: one frozen object for all of them. */
const NOTHING: Readonly<Record<string, never>> = Object.freeze({});

/** Pod-level reasons a pool is ruled out, before any container is translated. */
export function admissionReason(pool: Pool, facts: PodFacts): string | undefined {
  const { intent, limits } = facts;
  const sheet = poolSheet(pool);
  const backend = sheet.backend;
  if (pool.disabled) return 'disabled (drained): no new pods are routed to it';
  if (limits.allowedPools && !limits.allowedPools.has(pool.name)) return `not allowed in namespace ${facts.namespace}`;
  if (intent.pools && !intent.pools.includes(pool.name)) return `not in ${ANNOTATION.pools}`;
  if (intent.models && !intent.models.includes(pool.gpu.model) && !intent.models.includes(pool.gpu.product)) {
    return `model ${pool.gpu.model}${pool.gpu.product === pool.gpu.model ? '' : ` (${pool.gpu.product})`} is not ${intent.models.join(' or ')}`;
  }
  const typeReason = gpuTypeReason(pool, facts.placement.hami) ?? volcanoModeReason(pool, facts.placement.hami);
  if (typeReason) return typeReason;
  const isolation = sheet.isolation;
  if (!isolationCovers(isolation, facts.isolation)) {
    const without = pool.backend === 'koordinator' ? ' (its nodes have no HAMi-core: koordinator.gpuIsolationProvider)' : '';
    return `${pool.backend} isolates ${isolation === 'none' ? 'nothing' : isolation}${without}, the pod needs ${facts.isolation}`;
  }
  // HAMi takes placement per pod (hami.io/gpu-scheduler-policy); ACK's shared pools per node (the pool's label).
  const placement = backend.family === 'hami' ? hamiPlacementReason(intent.placement, facts.placement.hami) : ackPlacementReason(pool, intent);
  if (placement) return placement;
  if (intent.rdma && !pool.rdma) return pool.backend === 'dra' ? `${DRA_COUNT_ONLY} an RDMA device with the GPUs` : 'has no RDMA';
  const [privileged] = facts.privileged;
  // A dra pool with mig hands out slices of shared cards, as the MIG backends do.
  if (privileged !== undefined && (backend.shares || (pool.backend === 'dra' && pool.mig))) return `container "${privileged}" is privileged and would see every shared card of the node`;
  return placementReason(pool, facts.placement, facts.knownNodes?.get(pool.name)?.labels) ?? schedulerReason(pool, facts.placement)
    ?? initReason(pool, facts.gpuRoles, facts.gpuApps) ?? containersReason(pool, facts);
}

/**
 * GPU containers the Volcano and Koordinator backends cannot serve. Volcano's vGPU reads app
 * containers only (devices/util.go ExtractResourceRequest loops pod.Spec.Containers), so a GPU init
 * container or sidecar is not accounted. Koordinator allocates a pod's cards once and gives every
 * container all of them (koordlet hooks/gpu/gpu.go sets one device list and one limit from the
 * pod's allocation), so two GPU containers would share one allocation.
 */
function containersReason(pool: Pool, facts: PodFacts): string | undefined {
  if (pool.backend === 'volcano-vgpu' && (facts.gpuRoles.has('init') || facts.gpuRoles.has('sidecar'))) {
    return "Volcano's vGPU reads the GPUs of app containers only (ExtractResourceRequest); init containers and sidecars cannot ask for them";
  }
  const provider = facts.placement.isolationProvider;
  // koord-scheduler holds the label against the node's only for shares (deviceshare/plugin.go: `state.gpuRequirements.gpuShared &&`).
  const shares = facts.nativeKoordShare ?? facts.gpuContainers.some((c) => isFraction(c.request, cardMemory(pool)));
  if (pool.backend === 'koordinator' && provider !== undefined && provider !== pool.koordinator?.gpuIsolationProvider && shares) {
    return `the pod's label ${KOORD.isolationLabel} is ${provider}, and koord-scheduler refuses nodes whose label differs `
      + `("GPUIsolationProviderHAMICore not found on the node"); the pool's nodes ${pool.koordinator?.gpuIsolationProvider ? `have ${pool.koordinator.gpuIsolationProvider}` : 'have none'}`;
  }
  if (pool.backend === 'koordinator' && facts.gpuContainerCount > 1) {
    return `Koordinator allocates GPUs per pod and gives every container all of them (koordlet's GPU hook), so ${facts.gpuContainerCount} `
      + 'containers asking GPUs cannot each get their own: ask them in one container';
  }
  return undefined;
}

/** A pod that names its own scheduler (volcano, a gang scheduler) keeps it: pools whose cards another scheduler allocates are out. */
function schedulerReason(pool: Pool, placement: PodPlacement): string | undefined {
  const needed = poolScheduler(pool);
  const own = placement.scheduler;
  if (own === undefined || needed === undefined || own === needed) return undefined;
  return `the pod is scheduled by ${own}; ${pool.backend} cards are allocated by ${needed}`;
}

/**
 * GPU containers the backend does not account: ACK's GPU sharing matches only app containers,
 * and one container's request against the whole pod's, so one app container at most; HAMi
 * (v2.10) drops a native sidecar's GPU after start.
 */
function initReason(pool: Pool, roles: ReadonlySet<ContainerRole>, apps: number): string | undefined {
  const backend = poolFacts(pool);
  const early = roles.has('init') || roles.has('sidecar');
  if (backend.family === 'ack' && backend.placement && early) {
    return `${pool.backend} counts GPU memory of app containers only; init containers and sidecars cannot ask for it`;
  }
  if (backend.family === 'ack' && backend.placement && apps > 1) {
    return `${pool.backend}: the gpushare device plugin matches one container's GPU memory against the pod's total `
      + `(Allocate, getGPUMemoryFromPodResource), so ${apps} app containers asking GPU memory cannot all start; one may`;
  }
  if (backend.family === 'hami' && roles.has('sidecar')) return 'HAMi does not account GPUs of native sidecar containers';
  return undefined;
}

/**
 * MIG slices of each profile one node of the pool holds: the layout's count per card, else the
 * most the GPU model's catalog allows (7 × 1g on most cards), times the cards. A fact of the
 * pool alone (policies are immutable once parsed): worked out once per pool and profile.
 */
const capacityCache = new WeakMap<Pool, Map<string, number>>();
const MAX_PROFILES_KEPT = 32;
function migCapacity(pool: Pool, profile: string): number {
  let known = capacityCache.get(pool);
  if (!known) capacityCache.set(pool, (known = new Map()));
  let capacity = known.get(profile);
  if (capacity === undefined) {
    capacity = poolMigCapacity(pool, profile);
    // Native requests name profiles too (migReason on a pod's own nvidia.com/mig-…): a bounded number is kept.
    if (known.size < MAX_PROFILES_KEPT) known.set(profile, capacity);
  }
  return capacity;
}

function poolMigCapacity(pool: Pool, profile: string): number {
  const layout = pool.mig?.layout?.[profile];
  if (layout !== undefined) return layout * pool.gpu.perNode;
  const catalog = cardMigCatalog(pool.gpu, cardMemory(pool));
  const slices = parseMigProfile(profile)?.slices ?? 7;
  const total = computeSlices(catalog, pool.mig?.profiles, cardMemory(pool));
  return (catalog?.profiles[profile] ?? Math.floor(total / slices)) * pool.gpu.perNode;
}

/** Why one node of the pool cannot hold `asked` slices of a profile (`3 × 3g.40gb, a node has 2 (1 cards)`). */
export function overSlices(pool: Pool, profile: string, asked: number): string | undefined {
  const capacity = migCapacity(pool, profile);
  return asked > capacity ? `${asked} × ${profile}, a node has ${capacity} (${pool.gpu.perNode} cards)` : undefined;
}

/**
 * The slices a pod holds of each resource on a MIG pool: Kubernetes' effective request per
 * resource. Each profile is its own resource: an init container's slice of one profile is not
 * reused by an app container of another (the scheduler, and its DRA claim, count them apart).
 */
function slicesPerResource(facts: PodFacts, containers: ReadonlyMap<string, ContainerTranslation>): Map<string, number> {
  const names = new Set([...containers.values()].flatMap((t) => Object.keys(t.resources)));
  return new Map([...names].map((name) => [name, effectiveTotal(facts.gpuContainers, (c) => containers.get(c.name)?.resources[name] ?? 0)]));
}

/** Why one node of a MIG pool cannot hold the pod's slices, per profile. */
export function migReason(pool: Pool, held: ReadonlyMap<string, number>): string | undefined {
  for (const [resource, asked] of held) {
    const profile = migProfileOfResource(resource)?.name ?? deviceClassOfResource(pool, resource)?.device ?? pool.mig?.profiles[0];
    if (profile === undefined) continue;
    const over = overSlices(pool, profile, asked);
    if (over) return `pod asks ${over}`;
  }
  return undefined;
}

/**
 * Cards on one node of this pool: whole cards add up (Kubernetes' effective request); shares
 * may sit together on other cards, so the largest share's card count is added once.
 */
function cardsOnNode(pool: Pool, facts: PodFacts): number {
  const card = cardMemory(pool);
  const wholes = effectiveTotal(facts.gpuContainers, (c) => (c.request && !isFraction(c.request, card) ? c.request.gpu : 0));
  const shares = facts.gpuContainers.filter((c) => isFraction(c.request, card)).map((c) => c.request.gpu);
  return wholes + Math.max(0, ...shares);
}

function numaProblem(pool: Pool, facts: PodFacts, cards: number): string | undefined {
  const { numa } = facts.intent;
  if (!numa) return undefined;
  if (!pool.numa) return pool.backend === 'dra' ? `${DRA_COUNT_ONLY} GPUs with NUMA nodes` : 'has no NUMA topology';
  const card = cardMemory(pool);
  // Koordinator aligns shares and any CPU request with a NUMA node (NodeNUMAResource, DeviceShare's NUMA hints); ACK binds whole cards and CPUs.
  const ack = pool.backend !== 'koordinator';
  if (ack && facts.gpuContainers.some((c) => isFraction(c.request, card))) return 'NUMA binding needs whole GPUs';
  if (ack && facts.cpuProblem) return facts.cpuProblem;
  if (numa !== 'SingleNUMANode') return undefined;
  if (cards > pool.numa.gpusPerNode) return `${cards} GPUs exceed one NUMA node (${pool.numa.gpusPerNode})`;
  if (facts.cpus > pool.numa.cpusPerNode) return `${facts.cpus} CPUs exceed one NUMA node (${pool.numa.cpusPerNode})`;
  return undefined;
}

/** A pool's placement is its nodes' (ACK's ack.node.gpu.placement), where it has one at all. */
function ackPlacementReason(pool: Pool, intent: Intent): string | undefined {
  const placement = poolPlacement(pool);
  return intent.placement && placement !== intent.placement ? `placement is ${placement ?? 'not configurable'}, not ${intent.placement}` : undefined;
}

/**
 * Plain nvidia.com/gpu is read as whole GPUs: where the pool writes anything else for it
 * (aliyun.com/gpu, a MIG profile, the card's GPU memory), the author learns it from a warning.
 */
function plainNvidiaNote(c: { name: string; request: GpuRequest }, t: ContainerTranslation, pool: Pool): string[] {
  if (c.request.source !== 'nvidia.com/gpu') return [];
  const written = Object.entries(t.resources);
  if (written.length === 1 && written[0]![0] === NATIVE.nvidiaGpu && written[0]![1] === c.request.gpu) return [];
  // What it was rewritten to is in the pod (and `gpu-admission explain`); the warning names the pool, to fit whole.
  return [fitWarning((p, n) => `use gpu-admission.io/gpu: ${NATIVE.nvidiaGpu}: ${c.request.gpu} rewritten for pool ${p}, container "${n}"`, pool.name, c.name)];
}

/**
 * The warning of a NUMA BestEffort not honoured on a pool, short enough to be shown whole: the
 * reason's first clause (the refusal a SingleNUMANode pod gets carries it all).
 */
function numaDropped(pool: Pool, reason: string): string {
  const short = reason.startsWith('NUMA binding needs whole CPUs') ? 'it needs whole CPUs, requests = limits, in every container'
    : pool.backend === 'dra' ? 'a dra pool cannot align GPUs with NUMA nodes' : reason;
  return fitWarning((p) => `NUMA BestEffort not applied on pool ${p}: ${short}`, pool.name);
}

/**
 * The pod's NUMA intent in its scheduler's annotation: ACK's (with its cpuset annotation), or
 * Koordinator's scheduling.koordinator.sh/numa-topology-spec, the same NUMATopologySpec
 * (apis/extension/numa_aware.go: numaTopologyPolicy, singleNUMANodeExclusive).
 */
function numaAnnotations(pool: Pool, intent: Intent): Record<string, string> {
  const spec = numaSpec(intent.numa, intent.numaExclusive);
  return pool.backend === 'koordinator' ? { [KOORD.numaAnnotation]: spec } : { [ACK_CPUSET_ANNOTATION]: 'required', [ACK_NUMA_ANNOTATION]: spec };
}

/** The NUMATopologySpec text of each policy and exclusivity the intent may hold (its values are checked), written once. */
const specText = (numa: Intent['numa'], exclusive: Intent['numaExclusive']): string =>
  JSON.stringify({ numaTopologyPolicy: numa, ...(exclusive ? { singleNUMANodeExclusive: exclusive } : {}) });
const NUMA_SPECS: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.fromEntries(
  (['SingleNUMANode', 'Restricted', 'BestEffort'] as const).map((numa) => [numa, Object.fromEntries((['', 'Required', 'Preferred'] as const)
    .map((exclusive) => [exclusive, specText(numa, exclusive || undefined)]))]));

function numaSpec(numa: Intent['numa'], exclusive: Intent['numaExclusive']): string {
  return NUMA_SPECS[numa ?? '']?.[exclusive ?? ''] ?? specText(numa, exclusive);
}

/**
 * Koordinator's own annotations and label: GPUs and RDMA allocated together, on one PCIe switch
 * where the node has one, else one NUMA node (device-joint-allocate, proposal
 * 20230803-device-allocate-hint-apis.md), and the HAMi-core label that makes koordlet enforce the share.
 */
function koordinatorExtras(pool: Pool, rdma: boolean): { annotations: Record<string, string>; labels: Record<string, string> } {
  if (pool.backend !== 'koordinator') return { annotations: {}, labels: {} };
  const provider = pool.koordinator?.gpuIsolationProvider;
  return {
    annotations: rdma && pool.rdma?.resource === KOORD.rdma ? { [KOORD.jointAllocateAnnotation]: JSON.stringify({ deviceTypes: ['gpu', 'rdma'] }) } : {},
    labels: provider ? { [KOORD.isolationLabel]: provider } : {},
  };
}

/** A pod's GKE time-sharing or MPS shares must fit one node: N shares of each of its cards. */
function gkeSharesReason(pool: Pool, facts: PodFacts, containers: ReadonlyMap<string, ContainerTranslation>): string | undefined {
  const mode = pool.backend === 'gke' ? gkeMode(pool) : undefined;
  if (mode !== 'time-sharing' && mode !== 'mps') return undefined;
  const shares = effectiveTotal(facts.gpuContainers, (c) => containers.get(c.name)?.resources[NATIVE.nvidiaGpu] ?? 0);
  return shares > nodeGpuUnits(pool) ? overNodeUnits(pool, shares) : undefined;
}

/** A pod's nvidia.com/gpu above a node's: cards, or GKE time-sharing and MPS shares (N per card). */
export function overNodeUnits(pool: Pool, asked: number): string {
  const units = nodeGpuUnits(pool);
  if (units === pool.gpu.perNode) return `pod asks ${asked} GPUs, a node has ${units}`;
  const clients = pool.gke?.maxSharedClientsPerGpu ?? 1;
  return `pod asks ${asked} ${gkeMode(pool)} shares, a node has ${units} (${pool.gpu.perNode} GPU${pool.gpu.perNode > 1 ? 's' : ''} × ${clients} clients)`;
}

/** ACK shares one card count per pod, and every app container's memory sits on each of those cards. */
function ackPodReason(pool: Pool, containers: ReadonlyMap<string, ContainerTranslation>, counts: GpuCounts): string | undefined {
  if (counts.all) return `ACK shares one GPU count per pod; containers ask ${[...counts.all].join(' and ')} GPUs`;
  const count = counts.first ?? 1;
  let total = 0;
  let compute = 0;
  for (const t of containers.values()) {
    total += t.resources[NATIVE.aliyunGpuMem] ?? 0;
    compute += t.resources[NATIVE.aliyunGpuCore] ?? 0;
  }
  const perCard = total / count;
  const card = poolSheet(pool).cardGiB;
  if (perCard > card) return `pod asks ${perCard}Gi per card in all, a card has ${card}Gi`;
  return compute > 100 ? `pod asks ${compute}% compute of one card in all` : undefined;
}

/** The GPU counts a pod's containers ask: the first one, and all of them in order once a second differs. */
interface GpuCounts { first?: number; all?: Set<number> }

/**
 * KAI gives a share to one container of a pod: gpu-fraction is a pod annotation and
 * gpu-fraction-container-name names one container; and KAI's admission refuses a fraction beside
 * nvidia.com/gpu in any container ("cannot have both GPU fraction request and whole GPU resource
 * request/limit"). Whole cards in several containers are plain nvidia.com/gpu, and fine.
 */
function kaiPodReason(containers: ReadonlyMap<string, ContainerTranslation>, facts: PodFacts): string | undefined {
  if (facts.gpuContainers.length < 2) return undefined; // a share beside nothing else
  const share = [...containers].find(([, t]) => t.annotations !== undefined)?.[0];
  const others = facts.gpuContainers.map((c) => c.name).filter((n) => n !== share);
  if (share === undefined || others.length === 0) return undefined;
  return `KAI gives a share to one container of a pod (the pod annotation ${KAI.fraction} names one, ${KAI.containerName}), and `
    + `refuses it beside whole GPUs: container "${share}" asks a share beside container${others.length > 1 ? 's' : ''} `
    + `${others.map((n) => `"${n}"`).join(', ')}; ask whole GPUs, or one GPU container per pod`;
}

/** Why a kai pool refuses MPS without a share (gpu_request_validator.go ValidateGpuRequests). */
const KAI_MPS = `KAI serves annotation ${KAI.mps}: "true" only with a GPU fraction ("MPS is only supported with GPU fraction request"), `
  + 'here the pod gets whole GPUs or MIG; ask a share of a card, or drop the annotation';

/** Why a kai pool refuses a pod annotated mps: "true" that it gives no GPU fraction (whole GPUs or MIG). */
export function kaiMpsReason(pool: Pool, mps: boolean | undefined, fraction: boolean): string | undefined {
  return pool.backend === 'kai' && mps && !fraction ? KAI_MPS : undefined;
}

/**
 * The pod labels a kai pool writes: its queue, unless the pod names its own; and, when the pool's
 * nodes are picked by KAI's node-pool label, that label, whatever the pod says. A sharded KAI runs
 * one scheduler per node pool, each listing only the PodGroups and nodes labelled with its pool
 * (the default one only those without the label: pkg/scheduler/conf/scheduler_conf.go
 * GetLabelSelector, pkg/scheduler/cache/cluster_info/data_lister/kubernetes_lister.go), and the
 * pod grouper copies the pod's label to its PodGroup (pkg/podgrouper/pod_controller.go
 * addNodePoolLabel): a pod without it, or with another pool's, never meets its pool's nodes.
 */
export function kaiLabels(pool: Pool, labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const kai = pool.kai;
  if (!kai) return {};
  const nodePool = pool.nodeSelector[KAI.nodePoolLabel];
  return {
    ...(kai.queue && labels?.[kai.queueLabel] === undefined ? { [kai.queueLabel]: kai.queue } : {}),
    ...(nodePool !== undefined ? { [KAI.nodePoolLabel]: nodePool } : {}),
  };
}

const failed = (pool: Pool, reason: string): PoolOutcome => ({ ok: false, pool, reason });

/** Judges one pool: a plan for serving the pod, or the reason it cannot. */
export function evaluatePool(pool: Pool, facts: PodFacts, policy: Policy): PoolOutcome {
  const early = admissionReason(pool, facts);
  if (early) return failed(pool, early);
  const cards = cardsOnNode(pool, facts);
  const numa = numaProblem(pool, facts, cards);
  const downgraded = numa !== undefined && facts.intent.numa === 'BestEffort';
  if (numa && !downgraded) return failed(pool, numa);
  const card = cardMemory(pool);
  const sheet = poolSheet(pool);
  const containers = new Map<string, ContainerTranslation>();
  const warnings: string[] = [];
  const counts: GpuCounts = {};
  const slices = pool.mig !== undefined;
  for (const c of facts.gpuContainers) {
    const who = facts.gpuContainers.length > 1 ? `container "${c.name}": ` : '';
    // MIG counts slices, which a node holds more of than cards: checked per profile below.
    const share = slices && isFraction(c.request, card);
    if (!share && c.request.gpu > pool.gpu.perNode) return failed(pool, `${who}${c.request.gpu} GPUs, a node has ${pool.gpu.perNode}`);
    if (c.request.memory && c.request.memory.num * card.den > card.num * c.request.memory.den) {
      return failed(pool, `${who}card has ${pool.gpu.memory}`);
    }
    const t = translate({ request: c.request, pool, card, rounding: policy.defaults.rounding, container: c.name, isolation: facts.isolation });
    if ('reason' in t) return failed(pool, `${who}${t.reason}`);
    containers.set(c.name, t);
    if (t.warnings.length > 0) warnings.push(...t.warnings);
    if (c.request.source === 'nvidia.com/gpu') warnings.push(...plainNvidiaNote(c, t, pool));
    if (counts.first === undefined) counts.first = c.request.gpu;
    else if (counts.all !== undefined || c.request.gpu !== counts.first) (counts.all ??= new Set([counts.first])).add(c.request.gpu);
  }
  const perResource = slices ? slicesPerResource(facts, containers) : undefined;
  const overNode = perResource ? migReason(pool, perResource) : cards > pool.gpu.perNode ? `pod asks ${cards} GPUs, a node has ${pool.gpu.perNode}` : undefined;
  if (overNode) return failed(pool, overNode);
  let held = 0;
  if (perResource) for (const n of perResource.values()) held += n;
  const max = facts.limits.maxGpusPerPod;
  if (max !== undefined && held > max) {
    return failed(pool, `pod holds ${held} MIG devices here (each profile is its own resource: init and app containers of different profiles do not share), `
      + `namespace ${facts.namespace} allows at most ${max} per pod`);
  }
  const gkeProblem = gkeSharesReason(pool, facts, containers);
  if (gkeProblem) return failed(pool, gkeProblem);
  const { ackShared } = sheet;
  const ackProblem = ackShared ? ackPodReason(pool, containers, counts) : undefined;
  if (ackProblem) return failed(pool, ackProblem);
  const byAnnotation = containerAnnotations(containers);
  const kaiProblem = kaiPodReason(containers, facts) ?? kaiMpsReason(pool, facts.kaiMps, byAnnotation[KAI.fraction] !== undefined);
  if (kaiProblem) return failed(pool, kaiProblem);
  if (downgraded) warnings.push(numaDropped(pool, numa));
  // Only a scheduler with kube-scheduler's DynamicResources plugin makes the claim of an extended resource (KEP-5004).
  const own = facts.placement.scheduler;
  if (pool.backend === 'dra' && own !== undefined) {
    warnings.push(fitWarning((s, p) => `make sure scheduler ${s} makes DRA claims as kube-scheduler does: pool ${p} is dra`, own, pool.name));
  }
  const count = counts.first ?? 1;
  const koord = sheet.labelled || sheet.annotated ? koordinatorExtras(pool, facts.intent.rdma === true) : undefined;
  const labels: Readonly<Record<string, string | null>> = ackShared ? { [ACK_GPU_COUNT_LABEL]: count > 1 ? String(count) : null }
    : koord ? { ...koord.labels, ...kaiLabels(pool, facts.labels) } : NOTHING;
  const numaAsked = facts.intent.numa !== undefined && !downgraded;
  const annotations: Readonly<Record<string, string>> = numaAsked || koord || byAnnotation !== NOTHING ? {
    ...(numaAsked ? numaAnnotations(pool, facts.intent) : {}), ...hamiAnnotations(pool, facts.placement.hami, facts.intent.placement),
    ...koord?.annotations, ...byAnnotation,
  } : NOTHING;
  const { schedulerName } = sheet;
  const rdma = facts.intent.rdma ? pool.rdma : undefined;
  return {
    ok: true,
    plan: { pool, containers, labels, annotations, warnings, downgraded,
      ...(schedulerName ? { schedulerName } : {}), ...(rdma ? { rdma } : {}) },
  };
}

/** The pod annotations the containers' translations carry (KAI's gpu-fraction), merged in container order. */
function containerAnnotations(containers: ReadonlyMap<string, ContainerTranslation>): Readonly<Record<string, string>> {
  let merged: Record<string, string> | undefined;
  for (const t of containers.values()) if (t.annotations) merged = Object.assign(merged ?? {}, t.annotations);
  return merged ?? NOTHING;
}

/**
 * Whether no plan of pool `b` can ever be `samePlan` with a plan of pool `a`, whatever the pod:
 * a plan's scheduler is its pool's (the sheet's), and a plan's first container's resources must
 * have the same names in both (every plan has at least one container: a pod judged on pools asks
 * generic GPUs in one at least). A name `a` always writes that `b` may never write, or the
 * reverse, keeps the two apart. Read only from the pools, so it holds for any pod.
 */
export function plansApart(a: Pool, b: Pool): boolean {
  if (poolSheet(a).schedulerName !== poolSheet(b).schedulerName) return true;
  const wa = writtenNames(a);
  const wb = writtenNames(b);
  return wa !== undefined && wb !== undefined && (wa.always.some((n) => !wb.may(n)) || wb.always.some((n) => !wa.may(n)));
}

/**
 * Whether two plans translate the pod identically: the same resources per container, labels,
 * annotations, scheduler and RDMA devices, compared as their JSON text would be (key order
 * counts), without writing that text.
 */
export function samePlan(a: PoolPlan, b: PoolPlan): boolean {
  if (a.containers.size !== b.containers.size) return false;
  const others = b.containers.entries();
  for (const [name, t] of a.containers) {
    const [otherName, other] = others.next().value as [string, ContainerTranslation];
    if (name !== otherName || !sameJson(t.resources, other.resources)) return false;
  }
  return sameJson(a.labels, b.labels) && sameJson(a.annotations, b.annotations) && a.schedulerName === b.schedulerName
    && sameJson(a.rdma, b.rdma);
}

/** Whether JSON.stringify would write `a` and `b` alike (plain JSON values: objects, arrays, strings, finite numbers, booleans, null). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x ?? null, b[i] ?? null));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length
    && ka.every((k, i) => k === kb[i] && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
