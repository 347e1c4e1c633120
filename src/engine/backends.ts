import { parseMigProfile, type MigProfile } from '../policy/semantics.ts';
import type { Backend, Isolation, Pool } from '../policy/types.ts';
import type { GpuRequest } from './demand.ts';
import type { NodeSelectorRequirement } from './pod.ts';
import { GIB, MIB, ceilUnits, compareQuantity, formatBytes, isMultipleOf, type Quantity } from './quantity.ts';
import {
  ACK_PLACEMENT_LABEL, ACK_SCHEDULE_LABEL, HAMI_SCHEDULER, NATIVE, NVIDIA_MIG_STRATEGY_LABEL,
} from './vocabulary.ts';

/** What one container becomes on one pool: its GPU resources (integers), and rounding notes. */
export interface ContainerTranslation {
  readonly resources: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
}
export type TranslateResult = ContainerTranslation | { readonly reason: string };

export interface TranslateInput {
  readonly request: GpuRequest;
  readonly pool: Pool;
  readonly card: Quantity;
  readonly rounding: 'up' | 'deny';
  readonly container: string;
}

interface BackendSpec {
  readonly isolation: Isolation;
  /** Node-label requirements; several entries are ORed (a pool's nodeSelector is ANDed into each). */
  readonly terms: (pool: Pool) => NodeSelectorRequirement[][];
  readonly translate: (input: TranslateInput) => TranslateResult;
  /** ACK shared pools spread N > 1 cards with the pod label aliyun.com/gpu-count. */
  readonly ackShared?: boolean;
  /** Whether pods of several tenants share a card (everything but exclusive and topology). */
  readonly shares: boolean;
  readonly schedulerName?: string;
}

const RANK: Record<Isolation, number> = { none: 0, memory: 1, compute: 2 };
export function isolationCovers(given: Isolation, needed: Isolation): boolean {
  return RANK[given] >= RANK[needed];
}

/** Whether the request is less than whole cards of this pool (a share of a card). */
export function isFraction(request: GpuRequest, card: Quantity): boolean {
  return (request.memory !== undefined && compareQuantity(request.memory, card) < 0)
    || (request.cores !== undefined && request.cores < 100);
}

const label = (key: string, value: string): NodeSelectorRequirement => ({ key, operator: 'In', values: [value] });
const ackMode = (mode: string) => (): NodeSelectorRequirement[][] => [[label(ACK_SCHEDULE_LABEL, mode)]];
const ackSharedMode = (mode: string) => (pool: Pool): NodeSelectorRequirement[][] => [[
  label(ACK_SCHEDULE_LABEL, mode),
  pool.placement === 'spread'
    ? label(ACK_PLACEMENT_LABEL, 'spread')
    : { key: ACK_PLACEMENT_LABEL, operator: 'NotIn', values: ['spread'] },
]];
const selectorOnly = (): NodeSelectorRequirement[][] => [[]];

const EXCLUSIVE_ONLY = 'takes whole GPUs only; a share of a card needs a sharing backend';
const NO_COMPUTE = 'cannot limit compute; gpu-cores needs ack-core-mem, MIG or HAMi';

function whole(resource: string) {
  return ({ request, card }: TranslateInput): TranslateResult =>
    isFraction(request, card) ? { reason: EXCLUSIVE_ONLY } : { resources: { [resource]: request.gpu }, warnings: [] };
}

/** Memory of one card in whole GiB (what a whole-GPU request takes on a shared pool). */
function cardGiB(card: Quantity): number {
  return Number(card.num / (card.den * GIB));
}

type Rounded = { readonly value: number; readonly warning?: string } | { readonly reason: string };

function roundUnits(input: TranslateInput, q: Quantity, unit: bigint, unitName: string): Rounded {
  const value = Number(ceilUnits(q, unit));
  if (isMultipleOf(q, unit)) return { value };
  const rounded = `${value}${unitName}`;
  if (input.rounding === 'deny') return { reason: `gpu-memory ${q.text} is not a whole ${unitName} (policy rounding: deny)` };
  return { value, warning: `container "${input.container}": gpu-memory ${q.text} rounded up to ${rounded}` };
}

/** Memory per GPU in whole GiB: the card for whole GPUs, else the request rounded up. */
function memoryGiB(input: TranslateInput): Rounded {
  const { request, card } = input;
  if (request.memory === undefined || !isFraction({ ...request, cores: undefined }, card)) {
    const share = request.cores !== undefined && request.memory === undefined ? request.cores : 100;
    return { value: Math.max(1, Math.ceil((cardGiB(card) * share) / 100)) };
  }
  return roundUnits(input, request.memory, GIB, 'Gi');
}

function ackMemory(input: TranslateInput): TranslateResult {
  if (input.request.cores !== undefined && input.request.cores < 100) return { reason: NO_COMPUTE };
  const mem = memoryGiB(input);
  if ('reason' in mem) return mem;
  return { resources: { [NATIVE.aliyunGpuMem]: mem.value * input.request.gpu }, warnings: mem.warning ? [mem.warning] : [] };
}

function ackCoreMem(input: TranslateInput): TranslateResult {
  const mem = memoryGiB(input);
  if ('reason' in mem) return mem;
  const warnings = mem.warning ? [mem.warning] : [];
  const resources: Record<string, number> = { [NATIVE.aliyunGpuMem]: mem.value * input.request.gpu };
  const cores = input.request.cores ?? (isFraction(input.request, input.card) ? undefined : 100);
  if (cores !== undefined) {
    const rounded = Math.max(5, Math.ceil(cores / 5) * 5);
    if (rounded !== cores) {
      if (input.rounding === 'deny') return { reason: `gpu-cores ${cores} is not a multiple of 5 (policy rounding: deny)` };
      warnings.push(`container "${input.container}": gpu-cores ${cores} rounded up to ${rounded}`);
    }
    resources[NATIVE.aliyunGpuCore] = rounded;
  }
  return { resources, warnings };
}

/** The smallest listed MIG profile that holds the request (the full-card one for whole GPUs). */
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

export function chooseMigProfile(input: TranslateInput): MigProfile | undefined {
  const profiles = migProfiles(input.pool);
  if (!isFraction(input.request, input.card)) return profiles.find((p) => p.slices === 7);
  const { memory, cores } = input.request;
  return profiles.find((p) => (memory === undefined || compareQuantity(memory, { text: '', num: p.memoryBytes, den: 1n }) <= 0)
    && (cores === undefined || (p.slices * 100) / 7 >= cores));
}

function mig(input: TranslateInput): TranslateResult {
  const profile = chooseMigProfile(input);
  if (!profile) {
    return { reason: isFraction(input.request, input.card)
      ? `no MIG profile holds ${describeShare(input.request)} (has ${input.pool.mig?.profiles.join(', ')})`
      : 'no full-card MIG profile (7g) is listed for whole GPUs' };
  }
  return { resources: { [`${NATIVE.migPrefix}${profile.name}`]: input.request.gpu }, warnings: [] };
}

function timeSlicing(input: TranslateInput): TranslateResult {
  if (!isFraction(input.request, input.card)) return { reason: 'time-slicing only shares cards; whole GPUs need an exclusive pool' };
  if (input.request.cores !== undefined && input.request.cores < 100) return { reason: NO_COMPUTE };
  return { resources: { [input.pool.timeSlicing?.resource ?? 'nvidia.com/gpu.shared']: input.request.gpu }, warnings: [] };
}

function hami(input: TranslateInput): TranslateResult {
  const resources: Record<string, number> = { [NATIVE.nvidiaGpu]: input.request.gpu };
  const warnings: string[] = [];
  const { memory, cores } = input.request;
  if (memory !== undefined && compareQuantity(memory, input.card) < 0) {
    const mib = roundUnits(input, memory, MIB, 'Mi');
    if ('reason' in mib) return mib;
    resources[NATIVE.hamiMem] = mib.value;
    if (mib.warning) warnings.push(mib.warning);
  }
  if (cores !== undefined && cores < 100) resources[NATIVE.hamiCores] = cores;
  return { resources, warnings };
}

export function describeShare(request: GpuRequest): string {
  const parts = [request.memory ? formatBytes(request.memory) : undefined,
    request.cores !== undefined ? `${request.cores}% compute` : undefined].filter(Boolean);
  return parts.join(' + ') || 'a whole card';
}

export const BACKEND_SPECS: Readonly<Record<Backend, BackendSpec>> = {
  'ack-exclusive': {
    isolation: 'compute', shares: false,
    terms: () => [[label(ACK_SCHEDULE_LABEL, 'default')], [{ key: ACK_SCHEDULE_LABEL, operator: 'DoesNotExist' }]],
    translate: whole(NATIVE.nvidiaGpu),
  },
  'ack-topology': { isolation: 'compute', shares: false, terms: ackMode('topology'), translate: whole(NATIVE.aliyunGpu) },
  'ack-cgpu': { isolation: 'memory', shares: true, terms: ackSharedMode('cgpu'), translate: ackMemory, ackShared: true },
  'ack-share': { isolation: 'none', shares: true, terms: ackSharedMode('share'), translate: ackMemory, ackShared: true },
  'ack-mps': { isolation: 'memory', shares: true, terms: ackSharedMode('mps'), translate: ackMemory, ackShared: true },
  'ack-core-mem': { isolation: 'compute', shares: true, terms: ackSharedMode('core_mem'), translate: ackCoreMem, ackShared: true },
  'ack-mig': { isolation: 'compute', shares: true, terms: ackMode('mig'), translate: mig },
  'nvidia-exclusive': { isolation: 'compute', shares: false, terms: selectorOnly, translate: whole(NATIVE.nvidiaGpu) },
  'nvidia-time-slicing': { isolation: 'none', shares: true, terms: selectorOnly, translate: timeSlicing },
  'nvidia-mig': {
    isolation: 'compute', shares: true, terms: () => [[label(NVIDIA_MIG_STRATEGY_LABEL, 'mixed')]], translate: mig,
  },
  hami: { isolation: 'compute', shares: true, terms: selectorOnly, translate: hami, schedulerName: HAMI_SCHEDULER },
};

/** A pool's effective node selector: its backend's label(s), each ANDed with its nodeSelector. */
const termsCache = new WeakMap<Pool, readonly (readonly NodeSelectorRequirement[])[]>();
export function poolTerms(pool: Pool): readonly (readonly NodeSelectorRequirement[])[] {
  let terms = termsCache.get(pool);
  if (!terms) {
    const own = Object.entries(pool.nodeSelector).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => label(k, v));
    terms = BACKEND_SPECS[pool.backend].terms(pool).map((term) => [...term, ...own]);
    termsCache.set(pool, terms);
  }
  return terms;
}

export function poolPlacement(pool: Pool): Pool['placement'] {
  return pool.placement ?? (BACKEND_SPECS[pool.backend].ackShared ? 'binpack' : undefined);
}
