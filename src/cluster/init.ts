// `gpu-admission policy init --from-cluster`: a valid policy drafted from the nodes. Nodes are
// grouped by backend (read from the ACK mode label, NVIDIA's MIG strategy and time-slicing
// labels, HAMi's and Volcano's node registrations, Koordinator's model label), model, card memory and card count; a group that the
// backend's own labels cannot tell from other GPU nodes gets a nodeSelector on a label only its
// nodes share. Models get the portable name pods ask (`A10`) and the label value as `product`.
// Its output passes `policy check --cluster` on the same cluster, unless the nodes do not publish
// a card's memory or count and its name does not state it: then the value is SET-ME, which fails
// the check until the operator sets it.
import { Document, isMap, isSeq } from 'yaml';
import type { Pool } from '../policy/types.ts';
import { BACKEND_FACTS, ownedLabel, type Backend } from '../vocabulary/backends.ts';
import { migCatalog } from '../vocabulary/mig.ts';
import { AKS_LABEL, CLOUD_MODEL_VALUES, EKS_AUTO_GPU_NAME_LABEL, EKS_GPU_MEMORY_LABEL, GKE_LABEL, INSTANCE_TYPE_LABEL, KARPENTER_LABEL, cloudModel } from '../vocabulary/clouds.ts';
import {
  ACK_MODEL_LABEL, ACK_SCHEDULE_LABEL, KAI, KOORD, KOORD_HAMI_CORE, NVIDIA_DRA_DRIVER, NVIDIA_MIG_STRATEGY_LABEL, NVIDIA_PRODUCT_LABEL, type VolcanoMode,
} from '../vocabulary/names.ts';
import {
  GFD, advertisesDevicePluginGpus, advertisesGpus, hamiDevices, nodeCardCount, nodeCardMemoryGiB, nodeMigProfiles, poolHasNode, volcanoDevices, type ClusterNode,
} from './model.ts';

const ACK_MODES: Readonly<Record<string, Backend>> = {
  cgpu: 'ack-cgpu', share: 'ack-share', mps: 'ack-mps', core_mem: 'ack-core-mem', topology: 'ack-topology', mig: 'ack-mig', default: 'ack-exclusive',
};
/** Labels never used to tell pools apart: they name one node, or change with every node. */
const NOT_SELECTORS = /^(kubernetes\.io\/hostname|node\.kubernetes\.io\/instance-type|topology\.kubernetes\.io\/|failure-domain|beta\.kubernetes\.io\/|feature\.node\.kubernetes\.io\/|nvidia\.com\/(cuda|gfd|gpu\.compute|gpu\.deploy|gpu\.count|gpu\.memory|mig\.capable|mps\.capable|sharing-strategy))/;

interface Draft {
  readonly backend: Backend;
  readonly model: string;
  readonly memoryGiB: number | undefined;
  readonly perNode: number | undefined;
  readonly mig?: string[];
  readonly timeSlicing?: { resource: string; replicas?: number };
  readonly migStrategy?: 'single';
  /** HAMi's resource names as the node advertises them, when its chart renamed them. */
  readonly hami?: { resourceName: string; resourceMem: string; resourceMemPercentage: string; resourceCores: string };
  /** dra: the devices' productName, which the pool's DeviceClass selects; a cloud's model label value. */
  readonly product?: string;
  /** volcano-vgpu: the sharing mode the plugin registered (a pool writes it only when it is mig). */
  readonly volcano?: { mode: VolcanoMode };
  /** koordinator: the nodes' HAMi-core label. */
  readonly koordinator?: { gpuIsolationProvider: typeof KOORD_HAMI_CORE };
  /** kai: the card memory as GPU feature discovery's nvidia.com/gpu.memory says it, MiB (KAI's fractions are of that). */
  readonly memoryMiB?: number;
  /** A cloud's model label (Karpenter's, AKS's instance type) on nodes without GPU feature discovery. */
  readonly modelLabel?: string;
  /** Labels the pool must select besides its model (Karpenter's GPU memory: one GPU name covers several cards). */
  readonly selector?: Record<string, string>;
  /** GKE's sharing of the node pool. */
  readonly gke?: { sharingStrategy: string; maxSharedClientsPerGpu: number };
  /** kai: the nodes' KAI node pool (kai.scheduler/node-pool), which the pool's nodeSelector names so that the webhook labels its pods. */
  readonly kaiNodePool?: string;
}

/** A card name as HAMi's engine registers it (`NVIDIA-Tesla T4`) or NVML names it (`NVIDIA H100 80GB HBM3`), as the name a pod asks (`Tesla-T4`, `H100-80GB-HBM3`). */
const cardType = (type: string): string => type.replace(/^NVIDIA-/, '').replace(/^NVIDIA\s+/, '').replace(/\s+/g, '-');

/**
 * A Volcano vGPU node (its plugin's `volcano.sh/node-vgpu-register`) or a Koordinator node (the
 * model label slo-controller copies from its Device CR, and Koordinator's GPU resources).
 */
function schedulerDraft(node: ClusterNode): Draft | undefined {
  const volcano = volcanoDevices(node);
  if (volcano && volcano.length > 0) {
    const first = volcano[0]!;
    return { backend: 'volcano-vgpu', model: cardType(first.type), memoryGiB: first.mem / 1024, perNode: volcano.length,
      ...(first.mode === 'mig' ? { volcano: { mode: 'mig' } } : {}) };
  }
  const koordModel = node.labels[KOORD.modelLabel];
  const cores = node.allocatable[KOORD.gpuCore];
  if (koordModel === undefined || cores === undefined || cores <= 0) return undefined;
  const cards = Math.round(cores / 100);
  const memory = node.allocatable[KOORD.gpuMemory];
  return {
    backend: 'koordinator', model: koordModel, memoryGiB: memory !== undefined && cards > 0 ? memory / cards / 2 ** 30 : undefined, perNode: cards,
    ...(node.labels[KOORD.isolationLabel] === KOORD_HAMI_CORE ? { koordinator: { gpuIsolationProvider: KOORD_HAMI_CORE } } : {}),
  };
}

/**
 * Nodes in a KAI node pool (the label kai.scheduler/node-pool, which KAI's shards select on):
 * their cards are KAI's to allocate, so the draft is a kai pool, its memory in GFD's exact MiB.
 */
function underKai(node: ClusterNode, draft: Draft): Draft {
  if (node.labels[KAI.nodePoolLabel] === undefined) return draft;
  const mib = Number(node.labels[GFD.memory]);
  return { ...draft, backend: 'kai', kaiNodePool: node.labels[KAI.nodePoolLabel], ...(Number.isInteger(mib) && mib > 0 ? { memoryMiB: mib } : {}) };
}

/**
 * Drafts of nodes that GPU feature discovery does not label, from their cloud's labels: GKE's
 * accelerator and sharing (backend gke), Karpenter's or EKS Auto Mode's GPU name, AKS's VM size
 * (nvidia-exclusive with the pool's own model label).
 */
function cloudDraft(node: ClusterNode): Draft | undefined {
  const l = node.labels;
  const accelerator = l[GKE_LABEL.accelerator];
  if (accelerator !== undefined) {
    const strategy = l[GKE_LABEL.sharingStrategy];
    const clients = Number(l[GKE_LABEL.maxSharedClients]);
    const partition = l[GKE_LABEL.partitionSize];
    // Time-sharing or MPS on MIG partitions: no gke pool says it (sharedPartitions below notes the node).
    if (partition !== undefined && strategy !== undefined) return undefined;
    return { backend: 'gke', model: cloudModel(accelerator), product: accelerator, memoryGiB: undefined, perNode: nodeCardCount(node),
      ...(strategy !== undefined && Number.isInteger(clients) ? { gke: { sharingStrategy: strategy, maxSharedClientsPerGpu: clients } } : {}),
      ...(partition !== undefined && strategy === undefined ? { mig: [partition] } : {}) };
  }
  const named = [KARPENTER_LABEL.gpuName, EKS_AUTO_GPU_NAME_LABEL].find((k) => l[k] !== undefined);
  if (named !== undefined) {
    const product = l[named]!;
    // One GPU name spans cards (a100: 40 and 80 GB): select the card memory the same way (Karpenter's label, or Auto Mode's).
    const memoryLabel = EKS_GPU_MEMORY_LABEL[named]!;
    const memory = l[memoryLabel];
    return { backend: 'nvidia-exclusive', model: cloudModel(product), product, modelLabel: named, memoryGiB: nodeCardMemoryGiB(node), perNode: nodeCardCount(node),
      ...(memory !== undefined ? { selector: { [memoryLabel]: memory } } : {}) };
  }
  const size = l[INSTANCE_TYPE_LABEL];
  if (l[AKS_LABEL.accelerator] === 'nvidia' && size !== undefined) {
    return { backend: 'nvidia-exclusive', model: cloudModel(size), product: size, modelLabel: INSTANCE_TYPE_LABEL, memoryGiB: undefined, perNode: nodeCardCount(node) };
  }
  return undefined;
}

/**
 * dra drafts of a node whose ResourceSlices publish GPUs (NVIDIA's driver): one pool per model of
 * whole cards, and one per model of cards in MIG mode with the profiles they are cut into.
 */
function draDrafts(node: ClusterNode): Draft[] {
  const devices = (node.devices ?? []).filter((d) => d.driver === NVIDIA_DRA_DRIVER);
  const products = [...new Set(devices.map((d) => String(d.attributes.productName ?? '')).filter((p) => p !== ''))].sort();
  return products.flatMap((product) => {
    const mine = devices.filter((d) => d.attributes.productName === product);
    const whole = mine.filter((d) => d.attributes.type === 'gpu');
    const slices = mine.filter((d) => d.attributes.type === 'mig');
    const model = cardType(product);
    const memory = whole.find((d) => d.memoryBytes !== undefined)?.memoryBytes;
    const memoryGiB = memory !== undefined ? memory / 2 ** 30 : undefined;
    const drafts: Draft[] = [];
    if (whole.length > 0) drafts.push({ backend: 'dra', model, product, memoryGiB, perNode: whole.length });
    if (slices.length > 0) {
      const mig = [...new Set(slices.map((d) => String(d.attributes.profile)))].sort();
      const parents = new Set(slices.map((d) => String(d.attributes.parentUUID ?? d.name.split('-mig-')[0])));
      drafts.push({ backend: 'dra', model, product, memoryGiB: memoryGiB ?? migCardMemory(model, mig), perNode: parents.size, mig });
    }
    return drafts;
  });
}

/** Card sizes of the MIG catalog, GiB. */
const MIG_CARD_SIZES = [24, 40, 80, 94, 96, 141, 180];

/** A MIG card's memory when the node does not publish it: the card of the MIG catalog that offers every profile the node advertises. */
function migCardMemory(model: string, profiles: readonly string[]): number | undefined {
  // The size whose catalog entry is that card: its full-card profile (7g.40gb) names the size.
  return MIG_CARD_SIZES.find((gib) => {
    const entry = migCatalog(model, gib);
    return entry !== undefined && profiles.every((p) => p in entry.profiles) && `${entry.slices}g.${gib}gb` in entry.profiles;
  });
}

function draftOf(node: ClusterNode): Draft | undefined {
  const scheduled = schedulerDraft(node);
  if (scheduled) return scheduled;
  const devices = hamiDevices(node);
  if (devices && devices.length > 0) {
    const first = devices[0]!;
    const model = cardType(first.type);
    // HAMi advertises only its vGPU count (memory and cores are ignoredByScheduler in its chart):
    // the count's name tells whether its chart renamed its resources.
    const count = Object.keys(node.allocatable).find((k) => k.endsWith('/gpu') && k !== 'aliyun.com/gpu');
    const prefix = count?.slice(0, -'/gpu'.length);
    const renamed = prefix !== undefined && prefix !== 'nvidia.com'
      ? { resourceName: `${prefix}/gpu`, resourceMem: `${prefix}/gpumem`, resourceMemPercentage: `${prefix}/gpumem-percentage`, resourceCores: `${prefix}/gpucores` }
      : undefined;
    return { backend: 'hami', model, memoryGiB: first.mem / 1024, perNode: devices.length, ...(renamed ? { hami: renamed } : {}) };
  }
  const ackModel = node.labels[ACK_MODEL_LABEL];
  const mode = node.labels[ACK_SCHEDULE_LABEL];
  if (ackModel !== undefined || (mode !== undefined && ACK_MODES[mode])) {
    const backend = ACK_MODES[mode ?? 'default'];
    if (!backend) return undefined;
    const model = ackModel ?? 'GPU';
    const mig = backend === 'ack-mig' ? nodeMigProfiles(node) : undefined;
    return { backend, model, memoryGiB: nodeCardMemoryGiB(node) ?? (mig ? migCardMemory(model, mig) : undefined), perNode: nodeCardCount(node),
      ...(mig ? { mig } : {}) };
  }
  const product = node.labels[NVIDIA_PRODUCT_LABEL];
  if (product === undefined) return cloudDraft(node);
  if (node.labels[NVIDIA_MIG_STRATEGY_LABEL] === 'single') {
    // GFD renames the product (`…-MIG-1g.5gb`) and counts slices under the single strategy.
    const match = /^(.*)-MIG-(\d+g\.\d+gb)$/.exec(product);
    if (!match) return undefined;
    const [, model, profile] = match as unknown as [string, string, string];
    const memoryGiB = migCardMemory(model, [profile]);
    const perCard = memoryGiB !== undefined ? migCatalog(model, memoryGiB)?.profiles[profile] : undefined;
    const slices = Number(node.labels[GFD.count]);
    return { backend: 'nvidia-mig', model, memoryGiB, perNode: perCard && Number.isInteger(slices / perCard) ? slices / perCard : undefined,
      mig: [profile], migStrategy: 'single' };
  }
  if (node.labels[NVIDIA_MIG_STRATEGY_LABEL] === 'mixed' && nodeMigProfiles(node).length > 0) {
    const mig = nodeMigProfiles(node);
    return underKai(node, { backend: 'nvidia-mig', model: product, memoryGiB: nodeCardMemoryGiB(node) ?? migCardMemory(product, mig), perNode: nodeCardCount(node), mig });
  }
  const replicas = Number(node.labels[GFD.replicas]);
  if (Number.isInteger(replicas) && replicas > 1) {
    const renamed = (node.allocatable['nvidia.com/gpu.shared'] ?? 0) > 0;
    const base = product.replace(/-SHARED$/, '');
    return { backend: 'nvidia-time-slicing', model: base, memoryGiB: nodeCardMemoryGiB(node), perNode: nodeCardCount(node),
      timeSlicing: { resource: renamed ? 'nvidia.com/gpu.shared' : 'nvidia.com/gpu', replicas } };
  }
  return underKai(node, { backend: 'nvidia-exclusive', model: product, memoryGiB: nodeCardMemoryGiB(node), perNode: nodeCardCount(node) });
}

const SUFFIX: Readonly<Record<Backend, string>> = {
  'ack-exclusive': '', 'ack-topology': '-topology', 'ack-cgpu': '-cgpu', 'ack-share': '-share', 'ack-mps': '-mps', 'ack-core-mem': '-core',
  'ack-mig': '-mig', 'nvidia-exclusive': '', 'nvidia-time-slicing': '-shared', 'nvidia-mig': '-mig', hami: '-hami', dra: '-dra',
  'volcano-vgpu': '-volcano', koordinator: '-koord', kai: '-kai', gke: '',
};

/** A gke draft's name by its mode: whole cards, time-sharing, MPS or MIG. */
function suffixOf(d: Draft): string {
  if (d.backend === 'dra' && d.mig) return '-dra-mig';
  if (d.backend !== 'gke') return SUFFIX[d.backend];
  if (d.gke) return /mps/i.test(d.gke.sharingStrategy) ? '-mps' : '-shared';
  return d.mig ? '-mig' : '';
}

function slug(text: string): string {
  return text.toLowerCase().replace(/^nvidia-/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'gpu';
}

type PoolDoc = Record<string, unknown>;

/**
 * What the draft writes where the nodes publish nothing: not a quantity nor a number, so the draft
 * fails `policy check` (and the webhook refuses it) until the operator sets the value.
 */
export const PLACEHOLDER = 'SET-ME';

/** Vendor prefixes of the model labels (ACK's aliyun.accelerator/nvidia_name, GFD's nvidia.com/gpu.product). */
const VENDOR = /^(NVIDIA|Tesla)[- ]/i;

/**
 * The name pods ask (`gpu-admission.io/gpu-model`), from the model label: without the vendor,
 * up to the first part with a digit — `NVIDIA-A10` → A10, `Tesla-T4` → T4,
 * `NVIDIA-A100-SXM4-80GB` → A100, `NVIDIA-H100-80GB-HBM3` → H100, `NVIDIA-GeForce-RTX-4090` → GeForce-RTX-4090.
 */
export function portableModel(label: string): string {
  const parts = label.replace(VENDOR, '').split(/[- ]/).filter(Boolean);
  const at = parts.findIndex((p) => /\d/.test(p));
  return at < 0 ? parts.join('-') || label : parts.slice(0, at + 1).join('-');
}

/** Card memory (GiB) a model name states, as in `A100-SXM4-80GB` or `NVIDIA H100 80GB HBM3`. */
function nameMemoryGiB(name: string): number | undefined {
  const match = /(?:^|[- ])(\d+)GB(?:$|[- ])/i.exec(name);
  return match ? Number(match[1]) : undefined;
}

const known = (n: number | undefined): n is number => n !== undefined && n > 0;

function poolDoc(name: string, d: Draft, nodeSelector: Record<string, string>): PoolDoc {
  const memory = d.memoryMiB !== undefined ? `${d.memoryMiB}Mi` : known(d.memoryGiB) ? `${Math.round(d.memoryGiB)}Gi` : PLACEHOLDER;
  // HAMi's, Volcano's, dra's and the clouds' models are already the portable name (product holds the device's or label's own); the others are the nodes' label value.
  const portable = d.backend === 'hami' || d.backend === 'dra' || d.backend === 'volcano-vgpu' || d.product !== undefined ? d.model : portableModel(d.model);
  const product = d.product ?? d.model;
  return {
    name, backend: d.backend,
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
    gpu: { model: portable, ...(product !== portable ? { product } : {}), ...(d.modelLabel ? { modelLabel: d.modelLabel } : {}), memory, perNode: d.perNode ?? PLACEHOLDER },
    ...(d.gke ? { gke: d.gke } : {}),
    ...(d.mig && d.mig.length > 0 ? { mig: { ...(d.migStrategy ? { strategy: d.migStrategy } : {}), profiles: d.mig } } : {}),
    ...(d.timeSlicing ? { timeSlicing: d.timeSlicing } : {}),
    ...(d.hami ? { hami: d.hami } : {}),
    ...(d.volcano ? { volcano: d.volcano } : {}),
    ...(d.koordinator ? { koordinator: d.koordinator } : {}),
  };
}

export interface DraftResult {
  readonly yaml: string;
  /** What the operator must look at: groups left out (no label tells them apart), values the nodes do not publish. */
  readonly notes: readonly string[];
}

/** The drafted policy as YAML, each pool with a comment naming the nodes it came from. */
export function draftPolicy(nodes: readonly ClusterNode[]): DraftResult {
  const gpuNodes = nodes.filter(advertisesGpus);
  const groups = new Map<string, { draft: Draft; nodes: ClusterNode[] }>();
  for (const node of gpuNodes) {
    // A node whose GPUs DRA publishes (and no device plugin advertises) gets dra drafts.
    const dra = advertisesDevicePluginGpus(node) ? [] : draDrafts(node);
    for (const draft of dra.length > 0 ? dra : [draftOf(node)]) {
      if (!draft) continue;
      const key = JSON.stringify([draft.backend, draft.model, draft.memoryGiB === undefined ? null : Math.round(draft.memoryGiB), draft.perNode ?? null,
        draft.mig ?? null, draft.timeSlicing ?? null, draft.product ?? null, draft.volcano ?? null, draft.koordinator ?? null, draft.memoryMiB ?? null,
        draft.modelLabel ?? null, draft.selector ?? null, draft.gke ?? null, draft.kaiNodePool ?? null]);
      const group = groups.get(key) ?? { draft, nodes: [] };
      group.nodes.push(node);
      groups.set(key, group);
    }
  }
  const claimsNvidiaGpu = [...groups.values()].filter(({ draft }) => draft.backend === 'nvidia-exclusive' || draft.backend === 'gke'
    || (draft.backend === 'nvidia-time-slicing' && draft.timeSlicing?.resource === 'nvidia.com/gpu'));
  const pools: { doc: PoolDoc; comment: string }[] = [];
  const notes: string[] = [];
  const sharedPartitions = gpuNodes.filter((n) => n.labels[GKE_LABEL.partitionSize] !== undefined && n.labels[GKE_LABEL.sharingStrategy] !== undefined);
  if (sharedPartitions.length > 0) {
    notes.push(`left out ${sharedPartitions.map((n) => n.name).join(', ')}: GKE time-sharing or MPS on MIG partitions `
      + `(${GKE_LABEL.partitionSize} with ${GKE_LABEL.sharingStrategy}) is not served by a gke pool yet`);
  }
  const names = new Set<string>();
  for (const { draft, nodes: own } of groups.values()) {
    if (draft.backend === 'hami' && !draft.hami && claimsNvidiaGpu.length > 0) {
      notes.push(`left out ${own.map((n) => n.name).join(', ')} (HAMi): HAMi uses nvidia.com/gpu beside nodes that advertise it as whole cards `
        + `(${claimsNvidiaGpu.flatMap((g) => g.nodes.map((n) => n.name)).join(', ')}), so its webhook would claim their pods; rename HAMi's resources `
        + '(its chart\'s resourceName, resourceMem, resourceCores) and run again');
      continue;
    }
    const suffix = draft.backend === 'kai' && draft.mig ? '-kai-mig' : suffixOf(draft);
    let name = `${slug(draft.model)}${suffix}`;
    for (let i = 2; names.has(name); i++) name = `${slug(draft.model)}${suffix}-${i}`;
    names.add(name);
    // A nodeSelector only when needed: the backend's own labels also match other nodes, or the
    // backend has none (nvidia-exclusive, hami) and the policy requires one.
    // A kai pool always names its KAI node pool: a sharded KAI schedules it only for pods labelled so (docs/backends.md).
    let nodeSelector: Record<string, string> = { ...draft.selector, ...(draft.kaiNodePool !== undefined ? { [KAI.nodePoolLabel]: draft.kaiNodePool } : {}) };
    const others = gpuNodes.filter((n) => !own.includes(n));
    const probe = { ...termsPool(name, draft), nodeSelector };
    const overlapping = others.filter((n) => poolHasNode(probe, n));
    // A pool told apart by its mode label, GKE's labels or a cloud's model label needs no nodeSelector of its own unless other nodes match it.
    const selfSelected = BACKEND_FACTS[draft.backend].modeLabel !== undefined || draft.backend === 'gke' || draft.modelLabel !== undefined;
    if (!selfSelected || overlapping.length > 0) {
      const label = distinguishing(own, overlapping.length > 0 ? overlapping : others, draft.backend, draft.backend === 'dra');
      if (!label) {
        notes.push(`left out ${own.map((n) => n.name).join(', ')}: no label tells them from ${overlapping.map((n) => n.name).join(', ') || 'the other nodes'}; label them and run again`);
        continue;
      }
      nodeSelector = { ...nodeSelector, [label[0]]: label[1] };
    }
    const named = known(draft.memoryGiB) ? undefined : nameMemoryGiB(draft.product ?? draft.model);
    const filled: Draft = named === undefined ? draft : { ...draft, memoryGiB: named };
    if (named !== undefined) notes.push(`pool ${name}: the nodes publish no card memory; gpu.memory ${named}Gi is read from the model name ${draft.product ?? draft.model}: check it`);
    else if (!known(draft.memoryGiB)) notes.push(`pool ${name}: the nodes publish no card memory; gpu.memory is ${PLACEHOLDER}: set it (policy check fails until you do)`);
    const ec2Memory = draft.modelLabel !== undefined ? EKS_GPU_MEMORY_LABEL[draft.modelLabel] : undefined;
    if (ec2Memory !== undefined && known(draft.memoryGiB)) {
      notes.push(`pool ${name}: gpu.memory ${Math.round(draft.memoryGiB)}Gi is EC2's size (${ec2Memory}); the driver reports a little less (a T4 16384 MiB shows 15360): lower it to what pods can use`);
    }
    if (draft.perNode === undefined) notes.push(`pool ${name}: the nodes publish no card count; gpu.perNode is ${PLACEHOLDER}: set it (policy check fails until you do)`);
    const facts = [draft.backend, draft.product ?? draft.model, known(filled.memoryGiB) ? `${Math.round(filled.memoryGiB)}Gi${named !== undefined ? ' (from the name)' : ''}` : 'memory unknown: set it',
      `× ${draft.perNode ?? '?: set it'}`];
    pools.push({ doc: poolDoc(name, filled, nodeSelector), comment: ` ${own.length} node${own.length > 1 ? 's' : ''}: ${own.map((n) => n.name).join(', ')} (${facts.join(', ')})` });
  }
  const kai = pools.filter((p) => p.doc.backend === 'kai').map((p) => String(p.doc.name));
  if (kai.length > 0) {
    notes.push(`pools ${kai.join(', ')} are kai (their nodes are in KAI node pools, ${KAI.nodePoolLabel}): add kai.queue, the Queue their pods join `
      + '(KAI\'s default queue otherwise), and kai.gpuIsolationProvider: HAMi-core where kai-resource-isolator runs');
  }
  const dra = pools.filter((p) => p.doc.backend === 'dra').map((p) => String(p.doc.name));
  if (dra.length > 0) {
    notes.push(`pools ${dra.join(', ')} are dra: their DeviceClasses select the productName above; apply them before the policy `
      + '(gpu-admission policy deviceclasses FILE | kubectl apply -f -)');
  }
  const doc = new Document({ apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', pools: pools.map((p) => p.doc) });
  doc.commentBefore = ' Drafted by gpu-admission policy init --from-cluster: check every pool, order them by preference,\n'
    + ' and add namespace rules; then gpu-admission policy check FILE --cluster.';
  const seq = isMap(doc.contents) ? doc.contents.get('pools', true) : undefined;
  if (isSeq(seq)) seq.items.forEach((item, i) => { (item as { commentBefore?: string }).commentBefore = pools[i]!.comment; });
  return { yaml: doc.toString({ lineWidth: 0 }), notes };
}

/** Enough of a pool to compute the nodes it matches (its terms), without validating the draft. */
function termsPool(name: string, d: Draft): Pool {
  return {
    name, backend: d.backend, disabled: false, nodeSelector: { ...d.selector }, taints: [],
    gpu: { model: d.model, product: d.product ?? d.model, ...(d.modelLabel ? { modelLabel: d.modelLabel } : {}), memory: '1Gi', perNode: d.perNode ?? 1 },
    ...(d.gke ? { gke: d.gke } : {}),
    ...(d.mig ? { mig: { strategy: d.migStrategy ?? (d.backend === 'gke' ? 'single' as const : 'mixed' as const), profiles: d.mig } } : {}),
    ...(d.timeSlicing ? { timeSlicing: { ...d.timeSlicing, failRequestsGreaterThanOne: false } } : {}),
    ...(d.koordinator ? { koordinator: d.koordinator } : {}),
  } as Pool;
}

/**
 * A label every node of `own` has with one value that none of `others` has with that value. For
 * dra nodes, which publish no GPU labels of their own, a cloud's GPU label (GKE's accelerator,
 * Karpenter's or Auto Mode's GPU name) is taken first, else the instance type may tell them apart.
 */
function distinguishing(own: readonly ClusterNode[], others: readonly ClusterNode[], backend: Backend, instanceType = false): [string, string] | undefined {
  const first = own[0]!;
  const owned = ownedLabel(backend);
  const usable = (k: string): boolean => !NOT_SELECTORS.test(k) || (instanceType && k === INSTANCE_TYPE_LABEL);
  const cloudGpu = (k: string): number => (instanceType && k !== INSTANCE_TYPE_LABEL && k in CLOUD_MODEL_VALUES ? 0 : 1);
  const candidates = Object.entries(first.labels)
    .filter(([k, v]) => usable(k) && k !== owned && own.every((n) => n.labels[k] === v) && others.every((n) => n.labels[k] !== v))
    .sort(([a], [b]) => cloudGpu(a) - cloudGpu(b) || a.length - b.length || a.localeCompare(b));
  return candidates[0];
}
