import type { Policy } from '../policy/types.ts';
import { PREFIX } from '../vocabulary/names.ts';
import { podContainers, type GpuRequest } from './demand.ts';
import { nativeKind } from './dialect.ts';
import type { Pod } from './pod.ts';
import { problem, type Problem } from './problem.ts';
import type { RecordRead } from './record.ts';

/** A container whose GPU resources are no longer what the recorded decision wrote: its author edited them. */
export interface Edit {
  readonly container: string;
  readonly now: string;
  readonly wrote: string;
}

const describe = (resources: Readonly<Record<string, string>>): string =>
  Object.entries(resources).map(([k, v]) => `${k}: ${v}`).join(', ') || 'no GPU resources';

/**
 * The container's GPU resources as it holds them now (limits, else requests): generic, native, and
 * any the decision wrote (a name a later policy no longer knows is still the decision's).
 */
function gpuResources(
  limits: Readonly<Record<string, unknown>>, requests: Readonly<Record<string, unknown>>, wrote: Readonly<Record<string, number>>, policy: Policy,
): Record<string, string> {
  const names = [...new Set([...Object.keys(limits), ...Object.keys(requests)])]
    .filter((n) => n.startsWith(PREFIX) || n in wrote || nativeKind(n, policy) !== undefined).sort();
  return Object.fromEntries(names.map((n) => [n, String(limits[n] ?? requests[n])]));
}

/**
 * The containers edited since the recorded decision: a template that `mutate` produced (or a
 * copy of a decided pod) whose author changed a GPU resource. Only records that say what they
 * wrote can tell; older ones are taken as they are.
 */
export function editedContainers(pod: Pod, record: RecordRead, policy: Policy): Edit[] {
  if (record.kind !== 'present' || record.written.size === 0) return [];
  return podContainers(pod).flatMap(({ container }) => {
    const wrote = record.written.get(container.name);
    if (!wrote) return [];
    const now = gpuResources(container.resources?.limits ?? {}, container.resources?.requests ?? {}, wrote, policy);
    const then = Object.fromEntries(Object.entries(wrote).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, String(v)]));
    return JSON.stringify(now) === JSON.stringify(then) ? [] : [{ container: container.name, now: describe(now), wrote: describe(then) }];
  });
}

/** The recorded requests without the edited containers: an edit is read as its author wrote it, never reverted. */
export function withoutEdits(requests: ReadonlyMap<string, GpuRequest>, edits: readonly Edit[]): ReadonlyMap<string, GpuRequest> {
  if (edits.length === 0) return requests;
  const edited = new Set(edits.map((e) => e.container));
  return new Map([...requests].filter(([name]) => !edited.has(name)));
}

/** Why an edit cannot be honoured beside the containers the decision still speaks for. */
export function editProblems(edits: readonly Edit[], problems: readonly Problem[]): Problem[] {
  if (edits.length === 0 || !problems.some((p) => p.code === 'mixed-resources')) return [];
  return edits.map((e) => problem('mixed-resources', `container "${e.container}" was edited after gpu-admission decided the pod `
    + `(it holds ${e.now}; the decision wrote ${e.wrote}): the edit is kept, not reverted, but native resources cannot sit beside `
    + 'containers the decision still translates; ask gpu-admission.io resources in every GPU container, or native ones in every '
    + 'container and drop annotation gpu-admission.io/decision'));
}
