import type { Pool } from '../policy/types.ts';
import { BACKEND_FACTS } from '../vocabulary/backends.ts';
import { HAMI_GPU_NOUSE_ANNOTATION, HAMI_GPU_TYPE_ANNOTATION } from '../vocabulary/names.ts';

/**
 * HAMi's card-type annotations as the pod's author wrote them: `nvidia.com/use-gputype` and
 * `nvidia.com/nouse-gputype`, comma-separated types. They are the author's constraint, as a
 * nodeSelector is: they rule pools out and are never overwritten.
 */
export interface GpuTypes {
  readonly use?: readonly string[];
  readonly noUse?: readonly string[];
}

const types = (text: string | undefined): string[] | undefined => {
  const list = (text ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  return list.length > 0 ? list : undefined; // HAMi: an empty value means no constraint
};

/**
 * The pod's own card-type annotations. `written` is the use-gputype an earlier decision of this
 * webhook wrote (from its record): that one is the webhook's output, not the author's constraint.
 */
export function readGpuTypes(annotations: Readonly<Record<string, string>>, written: string | undefined): GpuTypes {
  const useText = annotations[HAMI_GPU_TYPE_ANNOTATION];
  const use = useText === written ? undefined : types(useText);
  const noUse = types(annotations[HAMI_GPU_NOUSE_ANNOTATION]);
  return { ...(use ? { use } : {}), ...(noUse ? { noUse } : {}) };
}

/**
 * HAMi's CheckType (pkg/device/devices.go): a card passes when some use-type is a
 * case-insensitive substring of its type, and no nouse-type is. A HAMi pool's card type is its
 * `gpu.product`; any other pool is judged by its model and product names.
 */
export function gpuTypeReason(pool: Pool, wanted: GpuTypes): string | undefined {
  if (!wanted.use && !wanted.noUse) return undefined;
  const hami = BACKEND_FACTS[pool.backend].family === 'hami';
  const names = hami ? [pool.gpu.product] : [...new Set([pool.gpu.model, pool.gpu.product])];
  const card = names.join(' / ');
  const inName = (t: string): boolean => names.some((n) => n.toUpperCase().includes(t.toUpperCase()));
  const rule = `${hami ? 'HAMi CheckType' : 'as HAMi\'s CheckType reads it'}: a case-insensitive substring`;
  if (wanted.use && !wanted.use.some(inName)) {
    return `the pod's ${HAMI_GPU_TYPE_ANNOTATION} "${wanted.use.join(',')}" does not match card type ${card} (${rule})`;
  }
  const barred = wanted.noUse?.find(inName);
  return barred === undefined ? undefined : `the pod's ${HAMI_GPU_NOUSE_ANNOTATION} "${barred}" excludes card type ${card} (${rule})`;
}
