import type { Backend } from '../vocabulary/backends.ts';
import { KOORD, VOLCANO } from '../vocabulary/names.ts';
import type { Pool, PoolHami } from './types.ts';

/** The names a pool takes when the policy does not give them: the vendors' own defaults. */

/** NVIDIA's device plugin with `renameByDefault: true` advertises replicas as `<resource>.shared`. */
export const DEFAULT_TIME_SLICING_RESOURCE = 'nvidia.com/gpu.shared';

/** ACK's eRDMA device resource. */
export const DEFAULT_RDMA_RESOURCE = 'aliyun/erdma';

/** The RDMA resource a pool's pods ask by default: Koordinator's koordinator.sh/rdma on its pools, else ACK's eRDMA. */
export function defaultRdmaResource(backend: Backend): string {
  return backend === 'koordinator' ? KOORD.rdma : DEFAULT_RDMA_RESOURCE;
}

/**
 * Volcano's names for HAMi's resources: the volcano-vgpu-device-plugin's defaults (its chart's
 * resourceCountName, resourceMemoryName, resourceMemoryPercentageName, resourceCoreName).
 */
export const DEFAULT_VOLCANO_VGPU: PoolHami = {
  resourceName: VOLCANO.number, resourceMem: VOLCANO.memory, resourceMemPercentage: VOLCANO.memoryPercentage, resourceCores: VOLCANO.cores,
};

/** HAMi's chart values resourceName, resourceMem, resourceMemPercentage, resourceCores. */
export const DEFAULT_HAMI: PoolHami = {
  resourceName: 'nvidia.com/gpu', resourceMem: 'nvidia.com/gpumem',
  resourceMemPercentage: 'nvidia.com/gpumem-percentage', resourceCores: 'nvidia.com/gpucores',
};

/** The extended resource a time-slicing pool's replicas are advertised as; undefined on other backends. */
export function timeSlicingResource(pool: Pool): string | undefined {
  return pool.backend === 'nvidia-time-slicing' ? pool.timeSlicing?.resource ?? DEFAULT_TIME_SLICING_RESOURCE : undefined;
}
