import type { Pool } from '../policy/types.ts';
import { BACKEND_FACTS, type Placement } from '../vocabulary/backends.ts';
import { HAMI_GPU_NOUSE_ANNOTATION, HAMI_GPU_POLICY_ANNOTATION, HAMI_GPU_TYPE_ANNOTATION } from '../vocabulary/names.ts';

/**
 * HAMi's pod annotations as the pod's author wrote them: the card types it may use
 * (`nvidia.com/use-gputype`) and may not (`nvidia.com/nouse-gputype`), comma-separated, and the
 * card placement (`hami.io/gpu-scheduler-policy`). They are the author's, as a nodeSelector is:
 * they rule pools out and are never overwritten.
 */
export interface HamiChoices {
  readonly use?: readonly string[];
  readonly noUse?: readonly string[];
  readonly gpuPolicy?: string;
}

/** The HAMi annotations the webhook writes for its own reasons (the pool's card type, the pod's placement). */
export const HAMI_WRITTEN = [HAMI_GPU_TYPE_ANNOTATION, HAMI_GPU_POLICY_ANNOTATION] as const;

const types = (text: string | undefined): string[] | undefined => {
  const list = (text ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  return list.length > 0 ? list : undefined; // HAMi: an empty value means no constraint
};

/**
 * The pod's own HAMi annotations. `written` holds what an earlier decision of this webhook wrote
 * (from its record): a value equal to it is the webhook's output, not the author's choice.
 */
export function readHamiChoices(annotations: Readonly<Record<string, string>>, written: Readonly<Record<string, string>> = {}): HamiChoices {
  const own = (key: string): string | undefined => (annotations[key] === written[key] ? undefined : annotations[key]);
  const use = types(own(HAMI_GPU_TYPE_ANNOTATION));
  const noUse = types(annotations[HAMI_GPU_NOUSE_ANNOTATION]);
  const gpuPolicy = own(HAMI_GPU_POLICY_ANNOTATION)?.trim();
  return { ...(use ? { use } : {}), ...(noUse ? { noUse } : {}), ...(gpuPolicy ? { gpuPolicy } : {}) };
}

/**
 * HAMi's CheckType (pkg/device/devices.go): a card passes when some use-type is a
 * case-insensitive substring of its type, and no nouse-type is. A HAMi pool's card type is its
 * `gpu.product`; any other pool is judged by its model and product names.
 */
export function gpuTypeReason(pool: Pool, wanted: HamiChoices): string | undefined {
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

/**
 * Why a HAMi pool cannot honour the pod's placement: HAMi takes it per pod from
 * hami.io/gpu-scheduler-policy (pkg/util/util.go GetGPUSchedulerPolicyByPod), so only a value the
 * pod wrote itself that says otherwise stands in the way.
 */
export function hamiPlacementReason(asked: Placement | undefined, own: HamiChoices): string | undefined {
  return asked !== undefined && own.gpuPolicy !== undefined && own.gpuPolicy !== asked
    ? `the pod's ${HAMI_GPU_POLICY_ANNOTATION} is ${own.gpuPolicy}, not ${asked}` : undefined;
}

/**
 * What the webhook writes on a HAMi pool: the pool's card type, unless the pod names its own
 * types (checked against this pool), and the pod's placement, unless it wrote HAMi's own.
 */
export function hamiAnnotations(pool: Pool, own: HamiChoices, placement: Placement | undefined): Record<string, string> {
  if (BACKEND_FACTS[pool.backend].family !== 'hami') return {};
  return {
    ...(own.use === undefined ? { [HAMI_GPU_TYPE_ANNOTATION]: pool.gpu.product } : {}),
    ...(placement !== undefined && own.gpuPolicy === undefined ? { [HAMI_GPU_POLICY_ANNOTATION]: placement } : {}),
  };
}
