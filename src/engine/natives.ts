import { deviceClassOfResource, WHOLE_DEVICE } from '../policy/dra.ts';
import type { Policy, Pool } from '../policy/types.ts';
import { BACKEND_FACTS, type Isolation } from '../vocabulary/backends.ts';
import { gkeMode } from '../policy/gke.ts';
import { migProfileOfResource } from '../vocabulary/mig.ts';
import { ACK_GPU_COUNT_LABEL, DRA_CLASS_RESOURCE_PREFIX, KOORD, NATIVE } from '../vocabulary/names.ts';
import { GIB, MIB, isInteger, toNumber, type Quantity } from '../vocabulary/quantity.ts';
import { effectiveTotal, type ContainerDemand, type NativeRequest } from './demand.ts';
import type { NativeKind } from './dialect.ts';
import { isKaiKind, kaiNativeReason } from './kai.ts';
import { cardMemory, overSlices } from './pools.ts';
import { problem, type Problem } from './problem.ts';

/**
 * Native GPU requests (written in one dialect, such as `aliyun.com/gpu-mem: 40`) are not
 * rewritten, but they are held to the values their backend accepts, and a pod that no pool of
 * the policy could ever serve is refused at once.
 */

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
  (isInteger(v) && toNumber(v) >= lo && toNumber(v) <= hi ? undefined : `must be a whole ${what} from ${lo} to ${hi}`);
const has = (c: ContainerDemand, kind: NativeKind): boolean => c.natives.some((n) => n.kind === kind);

/** What each backend accepts of its own resources (docs/backends.md gives the sources). */
const RULES: Readonly<Record<NativeKind, Rule>> = {
  'aliyun-mem': (v, _c, count) => {
    if (!isInteger(v) || v.num < 1n) return 'must be a whole number of GiB from 1';
    return v.num % BigInt(count) === 0n ? undefined
      : `${v.text} is not divisible by ${ACK_GPU_COUNT_LABEL} ${count}: each card gives an equal whole GiB share`;
  },
  'aliyun-core': (v, c, count) => {
    if (!isInteger(v) || v.num < 5n || v.num > 100n || v.num % 5n !== 0n) return 'must be a multiple of 5 from 5 to 100';
    if (!has(c, 'aliyun-mem')) return `needs ${NATIVE.aliyunGpuMem} in the same container (ACK core_mem asks both)`;
    return count > 1 ? `cannot be shared over ${count} cards: ACK's multi-GPU sharing isolates memory only` : undefined;
  },
  'aliyun-gpu': range(1, 1024, 'number of GPUs'),
  'nvidia-gpu': range(1, 1024, 'number of GPUs'),
  'hami-gpu': range(1, 1024, 'number of GPUs'),
  'hami-mem': range(1, 2 ** 31 - 1, 'number of MiB'),
  'hami-mem-percent': range(0, 100, 'percent'), // HAMi reads 0 as unset
  'hami-cores': range(0, 100, 'percent'),
  'time-slicing': range(1, 1024, 'number of replicas'),
  // The implicit deviceclass.resource.kubernetes.io/ names pass the API server with fractions, which the
  // scheduler can never bind (docs/research/dra.md §1): the webhook holds them to whole devices.
  dra: range(1, 1024, 'number of devices'),
  mig: (v, _c, _n) => (isInteger(v) && v.num >= 1n ? undefined : 'must be a whole number of MIG devices from 1'),
  // GPUShared alone is none of koord-scheduler's ValidDeviceResourceCombinations ("invalid resource device
  // requests", deviceshare/utils.go), and koord-manager refuses it: "GPU memory and GPU memory ratio all is zero".
  'koord-shared': (v, c) => range(1, 1024, 'number of GPUs')(v, c, 1) ?? (has(c, 'koord-memory') || has(c, 'koord-ratio') ? undefined
    : `needs ${KOORD.gpuMemory} or ${KOORD.gpuMemoryRatio} beside it (koord-scheduler: gpu.shared alone is no valid combination)`),
  'koord-core': (v, c) => koordPercent(v, c, 'koord-core') ?? (has(c, 'koord-memory') || has(c, 'koord-ratio') ? undefined
    : `needs ${KOORD.gpuMemory} or ${KOORD.gpuMemoryRatio} beside it (koord-scheduler: gpu-core alone is no valid combination)`),
  'koord-ratio': (v, c) => koordPercent(v, c, 'koord-ratio') ?? (has(c, 'koord-memory')
    ? `cannot be asked beside ${KOORD.gpuMemory} (koord-manager: "declare GPU memory and GPU memory ratio at same time")` : undefined),
  'koord-memory': (v) => (isInteger(v) && v.num >= 1n ? undefined : 'must be a whole number of bytes from 1 (such as 8Gi)'),
  'koord-gpu': (v, c) => (!isInteger(v) || v.num < 1n ? 'must be a whole percent of a GPU from 1'
    : koordPercent(v, c, 'koord-gpu') ?? (has(c, 'koord-shared') ? `cannot be asked beside ${KOORD.gpuShared} (koord-manager: "Forbidden declare GPU and GPU share at same time")` : undefined)),
  // KAI's annotations are held to KAI's admission rules where they are read (kaiProblems).
  'kai-fraction': () => undefined,
  'kai-memory': () => undefined,
  'kai-devices': () => undefined,
};

/** The container's koordinator.sh/gpu.shared, when it asks it. */
function koordShared(c: ContainerDemand): number | undefined {
  const shared = c.natives.find((n) => n.kind === 'koord-shared');
  return shared && isInteger(shared.value) ? toNumber(shared.value) : undefined;
}

/**
 * Koordinator's percentages (gpu-core, gpu-memory-ratio, the deprecated gpu): with gpu.shared N, a
 * multiple of N and at most 100 per card (ValidateMultiple, ValidateLessThan100Times); without it,
 * at most 100 or whole cards in hundreds (ValidatePercentageResource).
 */
function koordPercent(v: Quantity, c: ContainerDemand, kind: NativeKind): string | undefined {
  if (!isInteger(v) || v.num < 0n) return 'must be a whole percent';
  const n = toNumber(v);
  const shared = kind === 'koord-gpu' ? undefined : koordShared(c);
  if (shared === undefined) return n > 100 && n % 100 !== 0 ? 'above 100 must be whole cards, a multiple of 100 (ValidatePercentageResource)' : undefined;
  if (n % shared !== 0) return `must be a multiple of ${KOORD.gpuShared} ${shared} (the same share of each card)`;
  return n / shared > 100 ? `is above 100 per card over ${KOORD.gpuShared} ${shared}` : undefined;
}

/** The values no backend would accept, each naming the container and the resource. */
export function nativeValueProblems(containers: readonly ContainerDemand[], gpuCount: number, policy: Policy): Problem[] {
  return containers.flatMap((c) => c.natives.flatMap(({ resource, kind, value }) => {
    const field = `container "${c.name}": resources.limits["${resource}"]`;
    if (kind === 'mig' && !migProfileOfResource(resource)) {
      return [problem('invalid-request', `${field}: not a MIG profile NVIDIA exposes (such as nvidia.com/mig-1g.10gb)`)];
    }
    const named = kind === 'dra' ? policy.pools.flatMap((p) => p.dra?.deviceClasses ?? [])
      .find((d) => d.extendedResourceName !== undefined && `${DRA_CLASS_RESOURCE_PREFIX}${d.name}` === resource) : undefined;
    if (named) {
      return [problem('invalid-request', `${field}: DeviceClass ${named.name} is asked by its extendedResourceName ${named.extendedResourceName}, `
        + 'which a ResourceQuota counts at creation: ask that, or gpu-admission.io/gpu')];
    }
    if (kind === 'dra' && !policy.pools.some((p) => deviceClassOfResource(p, resource))) {
      const own = policy.pools.flatMap((p) => p.dra?.deviceClasses.map((d) => d.name) ?? []);
      return [problem('invalid-request', `${field}: DeviceClass ${resource.slice(DRA_CLASS_RESOURCE_PREFIX.length)} is no pool's, and its devices `
        + `would escape the namespace's GPU rules: ask gpu-admission.io/gpu instead${own.length > 0 ? ` (the policy's classes: ${own.join(', ')})` : ''}`)];
    }
    const why = RULES[kind](value, c, gpuCount);
    return why ? [problem('invalid-request', `${field}: ${why} (got "${value.text}")`)] : [];
  }));
}

/** The HAMi resource names of a pool, by kind. */
function hamiKind(pool: Pool, resource: string): NativeKind | undefined {
  const h = pool.hami;
  if (!h) return undefined;
  if (resource === h.resourceName) return 'hami-gpu';
  if (resource === h.resourceMem) return 'hami-mem';
  if (resource === h.resourceMemPercentage) return 'hami-mem-percent';
  return resource === h.resourceCores ? 'hami-cores' : undefined;
}

/** Why `pool` cannot serve this native resource, or undefined if it can. */
function nativeReason(pool: Pool, c: ContainerDemand, { resource, kind, value }: NativeRequest, gpuCount: number): string | undefined {
  const b = pool.backend;
  const facts = BACKEND_FACTS[b];
  const card = cardMemory(pool);
  const v = toNumber(value);
  const takes = (ok: boolean) => (ok ? undefined : `${b} does not take ${resource}`);
  const perNode = (n: number) => (n > pool.gpu.perNode ? `${resource}: ${n} GPUs, a node has ${pool.gpu.perNode}` : undefined);
  if (b === 'hami' || b === 'volcano-vgpu') {
    const own = hamiKind(pool, resource);
    if (own === 'hami-gpu') return perNode(v);
    const count = pool.hami?.resourceName;
    if (b === 'volcano-vgpu' && (own === 'hami-mem' || own === 'hami-cores') && count !== undefined && !c.natives.some((n) => n.resource === count)) {
      // No Volcano webhook adds the count (HAMi's does): the vGPU device plugin answers the memory and cores
      // resources with empty responses and hands out cards for the count only (pkg/plugin/server.go Allocate),
      // and Volcano allocates nothing for cores alone (vgpu/utils.go checkVGPUResourcesInPod).
      return `${resource} needs ${count} in the same container: the vGPU device plugin hands out a card for ${count} only `
        + '(Allocate answers the memory and cores resources with nothing), and Volcano adds no count';
    }
    if (own === 'hami-mem') {
      // Volcano's vGPU memory counts units of the device plugin's gpuMemoryFactor MiB (pkg/plugin/register.go).
      const factor = pool.volcano?.memoryFactor ?? 1;
      const asks = factor === 1 ? `${v}Mi` : `${v} units of ${factor}Mi (${v * factor}Mi)`;
      // A byte quantity (1.5Gi) is read as a plain number (Quantity.AsInt64, devices/util.go ExtractResourceRequest).
      const bytes = /[a-zA-Z]$/.test(value.text)
        ? ` (${resource} is a plain number of ${factor === 1 ? 'MiB' : `${factor}Mi units`}, not bytes: ${value.text} reads as ${v}; write ${Math.ceil(v / Number(MIB) / factor)})` : '';
      return v * factor > toNumber(card) / Number(MIB) ? `card has ${pool.gpu.memory}, ${resource} asks ${asks}${bytes}` : undefined;
    }
    // The vGPU device plugin registers the count, cores and memory only (pkg/rm/rm.go): no node advertises the percentage.
    if (own === 'hami-mem-percent' && b === 'volcano-vgpu') return `no node advertises ${resource} (the vGPU device plugin registers count, cores and memory only)`;
    return takes(own !== undefined);
  }
  if (b === 'koordinator') return koordReason(pool, c, kind, resource, v);
  if (isKaiKind(kind)) return kaiNativeReason(pool, { resource, kind, value });
  switch (kind) {
    case 'dra': {
      const cls = deviceClassOfResource(pool, resource);
      if (!cls) return takes(false);
      return cls.device === WHOLE_DEVICE ? perNode(v) : slicesReason(pool, cls.device, v, resource);
    }
    case 'nvidia-gpu':
      // The single MIG strategy names its slices nvidia.com/gpu; time-slicing without renaming, its replicas.
      if (b === 'nvidia-mig' && pool.mig?.strategy === 'single') return slicesReason(pool, pool.mig.profiles[0] ?? '', v, resource);
      if (pool.timeSlicing?.resource === resource) return replicasReason(pool, v, resource);
      if (b === 'gke') return gkeNativeReason(pool, v, resource);
      return takes(b === 'ack-exclusive' || b === 'nvidia-exclusive' || (b === 'kai' && !pool.mig)) ?? perNode(v);
    case 'aliyun-gpu': return takes(b === 'ack-topology') ?? perNode(v);
    case 'aliyun-mem': {
      const perGpu = v / gpuCount;
      return takes(facts.family === 'ack' && facts.placement) ?? perNode(gpuCount)
        ?? (gpuCount > 1 && !facts.multiCardShares ? `${b} serves one card per pod (ACK documents multi-GPU sharing for cgpu only)` : undefined)
        ?? (facts.computeRequired && !has(c, 'aliyun-core')
          ? `${b} needs ${NATIVE.aliyunGpuCore} beside ${resource}: ACK does not mix memory-only and memory+compute jobs on one node` : undefined)
        ?? (perGpu > toNumber(card) / Number(GIB) ? `card has ${pool.gpu.memory}, ${resource} asks ${perGpu}Gi per GPU` : undefined);
    }
    case 'aliyun-core': return takes(b === 'ack-core-mem');
    case 'mig': {
      const profile = migProfileOfResource(resource);
      if (b !== 'ack-mig' && !((b === 'nvidia-mig' || b === 'kai') && pool.mig && pool.mig.strategy !== 'single')) return takes(false);
      if (!profile || !pool.mig?.profiles.includes(profile.name)) return `MIG profile ${profile?.name ?? resource} is not listed`;
      return slicesReason(pool, profile.name, v, resource);
    }
    case 'time-slicing': return resource === pool.timeSlicing?.resource ? replicasReason(pool, v, resource) : takes(false);
    default: return takes(false);
  }
}

/** Why a koordinator pool cannot take one of Koordinator's resources: cards above a node's, memory above the card. */
function koordReason(pool: Pool, c: ContainerDemand, kind: NativeKind, resource: string, v: number): string | undefined {
  if (!kind.startsWith('koord-')) return `koordinator does not take ${resource}`;
  const cards = koordShared(c) ?? 1;
  if (cards > pool.gpu.perNode) return `${KOORD.gpuShared}: ${cards} GPUs, a node has ${pool.gpu.perNode}`;
  const card = toNumber(cardMemory(pool));
  if (kind === 'koord-memory' && v / cards > card) return `card has ${pool.gpu.memory}, ${resource} asks ${(v / cards / Number(GIB)).toFixed(1)}Gi per GPU`;
  if (kind === 'koord-gpu' && Math.ceil(v / 100) > pool.gpu.perNode) return `${resource}: ${Math.ceil(v / 100)} GPUs, a node has ${pool.gpu.perNode}`;
  return undefined;
}

/**
 * What GKE's device plugin gives nvidia.com/gpu: N on each mode (gpusharing.ValidateRequest): cards,
 * one time-sharing share, up to N MPS shares on single-GPU nodes (one on others), or MIG partitions.
 */
function gkeNativeReason(pool: Pool, asked: number, resource: string): string | undefined {
  const clients = pool.gke?.maxSharedClientsPerGpu ?? 1;
  switch (gkeMode(pool)) {
    case 'exclusive': return asked > pool.gpu.perNode ? `${resource}: ${asked} GPUs, a node has ${pool.gpu.perNode}` : undefined;
    case 'mig': return slicesReason(pool, pool.mig?.profiles[0] ?? '', asked, resource);
    case 'time-sharing':
      return asked > 1 ? `${resource}: ${asked} time-sharing shares; GKE's device plugin gives a container at most 1 under time-sharing` : undefined;
    case 'mps':
      if (asked > 1 && pool.gpu.perNode > 1) return `${resource}: ${asked} MPS shares; GKE allows more than 1 only on single-GPU nodes (this pool has ${pool.gpu.perNode})`;
      return asked > clients ? `${resource}: ${asked} MPS shares, a card has ${clients}` : undefined;
  }
}

/**
 * Whether native Koordinator requests share cards as koord-scheduler reads them: any gpu-memory, or a
 * memory ratio below 100 per card (calcDesiredRequestsAndCountForGPU's isShared, deviceshare/devicehandler_gpu.go).
 */
export function koordNativeShare(containers: readonly ContainerDemand[]): boolean {
  return containers.some((c) => {
    const cards = koordShared(c) ?? 1;
    return c.natives.some(({ kind, value }) => kind === 'koord-memory'
      || (kind === 'koord-ratio' && toNumber(value) / cards < 100) || (kind === 'koord-gpu' && toNumber(value) < 100));
  });
}

/**
 * Why a koordinator pool cannot give a native share the isolation the pod needs: koordlet limits a
 * container only when the pod carries koordinator.sh/gpu-isolation-provider: HAMi-core, and only
 * below a whole card (runtimehooks/hooks/gpu/gpu.go: CUDA_DEVICE_MEMORY_LIMIT, CUDA_DEVICE_SM_LIMIT).
 * Native requests are kept as written, labels included, so the author must add the label.
 */
export function koordNativeIsolationReason(
  pool: Pool, containers: readonly ContainerDemand[], isolation: Isolation, podProvider: string | undefined,
): string | undefined {
  const provider = pool.koordinator?.gpuIsolationProvider;
  if (pool.backend !== 'koordinator' || isolation === 'none' || provider === undefined || podProvider === provider) return undefined;
  return koordNativeShare(containers) ? `koordlet isolates a native share only for pods labelled ${KOORD.isolationLabel}: ${provider} (its GPU hook), `
    + `and the pod needs ${isolation} isolation: add that label` : undefined;
}

/** A node holds so many slices of a profile (its layout or the GPU's catalog, times its cards). */
function slicesReason(pool: Pool, profile: string, asked: number, resource: string): string | undefined {
  const over = overSlices(pool, profile, asked);
  return over && `${resource}: ${over}`;
}

function replicasReason(pool: Pool, asked: number, resource: string): string | undefined {
  return asked > 1 && pool.timeSlicing?.failRequestsGreaterThanOne
    ? `${resource}: ${asked} replicas, and the device plugin refuses more than one (failRequestsGreaterThanOne)` : undefined;
}

/**
 * The slices a pod's native requests hold of each MIG resource on a MIG pool: each profile's
 * `nvidia.com/mig-…` (mixed strategy), and `nvidia.com/gpu` where the single strategy names its
 * slices so (nvidia-mig single, GKE's partitions). Kubernetes' effective request per resource: a
 * node must advertise that many, however they are spread over the containers.
 */
export function nativeSlices(pool: Pool, containers: readonly ContainerDemand[]): Map<string, number> {
  const single = pool.mig?.strategy === 'single';
  const names = new Set(containers.flatMap((c) => c.natives.filter((n) => n.kind === 'mig' || (single && n.kind === 'nvidia-gpu')).map((n) => n.resource)));
  return new Map([...names].map((name) => [name, effectiveTotal(containers, (c) => {
    const asked = c.natives.find((n) => n.resource === name);
    return asked ? Math.ceil(toNumber(asked.value)) : 0;
  })]));
}

/** Why `pool` cannot take every native request of these containers, or undefined if it can. */
export function nativePoolReason(pool: Pool, containers: readonly ContainerDemand[], gpuCount: number): string | undefined {
  for (const c of containers) {
    for (const n of c.natives) {
      const reason = nativeReason(pool, c, n, gpuCount);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

/**
 * One container's native requests: `devices` is every GPU it receives, each card, slice, replica
 * or share counting one (what namespace limits count), but MIG slices and DRA devices, which
 * nativeCards counts per resource; `cards` what it holds of a node's cards; `shared` whether
 * those may sit beside other pods' shares.
 */
function containerCards(c: ContainerDemand, gpuCount: number): { devices: number; cards: number; shared: boolean } {
  let cards = 0;
  let devices = 0;
  let migSevenths = 0;
  let shared = false;
  for (const { resource, kind, value } of c.natives) {
    const v = Math.ceil(toNumber(value));
    if (kind === 'dra') cards = Math.max(cards, v);
    else if (kind === 'nvidia-gpu' || kind === 'aliyun-gpu' || kind === 'hami-gpu') [cards, devices] = [Math.max(cards, v), Math.max(devices, v)];
    else if (kind === 'aliyun-mem') [cards, devices, shared] = [Math.max(cards, gpuCount), Math.max(devices, gpuCount), true];
    else if (kind === 'mig') [migSevenths, shared] = [migSevenths + (migProfileOfResource(resource)?.slices ?? 7) * v, true];
    else if (kind === 'time-slicing' || kind === 'kai-devices') [cards, devices, shared] = [Math.max(cards, v), Math.max(devices, v), true];
    else if (kind === 'koord-shared') [cards, devices, shared] = [Math.max(cards, v), Math.max(devices, v), true];
    else if (kind === 'koord-gpu') [cards, devices, shared] = [Math.max(cards, Math.ceil(v / 100)), Math.max(devices, Math.ceil(v / 100)), v < 100];
    else if (kind === 'kai-fraction' || kind === 'kai-memory') [cards, devices, shared] = [Math.max(cards, 1), Math.max(devices, 1), true];
    else shared = true; // HAMi's gpumem / gpucores make its count a share
  }
  return { devices, cards: Math.max(cards, Math.ceil(migSevenths / 7)), shared };
}

/**
 * Cards of a pod's native requests: `requested` adds every container's devices (Kubernetes'
 * effective request), as the generic path does for namespace limits; `onNode` is what one node
 * must hold: exclusive cards add up, and shares sit on other cards (the largest share counts).
 */
export function nativeCards(containers: readonly ContainerDemand[], gpuCount: number): { requested: number; onNode: number } {
  const per = new Map(containers.map((c) => [c, containerCards(c, gpuCount)]));
  // MIG profiles and DRA classes are each a resource of their own: an init container's slice of one
  // profile is not reused by an app container of another, so each name's effective request adds up.
  const names = [...new Set(containers.flatMap((c) => c.natives.filter((n) => n.kind === 'mig' || n.kind === 'dra').map((n) => n.resource)))];
  const requested = effectiveTotal(containers, (c) => per.get(c)?.devices ?? 0) + names.reduce((sum, name) => sum + effectiveTotal(containers, (c) => {
    const asked = c.natives.find((n) => n.resource === name);
    return asked ? Math.ceil(toNumber(asked.value)) : 0;
  }), 0);
  const exclusive = effectiveTotal(containers, (c) => (per.get(c)?.shared ? 0 : per.get(c)?.cards ?? 0));
  const largestShare = Math.max(0, ...[...per.values()].filter((p) => p.shared).map((p) => p.cards));
  return { requested, onNode: exclusive + largestShare };
}
