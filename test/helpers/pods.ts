import fjp from 'fast-json-patch';
import type { Decision } from '../../src/engine/decision.ts';
import type { Container, Pod } from '../../src/engine/pod.ts';

/** A pod with one container per entry; `limits` are the container's resource limits. */
export function podWith(
  containers: readonly { name?: string; limits: Record<string, string>; cpu?: string; privileged?: boolean }[],
  annotations: Record<string, string> = {},
  extra: { initContainers?: Container[]; spec?: Record<string, unknown>; labels?: Record<string, string> } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ml', annotations, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      containers: containers.map((c, i) => ({
        name: c.name ?? `c${i}`,
        image: 'busybox',
        resources: { limits: { ...c.limits, ...(c.cpu ? { cpu: c.cpu } : {}) } },
        ...(c.privileged ? { securityContext: { privileged: true } } : {}),
      })),
      ...(extra.initContainers ? { initContainers: extra.initContainers } : {}),
      ...extra.spec,
    },
  };
}

/** Applies a patch decision to the pod (as the API server would) and returns the result. */
export function applied(pod: Pod, decision: Decision): Pod {
  if (decision.kind !== 'patch') throw new Error(`expected a patch, got ${decision.kind}: ${JSON.stringify(decision)}`);
  return fjp.applyPatch(structuredClone(pod), fjp.deepClone(decision.patch) as fjp.Operation[], true, false).newDocument;
}

export function limitsOf(pod: Pod, name: string): Record<string, string | number> | undefined {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name)?.resources?.limits;
}

/** A container's generic GPU limits: `gpu` cards, each with `memory` and `cores` percent (each optional). */
export function generic(gpu?: string, memory?: string, cores?: string): Record<string, string> {
  return {
    ...(gpu ? { 'gpu-admission.io/gpu': gpu } : {}),
    ...(memory ? { 'gpu-admission.io/gpu-memory': memory } : {}),
    ...(cores ? { 'gpu-admission.io/gpu-cores': cores } : {}),
  };
}
