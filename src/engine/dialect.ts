import { timeSlicingResource } from '../policy/defaults.ts';
import type { Policy } from '../policy/types.ts';
import { migProfileOfResource } from '../vocabulary/mig.ts';
import { DRA_CLASS_RESOURCE_PREFIX, GPU_DRIVER_CLASS, KOORD, NATIVE } from '../vocabulary/names.ts';

/**
 * What a native GPU resource name means under a policy: NVIDIA's and ACK's fixed names, MIG
 * profiles, Koordinator's fixed names, and the names the policy gives its time-slicing, HAMi and
 * Volcano vGPU pools (HAMi's chart and Volcano's device plugin can rename their resources) and its
 * dra pools' DeviceClasses.
 */
export type NativeKind =
  | 'nvidia-gpu' | 'aliyun-gpu' | 'aliyun-mem' | 'aliyun-core' | 'mig' | 'time-slicing'
  | 'hami-gpu' | 'hami-mem' | 'hami-mem-percent' | 'hami-cores' | 'dra'
  | 'koord-shared' | 'koord-core' | 'koord-memory' | 'koord-ratio' | 'koord-gpu'
  // KAI's share annotations (pod annotations, read as requests of the container they name: src/engine/kai.ts)
  | 'kai-fraction' | 'kai-memory' | 'kai-devices';

const cache = new WeakMap<Policy, ReadonlyMap<string, NativeKind>>();

function policyNames(policy: Policy): ReadonlyMap<string, NativeKind> {
  let names = cache.get(policy);
  if (!names) {
    const map = new Map<string, NativeKind>([
      [NATIVE.aliyunGpu, 'aliyun-gpu'], [NATIVE.aliyunGpuMem, 'aliyun-mem'], [NATIVE.aliyunGpuCore, 'aliyun-core'],
      [NATIVE.hamiMem, 'hami-mem'], [NATIVE.hamiMemPercent, 'hami-mem-percent'], [NATIVE.hamiCores, 'hami-cores'],
      [KOORD.gpuShared, 'koord-shared'], [KOORD.gpuCore, 'koord-core'], [KOORD.gpuMemory, 'koord-memory'],
      [KOORD.gpuMemoryRatio, 'koord-ratio'], [KOORD.gpu, 'koord-gpu'],
    ]);
    for (const pool of policy.pools) {
      const shared = timeSlicingResource(pool);
      if (shared !== undefined && shared !== NATIVE.nvidiaGpu) map.set(shared, 'time-slicing');
      // A class with an extendedResourceName still answers to its implicit name: both are the pool's.
      for (const cls of pool.dra?.deviceClasses ?? []) map.set(cls.resource, 'dra').set(`${DRA_CLASS_RESOURCE_PREFIX}${cls.name}`, 'dra');
      if (pool.hami) {
        if (pool.hami.resourceName !== NATIVE.nvidiaGpu) map.set(pool.hami.resourceName, 'hami-gpu');
        map.set(pool.hami.resourceMem, 'hami-mem').set(pool.hami.resourceMemPercentage, 'hami-mem-percent').set(pool.hami.resourceCores, 'hami-cores');
      }
    }
    names = map;
    cache.set(policy, names);
  }
  return names;
}

/**
 * What `kindOf` said of each resource name read under a policy (null: not a GPU resource): the same
 * few names (cpu, memory, the GPU ones) come in every pod. Only short names are kept, and the map
 * is emptied when full, so names a client invents cannot grow it without bound.
 */
const kinds = new WeakMap<Policy, Map<string, NativeKind | null>>();
const MAX_KINDS = 1024;
const MAX_KIND_NAME = 64;

/** The kind of a native GPU resource; plain nvidia.com/gpu is `nvidia-gpu`. Undefined: not a GPU resource. */
export function nativeKind(name: string, policy: Policy): NativeKind | undefined {
  if (name === NATIVE.nvidiaGpu) return 'nvidia-gpu';
  let known = kinds.get(policy);
  if (!known) kinds.set(policy, (known = new Map()));
  const kept = known.get(name);
  if (kept !== undefined) return kept ?? undefined;
  const kind = kindOf(name, policy);
  if (name.length <= MAX_KIND_NAME) {
    if (known.size >= MAX_KINDS) known.clear();
    known.set(name, kind ?? null);
  }
  return kind;
}

function kindOf(name: string, policy: Policy): NativeKind | undefined {
  if (migProfileOfResource(name) !== undefined || name.startsWith(NATIVE.migPrefix)) return 'mig';
  const known = policyNames(policy).get(name);
  if (known !== undefined) return known;
  return name.startsWith(DRA_CLASS_RESOURCE_PREFIX) && GPU_DRIVER_CLASS.test(name.slice(DRA_CLASS_RESOURCE_PREFIX.length)) ? 'dra' : undefined;
}

/** Resource names that belong to a GPU dialect rather than to gpu-admission. */
export function isNativeGpuResource(name: string, policy: Policy): boolean {
  if (name === NATIVE.nvidiaGpu) return !policy.defaults.acceptNvidiaGpu;
  return nativeKind(name, policy) !== undefined;
}
