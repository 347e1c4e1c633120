import type { Pool } from '../policy/types.ts';
import { BACKEND_FACTS, type Placement } from '../vocabulary/backends.ts';
import { HAMI_GPU_NOUSE_ANNOTATION, HAMI_GPU_POLICY_ANNOTATION, HAMI_GPU_TYPE_ANNOTATION, VOLCANO, VOLCANO_MODES } from '../vocabulary/names.ts';

/**
 * The pod annotations of HAMi's engine (HAMi itself, and Volcano's vGPU, which runs it under
 * Volcano's names) as the pod's author wrote them: the card types it may use
 * (`nvidia.com/use-gputype`) and may not (`nvidia.com/nouse-gputype`), comma-separated, the
 * card placement (`hami.io/gpu-scheduler-policy`) and Volcano's sharing mode
 * (`volcano.sh/vgpu-mode`). They are the author's, as a nodeSelector is: they rule pools out and
 * are never overwritten.
 */
export interface HamiChoices {
  readonly use?: readonly string[];
  readonly noUse?: readonly string[];
  readonly gpuPolicy?: string;
  readonly volcanoMode?: string;
}

/** The annotations the webhook writes for its own reasons (the pool's card type, the pod's placement, Volcano's mode). */
export const HAMI_WRITTEN = [HAMI_GPU_TYPE_ANNOTATION, HAMI_GPU_POLICY_ANNOTATION, VOLCANO.modeAnnotation] as const;

/** Whether the pool's card type is picked by HAMi's annotation (HAMi, Volcano vGPU): its card type is its `gpu.product`. */
const byCardType = (pool: Pool): boolean => 'podAnnotation' in BACKEND_FACTS[pool.backend].model;

const types = (text: string | undefined): string[] | undefined => {
  if (text === undefined) return undefined;
  const list = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
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
  // Volcano compares the mode as written (`podSharingMode != gssnap.Mode`, nvidia/vgpu/utils.go
  // checkNodeGPUSharingPredicateAndScore): " mig" is no node's mode, so it is kept untrimmed. An empty
  // value is read as unset, and the pool's mode is written over it.
  const volcanoMode = own(VOLCANO.modeAnnotation);
  if (!use && !noUse && !gpuPolicy && !volcanoMode) return NO_CHOICES;
  return { ...(use ? { use } : {}), ...(noUse ? { noUse } : {}), ...(gpuPolicy ? { gpuPolicy } : {}), ...(volcanoMode ? { volcanoMode } : {}) };
}

/** The choices of a pod that makes none (most pods): one frozen object for all. */
const NO_CHOICES: HamiChoices = Object.freeze({});

/**
 * HAMi's CheckType (pkg/device/devices.go), and Volcano's checkGPUtype (nvidia/vgpu/utils.go),
 * the same rule: a card passes when some use-type is a case-insensitive substring of its type, and
 * no nouse-type is. The card type of a HAMi or Volcano vGPU pool is its `gpu.product`; any other
 * pool is judged by its model and product names.
 */
export function gpuTypeReason(pool: Pool, wanted: HamiChoices): string | undefined {
  if (!wanted.use && !wanted.noUse) return undefined;
  const hami = byCardType(pool);
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
 * Why a Volcano vGPU pool cannot take the pod: a sharing mode the pod pinned itself that its
 * nodes do not run ("pod required sharing mode %s is not the same as the node mode %s",
 * nvidia/vgpu/utils.go checkNodeGPUSharingPredicateAndScore).
 */
export function volcanoModeReason(pool: Pool, own: HamiChoices): string | undefined {
  const mode = pool.volcano?.mode;
  if (mode === undefined || own.volcanoMode === undefined || own.volcanoMode === mode) return undefined;
  const known = (VOLCANO_MODES as readonly string[]).includes(own.volcanoMode);
  return known ? `the pod's ${VOLCANO.modeAnnotation} is ${own.volcanoMode}; the pool's nodes run ${mode}`
    : `the pod's ${VOLCANO.modeAnnotation} is ${JSON.stringify(own.volcanoMode)}, and Volcano compares it exactly with the node's mode `
      + `(${VOLCANO_MODES.join(' or ')}): the pool's nodes run ${mode}`;
}

/**
 * What the webhook writes on a pool of HAMi's engine: the pool's card type, unless the pod names
 * its own types (checked against this pool); on HAMi the pod's placement, unless it wrote HAMi's
 * own; on Volcano the pool's sharing mode, so that the pod never lands on a node of the other mode.
 */
export function hamiAnnotations(pool: Pool, own: HamiChoices, placement: Placement | undefined): Record<string, string> {
  if (!byCardType(pool)) return {};
  const hami = BACKEND_FACTS[pool.backend].family === 'hami';
  return {
    // Volcano reads nouse-gputype only when use-gputype is absent (checkGPUtype returns from the use
    // branch, nvidia/vgpu/utils.go): writing the pool's type would void the pod's own exclusions, so
    // a pod that names them keeps them, and the pool's nodeSelector alone picks its nodes.
    ...(own.use === undefined && !(pool.volcano && own.noUse) ? { [HAMI_GPU_TYPE_ANNOTATION]: pool.gpu.product } : {}),
    ...(hami && placement !== undefined && own.gpuPolicy === undefined ? { [HAMI_GPU_POLICY_ANNOTATION]: placement } : {}),
    ...(pool.volcano && own.volcanoMode === undefined ? { [VOLCANO.modeAnnotation]: pool.volcano.mode } : {}),
  };
}
