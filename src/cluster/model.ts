// The cluster as the policy sees it: Nodes and Pods reduced to what inspect and the policy
// checks read, and each node's pool by the same node-selector terms the engine writes into node
// affinity (src/policy/pool-nodes.ts), so "this node is in pool X" means "pods routed to X may
// land here". Pure: src/kube/cluster-read.ts does the reading.
import { poolHasLabels } from '../policy/pool-nodes.ts';
import { timeSlicingResource } from '../policy/defaults.ts';
import { classSelects, deviceClassOfResource, WHOLE_DEVICE, type DraDevice } from '../policy/dra.ts';
import type { Policy, Pool } from '../policy/types.ts';
import { gkeMode } from '../policy/gke.ts';
import type { GkeMode } from '../vocabulary/backends.ts';
import { migProfileOfResource, migResourceName } from '../vocabulary/mig.ts';
import { containerRole, effectiveTotal, type ContainerRole } from '../vocabulary/containers.ts';
import { EKS_AUTO_LABEL, GKE_LABEL, KARPENTER_LABEL } from '../vocabulary/clouds.ts';
import { ANNOTATION, GPU_DRIVER_CLASS, KOORD, NATIVE, NVIDIA_MIG_STRATEGY_LABEL, VOLCANO } from '../vocabulary/names.ts';
import type { Labels } from '../vocabulary/node-selector.ts';
import { parseQuantity, toNumber } from '../vocabulary/quantity.ts';

export interface ClusterNode {
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly ready: boolean;
  /** Allocatable resources, as numbers (quantities parsed; unreadable ones left out). */
  readonly allocatable: Readonly<Record<string, number>>;
  /** DRA devices the node's ResourceSlices publish (read only where the policy has dra pools). */
  readonly devices?: readonly ClusterDevice[];
}

/** A device of a ResourceSlice, and whether a ResourceClaim holds it. */
export interface ClusterDevice extends DraDevice {
  readonly pool: string;
  readonly name: string;
  readonly allocated: boolean;
}

/** A DeviceClass as the cluster has it: what `policy check --cluster` compares with the policy's. */
export interface ClusterDeviceClass {
  readonly name: string;
  readonly selectors: readonly string[];
  readonly extendedResourceName?: string;
}

/** What DRA publishes: the DeviceClasses, and each node's devices with their allocation. */
export interface DraView {
  readonly deviceClasses: readonly ClusterDeviceClass[];
  readonly devicesByNode: ReadonlyMap<string, readonly ClusterDevice[]>;
}

export interface ClusterPod {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  readonly phase: string;
  readonly annotations: Labels;
  /** What the pod holds of each resource: Kubernetes' effective request (app containers, sidecars, init containers). */
  readonly requests: Readonly<Record<string, number>>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringMap = (v: unknown): Labels =>
  (isObject(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Labels : {});

function quantities(v: unknown): Record<string, number> {
  if (!isObject(v)) return {};
  const out: Record<string, number> = {};
  for (const [k, raw] of Object.entries(v)) {
    if (typeof raw !== 'string' && typeof raw !== 'number') continue;
    const q = parseQuantity(raw);
    if (typeof q !== 'string') out[k] = toNumber(q);
  }
  return out;
}

/** A Node object (as the API returns it) reduced to what the cluster view reads. */
export function toClusterNode(node: unknown): ClusterNode {
  const n = isObject(node) ? node : {};
  const meta = isObject(n.metadata) ? n.metadata : {};
  const status = isObject(n.status) ? n.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
  return {
    name: String(meta.name ?? ''),
    labels: stringMap(meta.labels),
    annotations: stringMap(meta.annotations),
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True') && !(isObject(n.spec) && n.spec.unschedulable === true),
    allocatable: quantities(status.allocatable ?? status.capacity),
  };
}

/** A Pod object reduced to what the cluster view reads: where it is and what it holds. */
export function toClusterPod(pod: unknown): ClusterPod {
  const p = isObject(pod) ? pod : {};
  const meta = isObject(p.metadata) ? p.metadata : {};
  const spec = isObject(p.spec) ? p.spec : {};
  const status = isObject(p.status) ? p.status : {};
  const held = (c: unknown, init: boolean): { role: ContainerRole; resources: Record<string, number> } => {
    const r = isObject(c) && isObject(c.resources) ? c.resources : {};
    return { role: containerRole(init, isObject(c) ? c.restartPolicy : undefined), resources: { ...quantities(r.limits), ...quantities(r.requests) } };
  };
  const containers = [
    ...(Array.isArray(spec.initContainers) ? spec.initContainers : []).map((c) => held(c, true)),
    ...(Array.isArray(spec.containers) ? spec.containers : []).map((c) => held(c, false)),
  ];
  const names = new Set(containers.flatMap((c) => Object.keys(c.resources)));
  const requests = Object.fromEntries([...names].map((name) => [name, effectiveTotal(containers, (c) => c.resources[name] ?? 0)]));
  return {
    namespace: String(meta.namespace ?? ''), name: String(meta.name ?? ''),
    ...(typeof spec.nodeName === 'string' && spec.nodeName !== '' ? { nodeName: spec.nodeName } : {}),
    phase: String(status.phase ?? 'Pending'), annotations: stringMap(meta.annotations), requests,
  };
}

const attributeValue = (a: unknown): string | number | boolean | undefined => {
  if (!isObject(a)) return undefined;
  for (const k of ['string', 'int', 'bool', 'version'] as const) {
    const v = a[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  }
  return undefined;
};

/**
 * DeviceClasses, ResourceSlices and ResourceClaims (resource.k8s.io/v1, as the API returns them)
 * reduced to the cluster view: devices by node, each marked allocated when a claim's
 * status.allocation names it. Only the newest generation of each driver's pool counts, as the
 * scheduler reads it.
 */
export function toDraView(classes: readonly unknown[], slices: readonly unknown[], claims: readonly unknown[]): DraView {
  const deviceClasses = classes.filter(isObject).map((c) => {
    const spec = isObject(c.spec) ? c.spec : {};
    const selectors = (Array.isArray(spec.selectors) ? spec.selectors : [])
      .map((s) => (isObject(s) && isObject(s.cel) && typeof s.cel.expression === 'string' ? s.cel.expression : ''));
    return {
      name: String(isObject(c.metadata) ? c.metadata.name ?? '' : ''), selectors,
      ...(typeof spec.extendedResourceName === 'string' ? { extendedResourceName: spec.extendedResourceName } : {}),
    };
  });
  const allocated = new Set<string>();
  for (const claim of claims.filter(isObject)) {
    const allocation = isObject(claim.status) && isObject(claim.status.allocation) ? claim.status.allocation : {};
    const results = isObject(allocation.devices) && Array.isArray(allocation.devices.results) ? allocation.devices.results : [];
    for (const r of results.filter(isObject)) allocated.add(`${String(r.driver)}/${String(r.pool)}/${String(r.device)}`);
  }
  const specs = slices.filter(isObject).map((s) => (isObject(s.spec) ? s.spec : {}));
  const newest = new Map<string, number>();
  for (const spec of specs) {
    const pool = isObject(spec.pool) ? spec.pool : {};
    const key = `${String(spec.driver)}/${String(pool.name)}`;
    newest.set(key, Math.max(newest.get(key) ?? 0, Number(pool.generation ?? 0)));
  }
  const devicesByNode = new Map<string, ClusterDevice[]>();
  for (const spec of specs) {
    const pool = isObject(spec.pool) ? spec.pool : {};
    const driver = String(spec.driver ?? '');
    const poolName = String(pool.name ?? '');
    if (typeof spec.nodeName !== 'string' || Number(pool.generation ?? 0) !== newest.get(`${driver}/${poolName}`)) continue;
    const devices = (Array.isArray(spec.devices) ? spec.devices : []).filter(isObject).map((d) => {
      const attributes: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(isObject(d.attributes) ? d.attributes : {})) {
        const value = attributeValue(v);
        // The driver's own domain is implicit, as in CEL: gpu.nvidia.com/productName is productName.
        if (value !== undefined) attributes[k.startsWith(`${driver}/`) ? k.slice(driver.length + 1) : k] = value;
      }
      const name = String(d.name ?? '');
      const capacity = isObject(d.capacity) ? d.capacity : {};
      const memory = isObject(capacity.memory) ? parseQuantity(String(capacity.memory.value ?? '')) : undefined;
      return { driver, pool: poolName, name, attributes, allocated: allocated.has(`${driver}/${poolName}/${name}`),
        ...(memory !== undefined && typeof memory !== 'string' ? { memoryBytes: toNumber(memory) } : {}) };
    });
    devicesByNode.set(spec.nodeName, [...(devicesByNode.get(spec.nodeName) ?? []), ...devices]);
  }
  return { deviceClasses, devicesByNode };
}

/** The nodes with the devices their ResourceSlices publish. */
export function withDevices(nodes: readonly ClusterNode[], dra: DraView): ClusterNode[] {
  return nodes.map((n) => ({ ...n, devices: dra.devicesByNode.get(n.name) ?? [] }));
}

/** Whether the policy has dra pools, whose devices only DRA objects tell. */
export const needsDra = (policy: Policy): boolean => policy.pools.some((p) => p.dra !== undefined);

/** Whether a node is one of the pool's: it matches one of the terms the engine writes for the pool. */
export function poolHasNode(pool: Pool, node: ClusterNode): boolean {
  return poolHasLabels(pool, node.labels);
}

/** The pools a node belongs to, in policy order. */
export function poolsOfNode(policy: Policy, node: ClusterNode): Pool[] {
  return policy.pools.filter((pool) => poolHasNode(pool, node));
}

/** One thing a pool hands out, in the pool's own units. */
export interface PoolUnit {
  readonly resource: string;
  /** What it is, for people: `GPU memory`, `cards`, `MIG 3g.40gb`, … */
  readonly what: string;
  readonly unit: string;
}

/** What nvidia.com/gpu counts on a node of each GKE mode. */
const GKE_UNITS: Readonly<Record<GkeMode, { what: string; unit: string }>> = {
  exclusive: { what: 'cards', unit: 'cards' }, 'time-sharing': { what: 'time-sharing shares', unit: 'shares' },
  mps: { what: 'MPS shares', unit: 'shares' }, mig: { what: 'MIG partitions', unit: 'slices' },
};

/** What a pool hands out, as its backend names it on the nodes. */
export function poolUnits(pool: Pool): PoolUnit[] {
  switch (pool.backend) {
    case 'ack-cgpu': case 'ack-share': case 'ack-mps':
      return [{ resource: NATIVE.aliyunGpuMem, what: 'GPU memory', unit: 'GiB' }];
    case 'ack-core-mem':
      return [{ resource: NATIVE.aliyunGpuMem, what: 'GPU memory', unit: 'GiB' }, { resource: NATIVE.aliyunGpuCore, what: 'compute', unit: '%' }];
    case 'ack-topology':
      return [{ resource: NATIVE.aliyunGpu, what: 'cards', unit: 'cards' }];
    case 'ack-exclusive': case 'nvidia-exclusive':
      return [{ resource: NATIVE.nvidiaGpu, what: 'cards', unit: 'cards' }];
    case 'kai':
      // KAI's shares are pod annotations: the cards they sit on are held by KAI's reservation pods (nvidia.com/gpu).
      if (!pool.mig) return [{ resource: NATIVE.nvidiaGpu, what: 'cards', unit: 'cards' }];
      return pool.mig.profiles.map((p) => ({ resource: migResourceName(p), what: `MIG ${p}`, unit: 'slices' }));
    case 'ack-mig': case 'nvidia-mig':
      return pool.mig?.strategy === 'single'
        ? [{ resource: NATIVE.nvidiaGpu, what: `MIG ${pool.mig.profiles[0] ?? ''}`.trim(), unit: 'slices' }]
        : (pool.mig?.profiles ?? []).map((p) => ({ resource: migResourceName(p), what: `MIG ${p}`, unit: 'slices' }));
    case 'nvidia-time-slicing':
      return [{ resource: timeSlicingResource(pool) ?? NATIVE.nvidiaGpu, what: 'time-sliced GPUs', unit: 'replicas' }];
    case 'dra':
      return (pool.dra?.deviceClasses ?? []).map((c) => (c.device === WHOLE_DEVICE
        ? { resource: c.resource, what: 'cards', unit: 'cards' } : { resource: c.resource, what: `MIG ${c.device}`, unit: 'slices' }));
    case 'gke':
      return [{ resource: NATIVE.nvidiaGpu, ...GKE_UNITS[gkeMode(pool)], ...(pool.mig ? { what: `MIG ${pool.mig.profiles[0] ?? ''}`.trim() } : {}) }];
    case 'hami': case 'volcano-vgpu':
      return pool.hami ? [
        { resource: pool.hami.resourceName, what: 'vGPUs', unit: 'vGPUs' },
        { resource: pool.hami.resourceMem, what: 'GPU memory', unit: 'MiB' },
        { resource: pool.hami.resourceCores, what: 'cores', unit: '%' },
      ] : [];
    case 'koordinator':
      // slo-controller publishes the sums of the Device CR's cards (gpudeviceresource plugin.go); gpu-memory in bytes.
      return [
        { resource: KOORD.gpuCore, what: 'compute', unit: '%' },
        { resource: KOORD.gpuMemoryRatio, what: 'GPU memory', unit: '%' },
      ];
  }
}

/** Resource names that mean "this node has GPUs", whatever the policy says. */
export function advertisesGpus(node: ClusterNode): boolean {
  return advertisesDevicePluginGpus(node) || Object.keys(draGpus(node)).length > 0;
}

/** GPU resources a device plugin advertises in the node's allocatable (NVIDIA's, ACK's, HAMi's). */
export function advertisesDevicePluginGpus(node: ClusterNode): boolean {
  return Object.entries(node.allocatable).some(([k, v]) => v > 0
    && (k.startsWith('nvidia.com/') || k.startsWith('aliyun.com/gpu') || k.startsWith('hami.io/') || k.startsWith('volcano.sh/vgpu') || k.startsWith('koordinator.sh/gpu')));
}

/** The GPU devices a node's ResourceSlices publish, per GPU driver (gpu.nvidia.com: 8). */
export function draGpus(node: ClusterNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of node.devices ?? []) {
    const { type } = d.attributes;
    if (GPU_DRIVER_CLASS.test(d.driver) && (type === 'gpu' || type === 'mig')) out[`${d.driver} devices`] = (out[`${d.driver} devices`] ?? 0) + 1;
  }
  return out;
}

/** The pools a pod's decision annotation names (the pools it may land on), if it has one. */
export function decisionPools(pod: ClusterPod): string[] | undefined {
  const text = pod.annotations[ANNOTATION.decision];
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as { pools?: unknown };
    return Array.isArray(record.pools) ? record.pools.filter((p): p is string => typeof p === 'string') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The GPU nodes the webhook knows of (a watched cache), for warnings, metrics, and to rule out a
 * pool none of whose nodes the pod's own constraints allow (never to send a pod to a pool).
 */
export interface NodeSource {
  /** The GPU nodes now; empty before the first list. */
  nodes(): readonly ClusterNode[];
  /** Bumped on every change, so that derived counts are recomputed only when nodes change. */
  version(): number;
  /** Undefined once listed. */
  notReadyReason(): string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Per pool: its nodes, Ready and in all, and what they advertise of the pool's resources. */
export interface PoolNodes {
  readonly ready: number;
  readonly total: number;
  /** Each node's labels. */
  readonly labels: readonly Labels[];
  readonly capacity: Readonly<Record<string, number>>;
}

/**
 * Per pool of the policy: its nodes and capacity, from the nodes that advertise GPUs. dra pools are
 * left out: their nodes advertise nothing (the devices are in ResourceSlices, which the webhook's
 * node cache does not read), so a count of 0 would be wrong, not empty.
 */
export function poolNodeSummary(policy: Policy, nodes: readonly ClusterNode[]): ReadonlyMap<string, PoolNodes> {
  const out = new Map<string, PoolNodes>();
  for (const pool of policy.pools.filter((p) => p.dra === undefined)) {
    const mine = nodes.filter((n) => poolHasNode(pool, n));
    const capacity: Record<string, number> = {};
    for (const u of poolUnits(pool)) capacity[u.resource] = mine.reduce((sum, n) => sum + nodeCapacity(pool, n, u.resource), 0);
    out.set(pool.name, { ready: mine.filter((n) => n.ready).length, total: mine.length, labels: mine.map((n) => n.labels), capacity });
  }
  return out;
}

/** HAMi's bookkeeping annotations: the node's registered cards, a pod's allocated devices. */
export const HAMI = { register: 'hami.io/node-nvidia-register', allocated: 'hami.io/vgpu-devices-allocated' } as const;

/** GPU feature discovery's node labels (NVIDIA gpu-feature-discovery). */
export const GFD = {
  memory: 'nvidia.com/gpu.memory', // MiB of one card (of one slice under the single MIG strategy)
  count: 'nvidia.com/gpu.count',
  replicas: 'nvidia.com/gpu.replicas',
} as const;
/** ACK's gpushare device plugin: the node's card count beside its total aliyun.com/gpu-mem (GiB). */
const ACK_GPU_COUNT = 'aliyun.com/gpu-count';


/** Card memory a node reports, in GiB: GFD's label, Karpenter's or EKS Auto Mode's (MiB), Koordinator's or Volcano's registration, else ACK's total GPU memory over its card count. */
export function nodeCardMemoryGiB(node: ClusterNode): number | undefined {
  // Under NVIDIA's single MIG strategy GFD's gpu.memory and gpu.count describe the slices, not the cards.
  if (node.labels[NVIDIA_MIG_STRATEGY_LABEL] === 'single') return undefined;
  const gfd = Number(node.labels[GFD.memory]);
  if (Number.isFinite(gfd) && gfd > 0) return gfd / 1024;
  const karpenter = Number(node.labels[KARPENTER_LABEL.gpuMemory] ?? node.labels[EKS_AUTO_LABEL.gpuMemory]);
  if (Number.isFinite(karpenter) && karpenter > 0) return karpenter / 1024;
  // Koordinator: slo-controller's sums of the Device CR's cards (gpu-memory bytes, gpu-core 100 per card).
  const koordMemory = node.allocatable[KOORD.gpuMemory];
  const koordCores = node.allocatable[KOORD.gpuCore];
  if (koordMemory !== undefined && koordCores !== undefined && koordCores >= 100) return koordMemory / Math.round(koordCores / 100) / 2 ** 30;
  const volcano = volcanoDevices(node)?.[0];
  if (volcano !== undefined && volcano.mem > 0) return volcano.mem / 1024;
  const total = node.allocatable[NATIVE.aliyunGpuMem];
  const count = node.allocatable[ACK_GPU_COUNT];
  return total !== undefined && count !== undefined && count > 0 ? total / count : undefined;
}

/**
 * Cards a node reports: ACK's allocatable gpu-count, else a count label (GFD's, GKE's, Karpenter's), else the whole-card
 * resource (nvidia.com/gpu, aliyun.com/gpu) where it counts cards: not on a time-sliced node
 * (replicas), a HAMi node (vGPUs) nor a GKE node that shares or partitions its cards.
 */
export function nodeCardCount(node: ClusterNode): number | undefined {
  if (node.labels[NVIDIA_MIG_STRATEGY_LABEL] === 'single') return undefined;
  const ack = node.allocatable[ACK_GPU_COUNT];
  if (ack !== undefined) return ack;
  const labelled = [GFD.count, GKE_LABEL.count, KARPENTER_LABEL.gpuCount, EKS_AUTO_LABEL.gpuCount].map((k) => Number(node.labels[k])).find((n) => Number.isInteger(n) && n > 0);
  if (labelled !== undefined) return labelled;
  const koord = node.allocatable[KOORD.gpuCore];
  if (node.labels[KOORD.modelLabel] !== undefined && koord !== undefined && koord > 0) return Math.round(koord / 100);
  const volcano = volcanoDevices(node);
  if (volcano && volcano.length > 0) return volcano.length;
  if (node.annotations[HAMI.register] !== undefined || node.labels[GFD.replicas] !== undefined) return undefined;
  // GKE's shared and partitioned nodes count shares and partitions as nvidia.com/gpu.
  if (node.labels[GKE_LABEL.sharingStrategy] !== undefined || node.labels[GKE_LABEL.partitionSize] !== undefined) return undefined;
  const whole = node.allocatable[NATIVE.aliyunGpu] ?? node.allocatable[NATIVE.nvidiaGpu];
  return whole !== undefined && whole > 0 ? whole : undefined;
}

/** The MIG profiles a node advertises (nvidia.com/mig-<profile> with a count above 0). */
export function nodeMigProfiles(node: ClusterNode): string[] {
  return Object.entries(node.allocatable).filter(([k, v]) => v > 0 && migProfileOfResource(k) !== undefined)
    .map(([k]) => k.slice(NATIVE.migPrefix.length)).sort();
}


/** A card as HAMi registers it on its node. */
export interface HamiDevice {
  readonly id: string;
  readonly type: string;
  /** Memory in MiB. */
  readonly mem: number;
  /** Compute in percent (100 per card). */
  readonly cores: number;
  /** vGPUs it is split into. */
  readonly count: number;
}

/**
 * The cards of a HAMi node, from `hami.io/node-nvidia-register`: JSON `[{id, count, devmem,
 * devcore, type, …}]` (HAMi's MarshalNodeDevices), or the older `id,count,devmem,devcore,type,…:`
 * form. Undefined on a node HAMi has not registered.
 */
export function hamiDevices(node: ClusterNode): HamiDevice[] | undefined {
  const text = node.annotations[HAMI.register];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) {
      return parsed.filter(isObject).map((d) => ({
        id: String(d.id ?? ''), type: String(d.type ?? 'GPU'), mem: Number(d.devmem ?? 0), cores: Number(d.devcore ?? 100), count: Number(d.count ?? 1),
      }));
    }
  } catch { /* the older form */ }
  return text.split(':').filter((d) => d.includes(',')).map((d) => d.split(',')).map((f) => ({
    id: f[0] ?? '', count: Number(f[1] ?? 1), mem: Number(f[2] ?? 0), cores: Number(f[3] ?? 100), type: f[4] ?? 'GPU',
  }));
}

/** A card as Volcano's vGPU device plugin registers it: its type, memory (MiB), vGPUs, and the node's sharing mode. */
export interface VolcanoDevice {
  readonly id: string;
  readonly type: string;
  readonly mem: number;
  readonly count: number;
  readonly mode: string;
}

/**
 * The cards of a Volcano vGPU node, from `volcano.sh/node-vgpu-register`: `uuid,count,devmem,type,health,mode:`
 * per card (volcano nvidia/vgpu/utils.go decodeNodeDevices; a mode other than mig is hami-core).
 * Undefined on a node the plugin has not registered.
 */
export function volcanoDevices(node: ClusterNode): VolcanoDevice[] | undefined {
  const text = node.annotations[VOLCANO.register];
  if (!text || !text.includes(':')) return undefined;
  return text.split(':').filter((d) => d.includes(',')).map((d) => d.split(',')).filter((f) => f.length >= 6).map((f) => ({
    id: f[0] ?? '', count: Number(f[1]) || 0, mem: Number(f[2]) || 0, type: f[3] ?? 'NVIDIA', mode: f[5] === 'mig' ? 'mig' : 'hami-core',
  }));
}

/**
 * What a node has of one of a pool's resources. HAMi advertises only the vGPU count (its memory and
 * cores resources are ignoredByScheduler in its chart): those come from its registration.
 */
export function nodeCapacity(pool: Pool, node: ClusterNode, resource: string): number {
  const cls = deviceClassOfResource(pool, resource);
  if (cls) return (node.devices ?? []).filter((d) => classSelects(pool, cls, d)).length;
  if (pool.backend === 'hami' && pool.hami && (resource === pool.hami.resourceMem || resource === pool.hami.resourceCores)) {
    const devices = hamiDevices(node);
    if (devices) return devices.reduce((sum, d) => sum + (resource === pool.hami!.resourceMem ? d.mem : d.cores), 0);
  }
  // Volcano's plugin advertises its cores (100 per card) and memory (MiB) as node resources (pkg/rm/rm.go).
  return node.allocatable[resource] ?? 0;
}

/**
 * Cards of a node that a pool serves. dra: from the devices its classes select (whole cards, and
 * the distinct parents of its MIG devices: NVIDIA's parentUUID, else the gpu-<minor> of the
 * device name), since such nodes publish neither GFD labels nor allocatable. Otherwise the node's
 * own count, else the policy's perNode.
 */
export function poolNodeCards(pool: Pool, node: ClusterNode): number {
  if (pool.dra && node.devices) {
    const cards = new Set<string>();
    for (const cls of pool.dra.deviceClasses) {
      for (const d of node.devices.filter((x) => classSelects(pool, cls, x))) {
        const parent = cls.device === WHOLE_DEVICE ? d.name : String(d.attributes.parentUUID ?? d.name.split('-mig-')[0]);
        cards.add(`${d.driver}/${d.pool}/${parent}`);
      }
    }
    return cards.size;
  }
  return nodeCardCount(node) ?? pool.gpu.perNode;
}

/**
 * What the pods on a node hold of one of a pool's resources; on a dra pool, the devices its class
 * selects that a ResourceClaim holds (a claim the scheduler made for an extended resource, or one
 * a pod's template made).
 */
export function nodeAllocated(pool: Pool, node: ClusterNode, pods: readonly ClusterPod[], resource: string): number {
  const cls = deviceClassOfResource(pool, resource);
  if (cls) return (node.devices ?? []).filter((d) => d.allocated && classSelects(pool, cls, d)).length;
  return pods.reduce((sum, p) => sum + podHolds(pool, p, resource), 0);
}

/** HAMi's allocation on a pod: the memory (MiB) and cores (%) of each device it was given, from hami.io/vgpu-devices-allocated. */
export function hamiAllocated(pod: ClusterPod): { mem: number; cores: number; devices: { id: string; mem: number; cores: number }[] } | undefined {
  const text = pod.annotations[HAMI.allocated];
  if (!text) return undefined;
  const devices = text.split(/[;:]/).filter((d) => d.includes(',')).map((d) => d.split(',')).map((f) => ({ id: f[0] ?? '', mem: Number(f[2]) || 0, cores: Number(f[3]) || 0 }));
  return { mem: devices.reduce((s, d) => s + d.mem, 0), cores: devices.reduce((s, d) => s + d.cores, 0), devices };
}

/**
 * What a pod holds of one of a pool's resources. On HAMi, memory and cores are per vGPU: the
 * allocation annotation says exactly what was given; without it, the request times the vGPUs.
 */
export function podHolds(pool: Pool, pod: ClusterPod, resource: string): number {
  if (pool.backend === 'koordinator') return koordinatorHolds(pool, pod, resource);
  if (pool.hami && (resource === pool.hami.resourceMem || resource === pool.hami.resourceCores)) {
    const given = pool.backend === 'hami' ? hamiAllocated(pod) : undefined;
    if (given) return resource === pool.hami.resourceMem ? given.mem : given.cores;
    return (pod.requests[resource] ?? 0) * Math.max(1, pod.requests[pool.hami.resourceName] ?? 1);
  }
  return pod.requests[resource] ?? 0;
}

/**
 * What a pod holds on a koordinator pool: koord-scheduler's allocation
 * (`scheduling.koordinator.sh/device-allocated`, per card: gpu-core, gpu-memory-ratio, gpu-memory)
 * when it has one, else its requests; a memory share in bytes counts as its ratio of the card.
 */
function koordinatorHolds(pool: Pool, pod: ClusterPod, resource: string): number {
  const allocated = koordinatorAllocated(pod);
  if (allocated) return allocated.reduce((sum, card) => sum + (card[resource] ?? 0), 0);
  if (resource === KOORD.gpuMemoryRatio && pod.requests[KOORD.gpuMemory] !== undefined) {
    const card = parseQuantity(pool.gpu.memory);
    return typeof card === 'string' ? 0 : Math.ceil((pod.requests[KOORD.gpuMemory] ?? 0) * 100 / toNumber(card));
  }
  return pod.requests[resource] ?? 0;
}

/** Koordinator's allocation on a pod, per card (its resources as numbers), or undefined when it has none or it does not parse. */
export function koordinatorAllocated(pod: ClusterPod): Record<string, number>[] | undefined {
  const text = pod.annotations[KOORD.deviceAllocated];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    const gpus = isObject(parsed) && Array.isArray(parsed.gpu) ? parsed.gpu.filter(isObject) : undefined;
    return gpus?.map((g) => quantities(g.resources));
  } catch {
    return undefined;
  }
}
