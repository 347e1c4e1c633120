/** Where a container runs in its pod: an app container, an init container, or a sidecar (an init container with restartPolicy Always, which keeps running). */
export type ContainerRole = 'app' | 'init' | 'sidecar';

/** The role of a container from where the pod lists it and its restartPolicy. */
export function containerRole(init: boolean, restartPolicy: unknown): ContainerRole {
  return !init ? 'app' : restartPolicy === 'Always' ? 'sidecar' : 'init';
}

/**
 * Kubernetes' effective pod request (KEP-753): the larger of the steady state (app containers
 * plus sidecars) and the peak while each init container runs beside the sidecars started before
 * it. `containers` in start order (init containers first).
 */
export function effectiveTotal<T extends { readonly role: ContainerRole }>(containers: readonly T[], value: (c: T) => number): number {
  let sidecars = 0;
  let initPeak = 0;
  let apps = 0;
  for (const c of containers) {
    const v = value(c);
    if (c.role === 'sidecar') {
      sidecars += v;
      initPeak = Math.max(initPeak, sidecars);
    } else if (c.role === 'init') {
      initPeak = Math.max(initPeak, sidecars + v);
    } else {
      apps += v;
    }
  }
  return Math.max(apps + sidecars, initPeak);
}
