import type { Policy } from '../policy/types.ts';
import { DEFAULT_SCHEDULER } from '../vocabulary/backends.ts';
import { KOORD } from '../vocabulary/names.ts';
import type { ContainerDemand, GpuRequest } from './demand.ts';
import type { NamespaceFacts, Pod } from './pod.ts';

/**
 * Plain pods: the pods whose choice of pools depends on nothing but their containers' GPU
 * requests and their namespace. Most pods a webhook sees are plain, and most of them repeat a few
 * requests, so what a plain pod's pools come to is worked out once per policy and demand, and
 * kept (bounded) for the next pod of the same demand. `analyse` (explain) always judges afresh.
 */

/** The pod labels a policy's pools read while choosing: KAI queues (a pod's own queue is kept) and koordinator's isolation provider. */
const labelsRead = new WeakMap<Policy, readonly string[]>();
function readLabels(policy: Policy): readonly string[] {
  let keys = labelsRead.get(policy);
  if (!keys) {
    keys = [...new Set([KOORD.isolationLabel, ...policy.pools.flatMap((p) => (p.kai ? [p.kai.queueLabel] : []))])];
    labelsRead.set(policy, keys);
  }
  return keys;
}

const hasKeys = (o: object): boolean => {
  for (const _ in o) return true;
  return false;
};

/**
 * Whether the pod is plain: no annotations (so no decision record of ours, no intent, no KAI or HAMi
 * choice, nothing reserved), no node constraints of its own (nodeSelector, node affinity, nodeName),
 * the default scheduler, and none of the labels the policy reads. Everything else about it (images,
 * env, other containers' resources, pod affinity, tolerations) the choice of pools never reads.
 */
export function isPlain(pod: Pod, policy: Policy): boolean {
  const meta = pod.metadata;
  if (meta?.annotations && hasKeys(meta.annotations)) return false;
  const { spec } = pod;
  if (spec.affinity?.nodeAffinity !== undefined || spec.nodeName !== undefined) return false;
  if (spec.nodeSelector && hasKeys(spec.nodeSelector)) return false;
  if (spec.schedulerName !== undefined && spec.schedulerName !== DEFAULT_SCHEDULER) return false;
  const labels = meta?.labels;
  return !labels || readLabels(policy).every((key) => labels[key] === undefined);
}

/** The most GPU containers, and the longest key, a pod may have for its pools to be kept: larger pods are judged afresh. */
const MAX_KEPT_CONTAINERS = 8;
const MAX_KEY_CHARS = 2048;

const requestKey = (r: GpuRequest): string => `${r.gpu}\u0002${r.memory?.text ?? ''}\u0002${r.cores ?? ''}\u0002${r.source}`;

/**
 * What a plain pod's pools are judged on, as text: the namespace (its name, and its labels when a
 * namespace rule selects by label), each GPU container's name, role and request (the memory as
 * written: warnings quote it), and the privileged containers. Undefined when the pod is too large
 * to keep.
 */
export function demandKey(
  namespace: NamespaceFacts, policy: Policy, containers: readonly ContainerDemand[], gpuContainers: readonly (ContainerDemand & { readonly request: GpuRequest })[],
): string | undefined {
  if (gpuContainers.length > MAX_KEPT_CONTAINERS) return undefined;
  let key = policy.namespaces.some((r) => r.selector !== undefined) ? `${namespace.name}\u0001${JSON.stringify(namespace.labels)}` : namespace.name;
  for (const c of gpuContainers) key += `\u0001${c.name}\u0002${c.role}\u0002${requestKey(c.request)}`;
  for (const c of containers) if (c.privileged) key += `\u0003${c.name}`;
  return key.length > MAX_KEY_CHARS ? undefined : key;
}

/** Demands kept per policy, at most; the store is emptied when full, so pods a client invents cannot grow it without bound. */
const MAX_KEPT = 256;
const stores = new WeakMap<Policy, Map<string, unknown>>();

/** The value kept for `key` under this policy, made by `make` (and kept) the first time. */
export function keptFor<T>(policy: Policy, key: string, make: () => T): T {
  let store = stores.get(policy);
  if (!store) stores.set(policy, (store = new Map()));
  let value = store.get(key) as T | undefined;
  if (value === undefined) {
    value = make();
    if (store.size >= MAX_KEPT) store.clear();
    store.set(key, value);
  }
  return value;
}
