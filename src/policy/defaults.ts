import type { Pool, PoolHami } from './types.ts';

/** The names a pool takes when the policy does not give them: the vendors' own defaults. */

/** NVIDIA's device plugin with `renameByDefault: true` advertises replicas as `<resource>.shared`. */
export const DEFAULT_TIME_SLICING_RESOURCE = 'nvidia.com/gpu.shared';

/** ACK's eRDMA device resource. */
export const DEFAULT_RDMA_RESOURCE = 'aliyun/erdma';

/** HAMi's chart values resourceName, resourceMem, resourceMemPercentage, resourceCores. */
export const DEFAULT_HAMI: PoolHami = {
  resourceName: 'nvidia.com/gpu', resourceMem: 'nvidia.com/gpumem',
  resourceMemPercentage: 'nvidia.com/gpumem-percentage', resourceCores: 'nvidia.com/gpucores',
};

/** The extended resource a time-slicing pool's replicas are advertised as; undefined on other backends. */
export function timeSlicingResource(pool: Pool): string | undefined {
  return pool.backend === 'nvidia-time-slicing' ? pool.timeSlicing?.resource ?? DEFAULT_TIME_SLICING_RESOURCE : undefined;
}
