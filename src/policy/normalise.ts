import type { Backend, Isolation, Placement } from '../vocabulary/backends.ts';
import { DEFAULT_HAMI, DEFAULT_TIME_SLICING_RESOURCE, DEFAULT_VOLCANO_VGPU, defaultRdmaResource } from './defaults.ts';
import { KAI, NVIDIA_DRA_DRIVER } from '../vocabulary/names.ts';
import { classResource, defaultClassName, WHOLE_DEVICE } from './dra.ts';
import type { NamespaceRule, Pool, PoolDra, PoolGke, PoolHami, PoolKai, PoolKoordinator, PoolToleration, PoolVolcano, Policy, PolicyDefaults } from './types.ts';

/** A pool as the schema accepts it (defaults filled in), before the shorthands are spelled out. */
export interface RawPool {
  readonly name: string;
  readonly backend: Backend;
  readonly placement?: Placement;
  readonly disabled: boolean;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly gpu: { readonly model: string; readonly product?: string; readonly modelLabel?: string; readonly memory: string; readonly perNode: number };
  readonly numa?: Pool['numa'];
  readonly rdma?: boolean | { readonly resource?: string; readonly perPod?: number };
  readonly rdmaResource?: string;
  readonly taints: readonly PoolToleration[];
  readonly mig?: { readonly strategy?: 'mixed' | 'single'; readonly profiles?: readonly string[]; readonly layout?: Readonly<Record<string, number>> };
  readonly timeSlicing?: { readonly resource: string; readonly replicas?: number; readonly failRequestsGreaterThanOne: boolean };
  readonly hami?: Partial<PoolHami>;
  readonly dra?: RawDra;
  readonly volcano?: PoolVolcano;
  readonly koordinator?: PoolKoordinator;
  readonly kai?: PoolKai;
  readonly gke?: PoolGke;
  readonly schedulerName?: string;
}

export interface RawDra {
  readonly driver: string;
  readonly deviceClasses?: Readonly<Record<string, { readonly name?: string; readonly extendedResourceName?: string }>>;
}

export interface RawPolicy {
  readonly apiVersion: 'gpu-admission.io/v1alpha1';
  readonly kind: 'GpuAdmissionPolicy';
  readonly defaults: PolicyDefaults & { readonly isolation: Isolation };
  readonly pools: readonly RawPool[];
  readonly namespaces: readonly NamespaceRule[];
}


/** Spells out the shorthands (`rdma: true`, a MIG layout, the defaults of each backend's block); errors name their path. */
export function normalise(raw: RawPolicy): { policy: Omit<Policy, 'revision'>; errors: string[] } {
  const errors: string[] = [];
  const pools = raw.pools.map((p, i) => normalisePool(withPoolLabel(p, raw.defaults.poolLabel, `/pools/${i}`, errors), `/pools/${i}`, errors));
  return { policy: { apiVersion: raw.apiVersion, kind: raw.kind, defaults: raw.defaults, pools, namespaces: raw.namespaces }, errors };
}

/** `defaults.poolLabel`: the pool's name under that key, ANDed into its nodeSelector. */
function withPoolLabel(raw: RawPool, key: string | undefined, path: string, errors: string[]): RawPool {
  if (key === undefined) return raw;
  const own = raw.nodeSelector[key];
  if (own !== undefined && own !== raw.name) errors.push(`${path}/nodeSelector/${key}: defaults.poolLabel gives this pool ${key}=${raw.name}, not ${own}`);
  return { ...raw, nodeSelector: { ...raw.nodeSelector, [key]: raw.name } };
}

function normalisePool(raw: RawPool, path: string, errors: string[]): Pool {
  const { rdma, rdmaResource, mig, timeSlicing, hami, dra, gpu, volcano, koordinator, ...rest } = raw;
  if (typeof rdma === 'object' && rdmaResource !== undefined) errors.push(`${path}/rdmaResource: set rdma.resource instead (rdma is a mapping)`);
  if (mig && (mig.profiles === undefined) === (mig.layout === undefined)) errors.push(`${path}/mig: give either profiles or layout`);
  const rdmaOn = rdma === true || typeof rdma === 'object';
  const profiles = mig ? mig.profiles ?? Object.keys(mig.layout ?? {}) : undefined;
  return {
    ...rest,
    gpu: { ...gpu, product: gpu.product ?? gpu.model },
    ...(rdmaOn ? { rdma: {
      resource: (typeof rdma === 'object' ? rdma.resource : undefined) ?? rdmaResource ?? defaultRdmaResource(raw.backend),
      perPod: (typeof rdma === 'object' ? rdma.perPod : undefined) ?? 1,
    } } : {}),
    ...(mig ? { mig: {
      // GKE exposes a partition as nvidia.com/gpu, as NVIDIA's single strategy does.
      strategy: mig.strategy ?? (raw.backend === 'gke' ? 'single' : 'mixed'),
      profiles: profiles ?? [],
      ...(mig.layout ? { layout: mig.layout } : {}),
    } } : {}),
    ...(timeSlicing || raw.backend === 'nvidia-time-slicing'
      ? { timeSlicing: timeSlicing ?? { resource: DEFAULT_TIME_SLICING_RESOURCE, failRequestsGreaterThanOne: false } } : {}),
    ...(hami || raw.backend === 'hami' || raw.backend === 'volcano-vgpu'
      ? { hami: { ...(raw.backend === 'volcano-vgpu' ? DEFAULT_VOLCANO_VGPU : DEFAULT_HAMI), ...hami } } : {}),
    ...(volcano || raw.backend === 'volcano-vgpu' ? { volcano: volcano ?? { mode: 'hami-core' } } : {}),
    ...(koordinator || raw.backend === 'koordinator' ? { koordinator: koordinator ?? {} } : {}),
    ...(dra || raw.backend === 'dra' ? { dra: normaliseDra(raw.name, profiles, dra) } : {}),
    ...(raw.kai || raw.backend === 'kai' ? { kai: raw.kai ?? { queueLabel: KAI.queueLabel } } : {}),
  };
}

/**
 * A dra pool's classes: one for whole cards, or one per MIG profile of a pool with `mig`; each
 * named by the policy or by default. Keys the pool does not serve are left for checkSemantics.
 */
function normaliseDra(pool: string, profiles: readonly string[] | undefined, dra: RawDra | undefined): PoolDra {
  const given = dra?.deviceClasses ?? {};
  const devices = profiles ?? [WHOLE_DEVICE];
  const keys = [...devices, ...Object.keys(given).filter((k) => !devices.includes(k))];
  return {
    driver: dra?.driver ?? NVIDIA_DRA_DRIVER,
    deviceClasses: keys.map((device) => {
      const name = given[device]?.name ?? defaultClassName(pool, device);
      const extendedResourceName = given[device]?.extendedResourceName;
      return { device, name, ...(extendedResourceName ? { extendedResourceName } : {}), resource: classResource(name, extendedResourceName) };
    }),
  };
}
