import type { Policy } from '../policy/types.ts';
import { DEFAULT_SCHEDULER } from '../vocabulary/backends.ts';
import { KAI, KOORD, PREFIX, isReservedAnnotation } from '../vocabulary/names.ts';
import type { ContainerDemand, GpuRequest } from './demand.ts';
import type { NamespaceFacts, Pod } from './pod.ts';

/**
 * Plain pods: the pods whose choice of pools depends on nothing but their containers' GPU
 * requests and their namespace. Most pods a webhook sees are plain, and most of them repeat a few
 * requests, so what a plain pod's pools come to is kept (bounded) per policy and demand from the
 * second pod of a demand on, for the pods of it that follow: a demand seen once is remembered by
 * its key alone: keeping what a pod comes to (frozen, as every later pod shares it) adds about a
 * seventh to working it out, which a one-off pod would pay for nothing. `analyse` (explain)
 * always judges afresh.
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

/** Whether an object has an enumerable key (own or, for JSON-shaped objects, none inherited), without listing them. */
export const hasKeys = (o: object): boolean => {
  for (const _ in o) return true;
  return false;
};

/**
 * Annotations the engine reads while choosing, by family: ours (intent, the decision record), the
 * reserved ones a scheduler or device plugin writes, HAMi's and Volcano's choices (`nvidia.com/…`,
 * `hami.io/…`, `volcano.sh/…`), koordinator's, and KAI's share annotations, which have no domain.
 */
const READ_ANNOTATION_PREFIXES = [PREFIX, 'nvidia.com/', 'hami.io/', 'volcano.sh/', 'koordinator.sh/', 'scheduling.koordinator.sh/', 'kai.scheduler/', 'run.ai/'];
const READ_ANNOTATIONS: ReadonlySet<string> = new Set([KAI.fraction, KAI.memory, KAI.numDevices, KAI.containerName, KAI.mps]);
const readByEngine = (key: string): boolean =>
  READ_ANNOTATIONS.has(key) || isReservedAnnotation(key) || READ_ANNOTATION_PREFIXES.some((prefix) => key.startsWith(prefix));

/**
 * Whether the pod is plain: none of the annotations the engine reads (so no decision record of
 * ours, no intent, no KAI or HAMi choice, nothing reserved), no node constraints of its own
 * (nodeSelector, node affinity, nodeName), the default scheduler, and none of the labels the policy
 * reads. Everything else about it (other annotations, images, env, other containers' resources,
 * pod affinity, tolerations) the choice of pools never reads.
 */
export function isPlain(pod: Pod, policy: Policy): boolean {
  const meta = pod.metadata;
  if (meta?.annotations) {
    for (const key in meta.annotations) if (readByEngine(key)) return false;
  }
  const { spec } = pod;
  if (spec.affinity?.nodeAffinity !== undefined || spec.nodeName !== undefined) return false;
  if (spec.nodeSelector && hasKeys(spec.nodeSelector)) return false;
  if (spec.schedulerName !== undefined && spec.schedulerName !== DEFAULT_SCHEDULER) return false;
  const labels = meta?.labels;
  return !labels || readLabels(policy).every((key) => labels[key] === undefined);
}

/** The longest key kept: a pod whose names make a longer one is judged afresh. */
const MAX_KEY_CHARS = 8192;

const requestKey = (r: GpuRequest): string => `${r.gpu}\u0002${r.memory?.text ?? ''}\u0002${r.cores ?? ''}\u0002${r.source}`;

/**
 * A name as it goes into a key: its length first. A pod's names reach the webhook before the API
 * server checks them (mutating webhooks run first), so one may hold the key's separators; with
 * its length in front, no name can spell another pod's containers.
 */
const named = (name: string): string => `${name.length}:${name}`;

/**
 * What a plain pod's pools are judged on, as text: the namespace (its name, and its labels when a
 * namespace rule selects by label), each GPU container's name, role and request (the memory as
 * written: warnings quote it), and the privileged containers. Undefined when the key would be
 * too long to keep.
 */
export function demandKey(
  namespace: NamespaceFacts, policy: Policy, containers: readonly ContainerDemand[], gpuContainers: readonly (ContainerDemand & { readonly request: GpuRequest })[],
): string | undefined {
  let key = policy.namespaces.some((r) => r.selector !== undefined) ? `${named(namespace.name)}\u0001${JSON.stringify(namespace.labels)}` : named(namespace.name);
  for (const c of gpuContainers) key += `\u0001${named(c.name)}\u0002${c.role}\u0002${requestKey(c.request)}`;
  for (const c of containers) if (c.privileged) key += `\u0003${named(c.name)}`;
  return key.length > MAX_KEY_CHARS ? undefined : key;
}

/**
 * What is kept per policy, at most: 256 demands (those seen once count, by their key), and 16,384
 * pool-containers over all of them (what is kept of a demand grows with its containers times the
 * policy's pools: each pool's plan or reason, about 230 bytes a pool and container; so about 4 MiB
 * at most, whatever the policy's size). When either is reached the store is emptied, so pods a
 * client invents cannot grow it without bound; but when demands seen once are half of it or more,
 * only they go: a stream of one-off pods (a tenant's invented names) then never drops the demands
 * that repeat, and each such sweep frees at least half the store, so its cost stays constant per pod.
 */
export const MAX_KEPT = 256;
export const MAX_KEPT_UNITS = 16_384;
/** What a demand seen once is kept as: nothing but its key. */
const SEEN = Symbol('seen once');
interface Store { readonly values: Map<string, unknown>; units: number }
const stores = new WeakMap<Policy, Store>();

/**
 * The value kept for `key` under this policy; else `make()`'s. The first time a key is asked, the
 * value made is returned and only the key is kept; the second time, the value made is passed to
 * `keep` (which makes it safe to share: frozen) and kept for every later call. `units`: what
 * keeping it weighs, the demand's GPU containers times the policy's pools. A demand heavier than
 * the whole budget is made every time and never kept.
 */
export function keptFor<T>(policy: Policy, key: string, units: number, make: () => T, keep: (value: T) => T): T {
  let store = stores.get(policy);
  if (!store) stores.set(policy, (store = { values: new Map(), units: 0 }));
  const kept = store.values.get(key);
  if (kept !== undefined && kept !== SEEN) return kept as T;
  const value = make();
  if (units > MAX_KEPT_UNITS) return value;
  const second = kept === SEEN;
  const weight = second ? units : 0;
  // A demand seen before replaces its own mark: it needs room only in units.
  if ((!second && store.values.size >= MAX_KEPT) || store.units + weight > MAX_KEPT_UNITS) makeRoom(store, weight);
  if (second) {
    const shared = keep(value);
    store.values.set(key, shared);
    store.units += units;
    return shared;
  }
  store.values.set(key, SEEN);
  return value;
}

/**
 * Room for one more demand of `weight` units: the demands seen once dropped when they are half the
 * store or more and that is enough, else everything. They are counted only when the store is full
 * of demands (a sweep leaves half of it or less, a clearing none), so at most once per 128 new keys.
 */
function makeRoom(store: Store, weight: number): void {
  if (store.units + weight <= MAX_KEPT_UNITS && seenOnce(store) >= MAX_KEPT / 2) {
    store.values.forEach((v, k, values) => {
      if (v === SEEN) values.delete(k);
    });
    return;
  }
  store.values.clear();
  store.units = 0;
}

function seenOnce(store: Store): number {
  let seen = 0;
  store.values.forEach((value) => {
    if (value === SEEN) seen += 1;
  });
  return seen;
}

/** What the store of a policy holds now: demands kept, demands seen once, and pool-containers (its bounds' test reads it). */
export function keptSize(policy: Policy): { demands: number; seen: number; units: number } {
  const store = stores.get(policy);
  const seen = store ? seenOnce(store) : 0;
  return { demands: (store?.values.size ?? 0) - seen, seen, units: store?.units ?? 0 };
}
