/**
 * What each backend is, as its vendor documents it: the node labels that select its nodes, what
 * it isolates, whether it shares cards, what a share may ask, and which scheduler its pods need.
 * docs/backends.md gives the source of every fact here; a test keeps the two equal.
 */

import { GKE_LABEL } from './clouds.ts';
import {
  ACK_MODEL_LABEL, ACK_SCHEDULE_LABEL, HAMI_GPU_TYPE_ANNOTATION, HAMI_SCHEDULER, KAI, KOORD, NVIDIA_MIG_STRATEGY_LABEL, NVIDIA_PRODUCT_LABEL, VOLCANO,
} from './names.ts';

export const BACKENDS = [
  'ack-exclusive', 'ack-topology', 'ack-cgpu', 'ack-share', 'ack-mps', 'ack-core-mem', 'ack-mig',
  'nvidia-exclusive', 'nvidia-time-slicing', 'nvidia-mig', 'hami', 'dra',
  'volcano-vgpu', 'koordinator', 'kai', 'gke',
] as const;
export type Backend = (typeof BACKENDS)[number];

export const ISOLATIONS = ['none', 'memory', 'compute'] as const;
export type Isolation = (typeof ISOLATIONS)[number];

export const PLACEMENTS = ['binpack', 'spread'] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** The scheduler Kubernetes writes into pods that name none. */
export const DEFAULT_SCHEDULER = 'default-scheduler';

export interface BackendFacts {
  readonly family: 'ack' | 'nvidia' | 'hami' | 'dra' | 'volcano' | 'koordinator' | 'kai' | 'gke';
  /** What the backend isolates between pods that share a card (exclusive cards isolate everything). */
  readonly isolation: Isolation;
  /** Whether pods of several tenants share a card. */
  readonly shares: boolean;
  /**
   * The node label that selects the backend's mode, and its value; `orAbsent` when nodes
   * without the label are in that mode too. Backends without one are selected by the pool's
   * nodeSelector alone.
   */
  readonly modeLabel?: { readonly key: string; readonly value: string; readonly orAbsent?: boolean };
  /** ACK shared modes: the node label ack.node.gpu.placement (binpack by default) applies. */
  readonly placement: boolean;
  /** Whether one container may hold shares of more than one card. */
  readonly multiCardShares: boolean;
  /** Whether a share can be limited in compute (gpu-cores). */
  readonly computeShares: boolean;
  /** Whether every share must carry a compute share (ACK core_mem does not mix memory-only jobs). */
  readonly computeRequired: boolean;
  /** The scheduler that must place its pods (it allocates the cards), or undefined when any will do. */
  readonly scheduler?: string;
  /**
   * Where the family publishes the GPU model: a node label (ACK's aliyun.accelerator/nvidia_name,
   * GPU feature discovery's nvidia.com/gpu.product), HAMi's pod annotation that picks the card type,
   * or (DRA) the device attribute the pool's DeviceClass selects on.
   */
  readonly model: { readonly nodeLabel: string } | { readonly podAnnotation: string } | { readonly deviceAttribute: string };
}

const ACK_MODEL = { nodeLabel: ACK_MODEL_LABEL } as const;
const NVIDIA_MODEL = { nodeLabel: NVIDIA_PRODUCT_LABEL } as const;

const ack = (mode: string, facts: Omit<BackendFacts, 'family' | 'modeLabel' | 'placement' | 'scheduler' | 'model'>, shared: boolean): BackendFacts => ({
  family: 'ack', modeLabel: { key: ACK_SCHEDULE_LABEL, value: mode }, placement: shared, model: ACK_MODEL,
  ...(shared ? { scheduler: DEFAULT_SCHEDULER } : {}), ...facts,
});
const whole = { isolation: 'compute', shares: false, multiCardShares: false, computeShares: false, computeRequired: false } as const;

export const BACKEND_FACTS: Readonly<Record<Backend, BackendFacts>> = {
  'ack-exclusive': {
    ...whole, family: 'ack', modeLabel: { key: ACK_SCHEDULE_LABEL, value: 'default', orAbsent: true }, placement: false, model: ACK_MODEL,
  },
  'ack-topology': { ...ack('topology', whole, false), scheduler: DEFAULT_SCHEDULER },
  'ack-cgpu': ack('cgpu', { isolation: 'memory', shares: true, multiCardShares: true, computeShares: false, computeRequired: false }, true),
  'ack-share': ack('share', { isolation: 'none', shares: true, multiCardShares: false, computeShares: false, computeRequired: false }, true),
  'ack-mps': ack('mps', { isolation: 'memory', shares: true, multiCardShares: false, computeShares: false, computeRequired: false }, true),
  'ack-core-mem': ack('core_mem', { isolation: 'compute', shares: true, multiCardShares: false, computeShares: true, computeRequired: true }, true),
  'ack-mig': {
    family: 'ack', modeLabel: { key: ACK_SCHEDULE_LABEL, value: 'mig' }, placement: false, model: ACK_MODEL,
    isolation: 'compute', shares: true, multiCardShares: false, computeShares: true, computeRequired: false,
  },
  'nvidia-exclusive': { ...whole, family: 'nvidia', placement: false, model: NVIDIA_MODEL },
  'nvidia-time-slicing': {
    family: 'nvidia', placement: false, model: NVIDIA_MODEL, isolation: 'none', shares: true, multiCardShares: false, computeShares: false, computeRequired: false,
  },
  'nvidia-mig': {
    family: 'nvidia', modeLabel: { key: NVIDIA_MIG_STRATEGY_LABEL, value: 'mixed' }, placement: false, model: NVIDIA_MODEL,
    isolation: 'compute', shares: true, multiCardShares: false, computeShares: true, computeRequired: false,
  },
  hami: {
    family: 'hami', placement: false, isolation: 'compute', shares: true, multiCardShares: true, computeShares: true,
    computeRequired: false, scheduler: HAMI_SCHEDULER, model: { podAnnotation: HAMI_GPU_TYPE_ANNOTATION },
  },
  // Dynamic Resource Allocation by count (the DeviceClass's extended resource): whole devices.
  // A dra pool with `mig` serves MIG devices instead; shares of a card are not a count (docs/adr/0004-dra-claims.md).
  dra: { ...whole, family: 'dra', placement: false, model: { deviceAttribute: 'productName' } },
  // HAMi's engine under Volcano's names, scheduled by Volcano's deviceshare plugin; the card type by
  // HAMi's annotation (nvidia/vgpu/type.go GPUInUse). Isolation is HAMi-core's (or MIG's, in mig mode).
  'volcano-vgpu': {
    family: 'volcano', placement: false, isolation: 'compute', shares: true, multiCardShares: true, computeShares: true,
    computeRequired: false, scheduler: VOLCANO.scheduler, model: { podAnnotation: HAMI_GPU_TYPE_ANNOTATION },
  },
  // Koordinator's DeviceShare: koord-scheduler accounts the shares; only HAMi-core (a pool's
  // koordinator.gpuIsolationProvider) enforces them, so without it nothing is isolated (poolIsolation).
  koordinator: {
    family: 'koordinator', placement: false, isolation: 'none', shares: true, multiCardShares: true, computeShares: true,
    computeRequired: false, scheduler: KOORD.scheduler, model: { nodeLabel: KOORD.modelLabel },
  },
  // KAI Scheduler: whole cards (and MIG slices) isolate; a share is the pod annotation gpu-fraction,
  // which limits no compute and (without the HAMi-core isolator the pool declares) no memory:
  // translate.ts refuses a share to a pod that needs more isolation than the share gives.
  kai: {
    family: 'kai', placement: false, model: NVIDIA_MODEL, isolation: 'compute', shares: true, multiCardShares: true,
    computeShares: false, computeRequired: false, scheduler: KAI.scheduler,
  },
  // GKE's own device plugin, whole cards; a pool's `gke` block (time-sharing, MPS) or `mig` (a
  // partition size) changes what it shares: GKE_MODES below.
  gke: { ...whole, family: 'gke', placement: false, model: { nodeLabel: GKE_LABEL.accelerator } },
};

/** GKE's GPU modes: one per node pool, from its sharing strategy or partition size. */
export const GKE_MODES = ['exclusive', 'time-sharing', 'mps', 'mig'] as const;
export type GkeMode = (typeof GKE_MODES)[number];

/**
 * What each GKE mode shares and isolates: time-sharing gives each container a turn of a card and
 * limits nothing; MPS limits each container's memory and active threads to k/N of the card
 * (the device plugin's Envs); MIG partitions are hardware slices. Facts beyond the backend's.
 */
export const GKE_MODE_FACTS: Readonly<Record<GkeMode, Pick<BackendFacts, 'isolation' | 'shares' | 'computeShares'>>> = {
  exclusive: { isolation: 'compute', shares: false, computeShares: false },
  'time-sharing': { isolation: 'none', shares: true, computeShares: false },
  mps: { isolation: 'compute', shares: true, computeShares: true },
  mig: { isolation: 'compute', shares: true, computeShares: true },
};

const RANK: Record<Isolation, number> = { none: 0, memory: 1, compute: 2 };
export function isolationCovers(given: Isolation, needed: Isolation): boolean {
  return RANK[given] >= RANK[needed];
}

/** The label key a pool's nodeSelector may not set, because its backend sets it. */
export function ownedLabel(backend: Backend): string | undefined {
  return BACKEND_FACTS[backend].modeLabel?.key;
}

