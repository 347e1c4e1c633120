import { DEFAULT_HAMI, timeSlicingResource } from '../policy/defaults.ts';
import { gkeMode } from '../policy/gke.ts';
import { poolDeviceClass, WHOLE_DEVICE } from '../policy/dra.ts';
import type { Pool } from '../policy/types.ts';
import { BACKEND_FACTS, DEFAULT_SCHEDULER, isolationCovers, type Backend, type Isolation } from '../vocabulary/backends.ts';
import { cardMigCatalog, computeSlices, migResourceName, parseMigProfile, type MigProfile } from '../vocabulary/mig.ts';
import { KAI, KOORD, NATIVE } from '../vocabulary/names.ts';
import { GIB, MIB, ceilUnits, compareQuantity, floorUnits, formatBytes, isMultipleOf, type Quantity } from '../vocabulary/quantity.ts';
import { fitWarning } from '../vocabulary/warnings.ts';
import type { GpuRequest } from './demand.ts';

/** What one container becomes on one pool: its GPU resources (integers), and notes for the author. */
export interface ContainerTranslation {
  readonly resources: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  /** Pod annotations that carry this container's request where the backend asks by annotation (KAI's gpu-fraction). */
  readonly annotations?: Readonly<Record<string, string>>;
}
export type TranslateResult = ContainerTranslation | { readonly reason: string };

export interface TranslateInput {
  readonly request: GpuRequest;
  readonly pool: Pool;
  readonly card: Quantity;
  readonly rounding: 'up' | 'deny';
  readonly container: string;
  /** The isolation the pod needs: on HAMi, compute isolation is a gpucores reservation. */
  readonly isolation: Isolation;
}

/** Whether the request is less than whole cards of this pool (a share of a card). */
export function isFraction(request: GpuRequest, card: Quantity): boolean {
  return (request.memory !== undefined && compareQuantity(request.memory, card) < 0)
    || (request.cores !== undefined && request.cores < 100);
}

const EXCLUSIVE_ONLY = 'takes whole GPUs only; a share of a card needs a sharing backend';
const NO_COMPUTE = 'cannot limit compute; gpu-cores needs ack-core-mem, MIG or HAMi';
const ONE_CARD: Partial<Record<Backend, string>> = {
  'ack-core-mem': "ACK's multi-GPU sharing isolates memory only, so ack-core-mem serves one card per container",
  'ack-share': 'ACK documents multi-GPU sharing for cgpu only, so ack-share serves one card per container',
  'ack-mps': 'ACK documents multi-GPU sharing for cgpu only, so ack-mps serves one card per container',
  'nvidia-time-slicing': 'time-slicing replicas of one container may all sit on one card, so it serves one GPU per container',
};

function whole(resource: string) {
  return ({ request, card }: TranslateInput): TranslateResult =>
    isFraction(request, card) ? { reason: EXCLUSIVE_ONLY } : { resources: { [resource]: request.gpu }, warnings: [] };
}

type Rounded = { readonly value: number; readonly warning?: string } | { readonly reason: string };

/** `16G (14.9Gi)`: the request as written, and in the rounding unit when it was written in decimal units. */
function asWritten(q: Quantity, unit: bigint, unitName: string): string {
  if (/[KMGTPE]i$/.test(q.text)) return q.text;
  const inUnits = Number(q.num) / Number(q.den * unit);
  return `${q.text} (${inUnits.toFixed(1)}${unitName})`;
}

function roundUnits(input: TranslateInput, q: Quantity, unit: bigint, unitName: string): Rounded {
  const value = Number(ceilUnits(q, unit));
  if (isMultipleOf(q, unit)) return { value };
  const written = asWritten(q, unit, unitName);
  if (input.rounding === 'deny') return { reason: `gpu-memory ${written} is not a whole ${unitName} (policy rounding: deny)` };
  return { value, warning: fitWarning((c) => `ask gpu-memory in whole ${unitName} to avoid rounding: ${written} rounded up to ${value}${unitName} (container "${c}")`,
    input.container) };
}

/** Memory per GPU in whole GiB: the card for whole GPUs, else the request rounded up. */
function memoryGiB(input: TranslateInput): Rounded {
  const { request, card } = input;
  if (request.memory === undefined || !isFraction({ ...request, cores: undefined }, card)) {
    const share = request.cores !== undefined && request.memory === undefined ? request.cores : 100;
    return { value: Math.max(1, Math.ceil((Number(floorUnits(card, GIB)) * share) / 100)) };
  }
  return roundUnits(input, request.memory, GIB, 'Gi');
}

/** A percentage rounded up to ACK's step of 5 (at least 5). */
const toFive = (percent: number): number => Math.max(5, Math.ceil(percent / 5) * 5);

/** The compute share given to a memory-only share where the backend needs one: its memory's part of the card. */
function proportionalCores(input: TranslateInput): number {
  const { memory } = input.request;
  if (memory === undefined || !isFraction(input.request, input.card)) return 100;
  return Number((memory.num * input.card.den * 100n + memory.den * input.card.num - 1n) / (memory.den * input.card.num));
}

function ackShared(input: TranslateInput): TranslateResult {
  const facts = BACKEND_FACTS[input.pool.backend];
  const { request } = input;
  if (request.gpu > 1 && !facts.multiCardShares) return { reason: ONE_CARD[input.pool.backend] ?? 'serves one card per container' };
  if (request.cores !== undefined && isFraction(request, input.card) && !facts.computeShares) return { reason: NO_COMPUTE };
  const mem = memoryGiB(input);
  if ('reason' in mem) return mem;
  const warnings = mem.warning ? [mem.warning] : [];
  const resources: Record<string, number> = { [NATIVE.aliyunGpuMem]: mem.value * request.gpu };
  if (!facts.computeRequired) return { resources, warnings };
  const cores = coreShare(input, toFive(proportionalCores(input)));
  if ('reason' in cores) return cores;
  resources[NATIVE.aliyunGpuCore] = cores.value;
  if (cores.warning) warnings.push(cores.warning);
  return { resources, warnings };
}

/**
 * The compute share written for a container: what it asked (rounded to ACK's step of 5 where
 * the backend counts in fives), else `given` — with a warning, since the author did not ask it.
 */
function coreShare(input: TranslateInput, given: number, step = 5): Rounded {
  const asked = input.request.cores;
  if (asked === undefined) {
    if (given >= 100) return { value: 100 };
    return { value: given, warning: fitWarning((c) => `set gpu-cores to choose the compute share ${input.pool.backend} needs: ${given} given, `
      + `as for its memory (container "${c}")`, input.container) };
  }
  const rounded = step === 1 ? asked : toFive(asked);
  if (rounded === asked) return { value: asked };
  if (input.rounding === 'deny') return { reason: `gpu-cores ${asked} is not a multiple of 5 (policy rounding: deny)` };
  return { value: rounded, warning: fitWarning((c) => `ask gpu-cores in multiples of ${step} to avoid rounding: ${asked} rounded up to ${rounded} (container "${c}")`,
    input.container) };
}

const profileCache = new WeakMap<Pool, readonly MigProfile[]>();
function migProfiles(pool: Pool): readonly MigProfile[] {
  let profiles = profileCache.get(pool);
  if (!profiles) {
    profiles = (pool.mig?.profiles ?? []).flatMap((p) => parseMigProfile(p) ?? [])
      .sort((a, b) => a.memoryGB - b.memoryGB || a.slices - b.slices);
    profileCache.set(pool, profiles);
  }
  return profiles;
}

const slicesCache = new WeakMap<Pool, { readonly card: Quantity; readonly total: number }>();

/**
 * Compute slices of a full card: 7, or 4 on the A30 and RTX PRO 6000 (from the listed profiles
 * when the model is unknown). A fact of the pool and its card: worked out once per pool.
 */
function fullCardSlices(pool: Pool, card: Quantity): number {
  const known = slicesCache.get(pool);
  if (known?.card === card) return known.total;
  const total = computeSlices(cardMigCatalog(pool.gpu, card), pool.mig?.profiles, card);
  slicesCache.set(pool, { card, total });
  return total;
}

/** The smallest listed MIG profile that holds the request (the full-card one for whole GPUs). */
export function chooseMigProfile(input: Pick<TranslateInput, 'request' | 'pool' | 'card'>): MigProfile | undefined {
  const profiles = migProfiles(input.pool);
  const { pool, card } = input;
  const total = fullCardSlices(pool, card);
  if (!isFraction(input.request, card)) return profiles.find((p) => p.slices === total);
  const { memory, cores } = input.request;
  return profiles.find((p) => (memory === undefined || compareQuantity(memory, { text: '', num: p.memoryBytes, den: 1n }) <= 0)
    && (cores === undefined || (p.slices * 100) / total >= cores));
}

/**
 * "A single CUDA process can only enumerate a single MIG device" (NVIDIA MIG user guide, CUDA
 * device enumeration): N slices in one container are not N GPUs to the job in it.
 */
export const ONE_MIG_DEVICE = 'a CUDA process enumerates one MIG device only (NVIDIA MIG user guide), so several MIG devices '
  + 'in one container are not several GPUs: ask 1 GPU per container here, or ask nvidia.com/mig-<profile>: N natively '
  + 'when each process pins its own device';

function mig(input: TranslateInput): TranslateResult {
  if (input.request.gpu > 1) return { reason: ONE_MIG_DEVICE };
  const profile = chooseMigProfile(input);
  if (!profile) {
    const sizes = migProfiles(input.pool).map((p) => `${p.name} = ${(p.memoryGB * 1e9 / 2 ** 30).toFixed(1)}Gi`).join(', ');
    return { reason: isFraction(input.request, input.card)
      ? `no MIG profile holds ${describeShare(input.request)} (MIG profiles count decimal GB: ${sizes})`
      : 'no full-card MIG profile (7g; 4g on 4-slice cards: A30, RTX PRO 6000) is listed for whole GPUs' };
  }
  // The single strategy exposes its one profile's slices as nvidia.com/gpu.
  const resource = input.pool.mig?.strategy === 'single' ? NATIVE.nvidiaGpu : migResourceName(profile.name);
  return { resources: { [resource]: input.request.gpu }, warnings: decimalNote(input, profile) };
}

/**
 * A request in GiB that a smaller listed profile would hold if its name counted GiB (10Gi and
 * 1g.10gb, which is 9.3Gi): the author probably meant that one, so say which was given.
 */
function decimalNote(input: TranslateInput, given: MigProfile): string[] {
  const { memory } = input.request;
  if (memory === undefined) return [];
  const meant = migProfiles(input.pool).find((p) => p.memoryGB < given.memoryGB
    && compareQuantity(memory, { text: '', num: BigInt(p.memoryGB) * GIB, den: 1n }) <= 0);
  const holds = ((meant?.memoryGB ?? 0) * 1e9 / 2 ** 30).toFixed(1);
  return meant ? [fitWarning((c) => `ask at most ${holds}Gi for ${meant.name} (MIG counts decimal GB): ${formatBytes(memory)} `
    + `gets ${given.name} (container "${c}")`, input.container)] : [];
}

function timeSlicing(input: TranslateInput): TranslateResult {
  if (!isFraction(input.request, input.card)) return { reason: 'time-slicing only shares cards; whole GPUs need an exclusive pool' };
  if (input.request.gpu > 1) return { reason: ONE_CARD['nvidia-time-slicing'] as string };
  if (input.request.cores !== undefined) return { reason: NO_COMPUTE };
  const replicas = input.pool.timeSlicing?.replicas;
  const { memory } = input.request;
  if (replicas !== undefined && memory !== undefined && compareQuantity(memory, { text: '', num: input.card.num, den: input.card.den * BigInt(replicas) }) > 0) {
    return { reason: `a replica is 1/${replicas} of a ${input.pool.gpu.memory} card; ${formatBytes(memory)} does not fit it` };
  }
  return { resources: { [timeSlicingResource(input.pool) as string]: input.request.gpu }, warnings: [] };
}

/**
 * HAMi: cards, memory per card in MiB, and a compute reservation whenever compute matters
 * (HAMi reserves none without gpucores; 100 takes the card's compute for this container alone).
 */
function hami(input: TranslateInput): TranslateResult {
  const names = input.pool.hami ?? DEFAULT_HAMI;
  const resources: Record<string, number> = { [names.resourceName]: input.request.gpu };
  const warnings: string[] = [];
  const { memory } = input.request;
  const share = isFraction(input.request, input.card);
  if (memory !== undefined && compareQuantity(memory, input.card) < 0) {
    const mib = roundUnits(input, memory, MIB, 'Mi');
    if ('reason' in mib) return mib;
    resources[names.resourceMem] = mib.value;
    if (mib.warning) warnings.push(mib.warning);
  } else if (memory === undefined && share) {
    resources[names.resourceMemPercentage] = input.request.cores ?? 100; // a compute share: its part of the memory too, not the whole card
  }
  if (!share || input.request.cores !== undefined || input.isolation === 'compute') {
    const cores = coreShare(input, proportionalCores(input), 1);
    if ('reason' in cores) return cores;
    resources[names.resourceCores] = cores.value;
    if (cores.warning) warnings.push(cores.warning);
  }
  return { resources, warnings };
}

/** A card's memory in whole MiB, and `percent` of it rounded up (a compute share's part of the memory). */
function cardMiB(card: Quantity, percent = 100): number {
  return Math.ceil((Number(floorUnits(card, MIB)) * percent) / 100);
}

/**
 * Volcano vGPU, hami-core mode: HAMi's resources under Volcano's names (cards, MiB per card, %
 * per card). The vGPU device plugin advertises no memory percentage (pkg/rm/rm.go registers the
 * count, cores and memory only), so a compute-only share gets its part of the card in MiB.
 */
function volcanoHamiCore(input: TranslateInput): TranslateResult {
  const names = input.pool.hami ?? DEFAULT_HAMI;
  const { memory, cores } = input.request;
  if (memory !== undefined || cores === undefined || !isFraction(input.request, input.card)) return hami(input);
  const t = hami({ ...input, request: { ...input.request, memory: undefined } });
  if ('reason' in t) return t;
  const { [names.resourceMemPercentage]: _percent, ...resources } = t.resources;
  return { resources: { ...resources, [names.resourceMem]: cardMiB(input.card, cores) }, warnings: t.warnings };
}

/** Why Volcano's MIG mode cannot promise compute: it picks a slice by memory alone. */
export const VOLCANO_MIG_BY_MEMORY = "Volcano's mig mode gives the smallest MIG slice that holds the memory (best fit by memory "
  + 'alone), so it cannot promise gpu-cores; ask memory only here, or use a hami-core pool';

/**
 * Volcano vGPU, mig mode: one MIG slice per container, the best fit for its memory ("request
 * 3GB → 5GB slice used", Volcano's vGPU guide). Whole cards and compute shares are not served.
 */
function volcanoMig(input: TranslateInput): TranslateResult {
  const names = input.pool.hami ?? DEFAULT_HAMI;
  if (!isFraction(input.request, input.card)) return { reason: 'hands out MIG slices (mig mode); whole cards need a hami-core pool' };
  if (input.request.gpu > 1) return { reason: ONE_MIG_DEVICE };
  if (input.request.cores !== undefined) return { reason: VOLCANO_MIG_BY_MEMORY };
  const { memory } = input.request;
  if (memory === undefined) return { reason: VOLCANO_MIG_BY_MEMORY };
  const mib = roundUnits(input, memory, MIB, 'Mi');
  if ('reason' in mib) return mib;
  return { resources: { [names.resourceName]: 1, [names.resourceMem]: mib.value }, warnings: mib.warning ? [mib.warning] : [] };
}

function volcano(input: TranslateInput): TranslateResult {
  const t = input.pool.volcano?.mode === 'mig' ? volcanoMig(input) : volcanoHamiCore(input);
  return 'reason' in t ? t : inMemoryUnits(input, t);
}

/**
 * volcano.sh/vgpu-memory counts units of the device plugin's gpuMemoryFactor MiB: the plugin
 * registers `memory.Total/(1024*1024) / GPUMemoryFactor` per card and limits a container to
 * `Usedmem*GPUMemoryFactor` MiB (volcano-vgpu-device-plugin pkg/plugin/register.go, server.go), and
 * Volcano's mig mode multiplies the request by it (nvidia/vgpu/mig.go TryAddPod). MiB become units,
 * rounded up so that the container gets at least what it asked.
 */
function inMemoryUnits(input: TranslateInput, t: ContainerTranslation): TranslateResult {
  const factor = input.pool.volcano?.memoryFactor ?? 1;
  const name = (input.pool.hami ?? DEFAULT_HAMI).resourceMem;
  const mib = t.resources[name];
  if (factor === 1 || mib === undefined) return t;
  const units = Math.ceil(mib / factor);
  const warnings = [...t.warnings];
  if (units * factor !== mib) {
    const why = `${mib}Mi is not a whole number of the device plugin's ${factor}Mi memory units (volcano.memoryFactor)`;
    if (input.rounding === 'deny') return { reason: `gpu-memory ${why} (policy rounding: deny)` };
    warnings.push(fitWarning((c) => `ask gpu-memory in multiples of ${factor}Mi to avoid rounding: ${why}, rounded up to ${units * factor}Mi (container "${c}")`,
      input.container));
  }
  return { resources: { ...t.resources, [name]: units }, warnings };
}

/**
 * Koordinator's HAMi-core limits a container only when its share of memory is below a whole card
 * (koordlet hooks/gpu/gpu.go: CUDA_DEVICE_MEMORY_LIMIT and CUDA_DEVICE_SM_LIMIT are set only when
 * gpu-memory-ratio < 100), so a compute share beside a whole card's memory would not be limited.
 */
export const KOORD_COMPUTE_NEEDS_MEMORY = "Koordinator limits compute only beside a memory share below the card (koordlet sets "
  + 'CUDA_DEVICE_SM_LIMIT only when gpu-memory-ratio < 100): ask gpu-memory below the card with gpu-cores';

/**
 * Koordinator device share: pod totals over `gpu.shared` cards, which koord-scheduler divides by
 * the count (deviceshare devicehandler_gpu.go calcDesiredRequestsAndCountForGPU). Whole cards are
 * 100 % of memory and compute per card; a memory share is bytes, a compute-only share its percent
 * of the memory too (gpu-core alone is no valid combination, utils.go ValidDeviceResourceCombinations).
 */
function koordinator(input: TranslateInput): TranslateResult {
  const { request, card } = input;
  const n = request.gpu;
  const shared = { [KOORD.gpuShared]: n };
  if (!isFraction(request, card)) return { resources: { ...shared, [KOORD.gpuMemoryRatio]: 100 * n, [KOORD.gpuCore]: 100 * n }, warnings: [] };
  const { memory } = request;
  const memoryShare = memory !== undefined && compareQuantity(memory, card) < 0;
  if (!memoryShare && memory !== undefined) return { reason: KOORD_COMPUTE_NEEDS_MEMORY };
  const warnings: string[] = [];
  const resources: Record<string, number> = { ...shared };
  if (memoryShare) {
    const mib = roundUnits(input, memory, MIB, 'Mi');
    if ('reason' in mib) return mib;
    resources[KOORD.gpuMemory] = mib.value * Number(MIB) * n;
    if (mib.warning) warnings.push(mib.warning);
  } else {
    resources[KOORD.gpuMemoryRatio] = (request.cores ?? 100) * n;
  }
  if (request.cores !== undefined || input.isolation === 'compute') {
    const cores = coreShare(input, proportionalCores(input), 1);
    if ('reason' in cores) return cores;
    resources[KOORD.gpuCore] = cores.value * n;
    if (cores.warning) warnings.push(cores.warning);
  }
  return { resources, warnings };
}

/** Why a dra pool cannot serve a share of a card: a DRA count asks whole devices (docs/adr/0004-dra-claims.md). */
export const DRA_NO_SHARES = 'dra serves whole devices by count: a share of a card (memory, compute, MPS or time-slicing) is not a count '
  + '(a dra pool with mig serves it as a MIG slice)';

/** DRA by count: the pool's DeviceClass resource, whole devices or the MIG profile that holds the request. */
function dra(input: TranslateInput): TranslateResult {
  const { pool } = input;
  if (!pool.mig) {
    if (isFraction(input.request, input.card)) return { reason: DRA_NO_SHARES };
    const cls = poolDeviceClass(pool, WHOLE_DEVICE);
    return cls ? { resources: { [cls.resource]: input.request.gpu }, warnings: [] } : { reason: 'has no DeviceClass for whole cards' };
  }
  const profile = input.request.gpu > 1 ? undefined : chooseMigProfile(input);
  if (!profile) return mig(input);
  const cls = poolDeviceClass(pool, profile.name);
  return cls ? { resources: { [cls.resource]: input.request.gpu }, warnings: decimalNote(input, profile) } : { reason: `has no DeviceClass for MIG ${profile.name}` };
}

/** Why a kai pool refuses a compute share (kai-scheduler/KAI-Scheduler#274). */
export const KAI_NO_COMPUTE = 'KAI limits no compute: pods sharing a card get equal time slices whatever their gpu-fraction '
  + '(KAI-Scheduler#274); ask whole GPUs, or a pool that isolates compute (MIG, HAMi, ack-core-mem)';

/** What a KAI share isolates: memory with the HAMi-core isolator the pool declares, else nothing. */
export function kaiShareIsolation(pool: Pool): Isolation {
  return pool.kai?.gpuIsolationProvider === 'HAMi-core' ? 'memory' : 'none';
}

/** Why a KAI share does not give the isolation the pod needs, or undefined. */
export function kaiIsolationReason(pool: Pool, needed: Isolation): string | undefined {
  const given = kaiShareIsolation(pool);
  if (isolationCovers(given, needed)) return undefined;
  return needed === 'compute' ? `a KAI share isolates ${given === 'none' ? 'nothing' : 'memory only'} (no compute), the pod needs compute: ask whole GPUs`
    : 'a KAI share limits no memory unless the pool declares kai.gpuIsolationProvider: HAMi-core (kai-resource-isolator), the pod needs memory';
}

/**
 * KAI Scheduler: whole cards as nvidia.com/gpu, MIG as the nvidia-mig backend writes it, and a
 * share as the pod annotation gpu-fraction, rounded up to KAI's hundredths of the card, naming
 * its container (gpu-fraction-container-name) and its cards (gpu-fraction-num-devices).
 * Never gpu-memory: it schedules only on nodes labelled nvidia.com/gpu.memory (docs/backends.md).
 */
function kai(input: TranslateInput): TranslateResult {
  const { request, card, pool } = input;
  if (pool.mig) return mig(input);
  if (!isFraction(request, card)) return { resources: { [NATIVE.nvidiaGpu]: request.gpu }, warnings: [] };
  if (request.cores !== undefined) return { reason: KAI_NO_COMPUTE };
  const isolation = kaiIsolationReason(pool, input.isolation);
  if (isolation) return { reason: isolation };
  const memory = request.memory as Quantity; // a share without gpu-cores is a memory share
  const [num, den] = [memory.num * card.den * 100n, memory.den * card.num];
  const hundredths = Number((num + den - 1n) / den);
  const rounded = num % den !== 0n;
  const fraction = (hundredths / 100).toFixed(2);
  const written = formatBytes(memory);
  if (rounded && input.rounding === 'deny') {
    return { reason: `gpu-memory ${written} is not a whole hundredth of a ${pool.gpu.memory} card, KAI's gpu-fraction step (policy rounding: deny)` };
  }
  if (hundredths >= 100) {
    return { resources: { [NATIVE.nvidiaGpu]: request.gpu }, warnings: [fitWarning((c) => `ask at most 99% of a card for a KAI share: `
      + `${written} rounds up to a whole GPU, given (container "${c}")`, input.container)] };
  }
  const annotations: Record<string, string> = {
    [KAI.fraction]: fraction, [KAI.containerName]: input.container,
    ...(request.gpu > 1 ? { [KAI.numDevices]: String(request.gpu) } : {}),
  };
  const warnings = rounded ? [fitWarning((c) => `ask gpu-memory in hundredths of the ${pool.gpu.memory} card: ${written} rounded up to `
    + `gpu-fraction ${fraction} (container "${c}")`, input.container)] : [];
  return { resources: {}, warnings, annotations };
}

/** GKE's device plugin refuses more than one nvidia.com/gpu per container under time-sharing (gpusharing.ValidateRequest). */
export const GKE_ONE_SHARE = 'GKE time-sharing gives a container one share ("at most 1 nvidia.com/gpu can be requested" under time-sharing), '
  + 'so it serves one GPU per container';

/** GKE: whole cards, a time-sharing turn, k of N MPS shares, or a MIG partition, each as nvidia.com/gpu. */
function gke(input: TranslateInput): TranslateResult {
  switch (gkeMode(input.pool)) {
    case 'exclusive': return whole(NATIVE.nvidiaGpu)(input);
    case 'mig': return mig(input);
    case 'time-sharing': return gkeTimeSharing(input);
    case 'mps': return gkeMps(input);
  }
}

function gkeTimeSharing(input: TranslateInput): TranslateResult {
  const { request, card, pool } = input;
  const clients = pool.gke?.maxSharedClientsPerGpu ?? 1;
  if (!isFraction(request, card)) return { reason: 'GKE time-sharing only shares cards (each container a turn); whole GPUs need a gke pool without sharing' };
  if (request.gpu > 1) return { reason: GKE_ONE_SHARE };
  if (request.cores !== undefined) return { reason: 'GKE time-sharing cannot limit compute; gpu-cores needs GKE MPS or MIG' };
  const { memory } = request;
  if (memory !== undefined && compareQuantity(memory, { text: '', num: card.num, den: card.den * BigInt(clients) }) > 0) {
    return { reason: `a time-sharing client is 1/${clients} of a ${pool.gpu.memory} card; ${formatBytes(memory)} does not fit it` };
  }
  return { resources: { [NATIVE.nvidiaGpu]: 1 }, warnings: [] };
}

/**
 * What k of N MPS shares give a container, as GKE's device plugin computes it (manager.go Envs):
 * CUDA_MPS_PINNED_DEVICE_MEM_LIMIT = k × card / N in whole MiB, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE = k × 100 / N, both rounded down.
 */
export function mpsShare(k: number, clients: number, card: Quantity): { memoryMiB: bigint; threads: number } {
  const bytes = (BigInt(k) * card.num) / (card.den * BigInt(clients));
  return { memoryMiB: bytes / MIB, threads: Math.floor((k * 100) / clients) };
}

/** The fewest MPS shares that hold the request: its memory and its compute, each as the plugin rounds them. */
function mpsShares(request: GpuRequest, clients: number, card: Quantity): number {
  const memoryBytes = request.memory ? ceilUnits(request.memory, 1n) : 0n;
  const cores = request.cores ?? 0;
  for (let k = 1; k < clients; k++) {
    const share = mpsShare(k, clients, card);
    if (share.memoryMiB * MIB >= memoryBytes && share.threads >= cores) return k;
  }
  return clients;
}

function gkeMps(input: TranslateInput): TranslateResult {
  const { request, card, pool } = input;
  const clients = pool.gke?.maxSharedClientsPerGpu ?? 1;
  if (request.gpu > 1) return { reason: 'a GKE MPS container runs on one GPU (the device plugin pins it to one card): ask 1 GPU per container here' };
  const k = isFraction(request, card) ? mpsShares(request, clients, card) : clients;
  if (k > 1 && pool.gpu.perNode > 1) {
    return { reason: `needs ${k} of ${clients} MPS shares; GKE allows more than one nvidia.com/gpu under MPS only on single-GPU nodes, `
      + `and this pool has ${pool.gpu.perNode} per node` };
  }
  return { resources: { [NATIVE.nvidiaGpu]: k }, warnings: mpsNote(input, k, clients) };
}

/** A share rounded up to k/N of the card: what the container asked, and what k shares give it. */
function mpsNote(input: TranslateInput, k: number, clients: number): string[] {
  const { request, card } = input;
  if (!isFraction(request, card)) return [];
  const given = mpsShare(k, clients, input.card);
  const moreMemory = request.memory !== undefined && given.memoryMiB * MIB > ceilUnits(request.memory, MIB) * MIB;
  const moreCores = request.cores !== undefined && given.threads > request.cores;
  if (!moreMemory && !moreCores) return [];
  const asked = [request.memory?.text, request.cores !== undefined ? `${request.cores}%` : undefined].filter(Boolean).join(' + ');
  const gib = (Number(given.memoryMiB) / 1024).toFixed(1);
  return [fitWarning((c) => `${asked} rounded up to ${k} of ${clients} MPS shares (${gib}Gi, ${given.threads}%) (container "${c}")`, input.container)];
}

export function describeShare(request: GpuRequest): string {
  const parts = [request.memory ? formatBytes(request.memory) : undefined,
    request.cores !== undefined ? `${request.cores}% compute` : undefined].filter(Boolean);
  return parts.join(' + ') || 'a whole card';
}

const TRANSLATE: Readonly<Record<Backend, (input: TranslateInput) => TranslateResult>> = {
  'ack-exclusive': whole(NATIVE.nvidiaGpu),
  'ack-topology': whole(NATIVE.aliyunGpu),
  'ack-cgpu': ackShared,
  'ack-share': ackShared,
  'ack-mps': ackShared,
  'ack-core-mem': ackShared,
  'ack-mig': mig,
  'nvidia-exclusive': whole(NATIVE.nvidiaGpu),
  'nvidia-time-slicing': timeSlicing,
  'nvidia-mig': mig,
  hami,
  dra,
  'volcano-vgpu': volcano,
  koordinator,
  kai,
  gke,
};

/**
 * What every translation on a pool writes, where its backend fixes it: `always`, names each
 * container's resources hold whenever the pool serves it; `may`, whether a name can be among them
 * at all. Undefined for backends whose names depend on more than this (HAMi's, Volcano's,
 * koordinator's, KAI's, DRA's, GKE's, time-slicing's names come from the pool, a KAI share
 * writes none). Read off the translations above: `whole` writes its one resource; `ackShared`
 * writes ACK's memory, and compute where the backend requires it; `mig` one resource, a MIG
 * profile's (mixed) or nvidia.com/gpu (single). test/engine/group-only.test.ts holds every
 * translation to it.
 */
export interface WrittenNames {
  readonly always: readonly string[];
  readonly may: (name: string) => boolean;
}

const only = (...names: string[]): WrittenNames => ({ always: names, may: (name) => names.includes(name) });
const MIG_PREFIX = migResourceName('');
const MIG_WRITTEN: WrittenNames = { always: [], may: (name) => name === NATIVE.nvidiaGpu || name.startsWith(MIG_PREFIX) };
const WRITTEN: Partial<Record<Backend, WrittenNames>> = {
  'ack-exclusive': only(NATIVE.nvidiaGpu),
  'nvidia-exclusive': only(NATIVE.nvidiaGpu),
  'ack-topology': only(NATIVE.aliyunGpu),
  'ack-cgpu': only(NATIVE.aliyunGpuMem),
  'ack-share': only(NATIVE.aliyunGpuMem),
  'ack-mps': only(NATIVE.aliyunGpuMem),
  'ack-core-mem': only(NATIVE.aliyunGpuMem, NATIVE.aliyunGpuCore),
  'ack-mig': MIG_WRITTEN,
  'nvidia-mig': MIG_WRITTEN,
};

export function writtenNames(pool: Pool): WrittenNames | undefined {
  return WRITTEN[pool.backend];
}

/** The container's GPU resources on this pool, or why the pool's backend cannot serve it. */
export function translate(input: TranslateInput): TranslateResult {
  return TRANSLATE[input.pool.backend](input);
}

/**
 * The scheduler that must place a pool's pods, if one must: the pool's own, else its backend's
 * (hami-scheduler for HAMi; ACK's own scheduler, named default-scheduler, for its shared and
 * topology modes). Undefined: any scheduler will do.
 */
export function poolScheduler(pool: Pool): string | undefined {
  return pool.schedulerName ?? BACKEND_FACTS[pool.backend].scheduler;
}

/** The schedulerName the webhook writes for a pool: only a scheduler other than the default. */
export function schedulerToWrite(pool: Pool): string | undefined {
  const name = poolScheduler(pool);
  return name === DEFAULT_SCHEDULER ? undefined : name;
}
