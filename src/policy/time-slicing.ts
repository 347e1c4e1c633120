import type { Pool } from './types.ts';

/** NVIDIA's device plugin with `renameByDefault: true` advertises replicas as `<resource>.shared`. */
export const DEFAULT_TIME_SLICING_RESOURCE = 'nvidia.com/gpu.shared';

/** The extended resource a time-slicing pool's replicas are advertised as; undefined on other backends. */
export function timeSlicingResource(pool: Pool): string | undefined {
  return pool.backend === 'nvidia-time-slicing' ? pool.timeSlicing?.resource ?? DEFAULT_TIME_SLICING_RESOURCE : undefined;
}
