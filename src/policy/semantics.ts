import { GIB, floorUnits, parseQuantity, type Quantity } from '../vocabulary/quantity.ts';
import { cardMigCatalog, computeSlices, memorySlices, parseMigProfile } from '../vocabulary/mig.ts';
import { DRA_CLASS_RESOURCE_PREFIX, GPU_DRIVER_CLASS, NATIVE } from '../vocabulary/names.ts';
import { GKE_PARTITION_COUNTS } from '../vocabulary/clouds.ts';
import { timeSlicingResource } from './defaults.ts';
import { modelLabelOf } from './pool-nodes.ts';
import { gkeTerms } from './gke.ts';
import { classSelectors, DRA_COUNT_ONLY, WHOLE_DEVICE } from './dra.ts';
import { LABEL_VALUE } from './schema.ts';
import { suggest } from './suggest.ts';
import { BACKENDS, BACKEND_FACTS, ownedLabel, type Backend } from '../vocabulary/backends.ts';
import type { Pool, Policy } from './types.ts';

/** The backends whose pools have a placement (ACK shared modes: the label ack.node.gpu.placement). */
const PLACED: readonly Backend[] = BACKENDS.filter((b) => BACKEND_FACTS[b].placement);
const MIG_BACKENDS: ReadonlySet<Backend> = new Set(['ack-mig', 'nvidia-mig', 'gke']);
/** The backends whose schedulers align GPUs with NUMA nodes from a pod annotation: ACK's topology mode and Koordinator. */
const NUMA_BACKENDS: ReadonlySet<Backend> = new Set(['ack-topology', 'koordinator']);
/** Backends that serve MIG slices when the pool lists them, and whole cards or shares otherwise. */
const MAYBE_MIG: ReadonlySet<Backend> = new Set(['dra', 'kai']);
const NVIDIA_GPU = NATIVE.nvidiaGpu;

/** Whether a pool's pods ask nvidia.com/gpu: exclusive cards, time-slicing that keeps the name, MIG's single strategy. */
function writesNvidiaGpu(pool: Pool): boolean {
  return pool.backend === 'ack-exclusive' || pool.backend === 'nvidia-exclusive' || pool.backend === 'gke' || pool.timeSlicing?.resource === NVIDIA_GPU
    || (pool.backend === 'nvidia-mig' && pool.mig?.strategy === 'single');
}

/** Checks the schema cannot express. Each error names its path. */
export function checkSemantics(policy: Omit<Policy, 'revision'>): string[] {
  const errors: string[] = [];
  const seen = new Map<string, number>();
  policy.pools.forEach((pool, i) => {
    const path = `/pools/${i}`;
    const first = seen.get(pool.name);
    if (first !== undefined) errors.push(`${path}/name: "${pool.name}" is already the name of /pools/${first}`);
    else seen.set(pool.name, i);
    errors.push(...checkPool(pool, path));
  });
  policy.namespaces.forEach((rule, i) => {
    rule.selector?.matchExpressions?.forEach((r, j) => {
      const many = r.operator === 'In' || r.operator === 'NotIn';
      if (many !== ((r.values?.length ?? 0) > 0)) {
        errors.push(`/namespaces/${i}/selector/matchExpressions/${j}/values: ${many ? `${r.operator} needs at least one value` : `${r.operator} takes no values`}`);
      }
    });
    for (const field of ['allowedPools', 'preferredPools'] as const) {
      rule[field]?.forEach((name, j) => {
        if (!seen.has(name)) errors.push(`/namespaces/${i}/${field}/${j}: no pool is named "${name}"${suggest(name, [...seen.keys()])}`);
      });
    }
  });
  return [...errors, ...hamiBesideExclusive(policy.pools), ...draClassClashes(policy.pools)];
}

/**
 * HAMi's webhook claims every pod that asks its resource names and gives it to hami-scheduler,
 * so an exclusive pool writing the same name would lose its pods to HAMi.
 */
function hamiBesideExclusive(pools: readonly Pool[]): string[] {
  const others = pools.filter((p) => p.backend !== 'hami' && writesNvidiaGpu(p));
  return pools.flatMap((p, i) => {
    const clash = p.backend === 'hami' && p.hami?.resourceName === NVIDIA_GPU ? others[0] : undefined;
    return clash ? [`/pools/${i}/hami/resourceName: HAMi's webhook would claim the ${NVIDIA_GPU} pods of pool ${clash.name} `
      + `(${clash.backend}) for hami-scheduler; rename HAMi's resources (its chart's resourceName, resourceMem, resourceCores) and set them here`] : [];
  });
}

function checkPool(pool: Pool, path: string): string[] {
  const errors: string[] = [];
  const memory = parseQuantity(pool.gpu.memory);
  if (typeof memory === 'string' || memory.num <= 0n) {
    errors.push(`${path}/gpu/memory: must be a positive quantity such as 24Gi`);
  } else if (floorUnits(memory, GIB) < 1n) {
    errors.push(`${path}/gpu/memory: must be at least 1Gi`);
  }
  // GKE labels every GPU node with its accelerator, which a gke pool selects by; a cloud's model label picks the pool's nodes too.
  const selected = pool.backend === 'gke' || pool.gpu.modelLabel !== undefined;
  if (BACKEND_FACTS[pool.backend].modeLabel === undefined && !selected && Object.keys(pool.nodeSelector).length === 0) {
    errors.push(`${path}/nodeSelector: backend ${pool.backend} needs a nodeSelector that picks the pool's nodes`);
  }
  const owned = ownedLabel(pool.backend);
  if (owned !== undefined && owned in pool.nodeSelector) {
    errors.push(`${path}/nodeSelector: "${owned}" is set by backend ${pool.backend}; remove it`);
  }
  if (pool.placement !== undefined && !BACKEND_FACTS[pool.backend].placement) {
    errors.push(`${path}/placement: only ACK shared backends (${PLACED.join(', ')}) have a placement`);
  }
  if (pool.timeSlicing !== undefined && pool.backend !== 'nvidia-time-slicing') {
    errors.push(`${path}/timeSlicing: only backend nvidia-time-slicing takes it`);
  }
  if (pool.hami !== undefined && pool.backend !== 'hami' && pool.backend !== 'volcano-vgpu') errors.push(`${path}/hami: only backends hami and volcano-vgpu take it`);
  if (pool.volcano !== undefined && pool.backend !== 'volcano-vgpu') errors.push(`${path}/volcano: only backend volcano-vgpu takes it`);
  if (pool.koordinator !== undefined && pool.backend !== 'koordinator') errors.push(`${path}/koordinator: only backend koordinator takes it`);
  if (pool.kai !== undefined && pool.backend !== 'kai') errors.push(`${path}/kai: only backend kai takes it`);
  errors.push(...checkGke(pool, path));
  if (modelLabelOf(pool) !== undefined && !LABEL_VALUE_RE.test(pool.gpu.product)) {
    errors.push(`${path}/gpu/product: "${pool.gpu.product}" is not a label value (the nodes' model label holds it): letters, digits, -, _ and . only, at most 63`);
  }
  errors.push(...checkModelLabel(pool, path));
  errors.push(...checkDra(pool, path), ...checkMig(pool, path, memory), ...checkNuma(pool, path), ...checkTaints(pool, path));
  return errors;
}

/** A gke pool's partition size must be one GKE's device plugin takes, cut as many times on the pool's card as it expects. */
function gkePartitionErrors(pool: Pool, path: string): string[] {
  const size = pool.mig?.profiles[0];
  if (size === undefined || !parseMigProfile(size)) return [];
  const at = `${path}/mig/profiles/0`;
  const expected = GKE_PARTITION_COUNTS[size];
  if (expected === undefined) return [`${at}: GKE's device plugin takes no partition size ${size} (it takes ${Object.keys(GKE_PARTITION_COUNTS).join(', ')})`];
  const memory = parseQuantity(pool.gpu.memory);
  const catalog = typeof memory === 'string' ? undefined : cardMigCatalog(pool.gpu, memory);
  const holds = catalog?.profiles[size];
  return holds !== undefined && holds !== expected
    ? [`${at}: GKE's device plugin expects ${expected} × ${size} on each card, the ${catalog?.name} holds ${holds}: its nodes would advertise no GPU`] : [];
}

/**
 * A gke pool's block: only on gke; sharing or a partition size, not both (gpu-admission does not
 * route shares of partitions); and no nodeSelector on the labels its mode sets.
 */
function checkGke(pool: Pool, path: string): string[] {
  if (pool.backend !== 'gke') return pool.gke ? [`${path}/gke: only backend gke takes it`] : [];
  const errors: string[] = [];
  if (pool.gke && pool.mig) {
    errors.push(`${path}/gke: time-sharing or MPS on MIG partitions is not served here: give the pool either gke or mig`);
  }
  errors.push(...gkePartitionErrors(pool, path));
  for (const r of gkeTerms(pool)) {
    if (r.key in pool.nodeSelector) errors.push(`${path}/nodeSelector: "${r.key}" is set by backend gke from the pool's gke and mig; remove it`);
  }
  return errors;
}

/** A pool's own model label: where the backend reads the model from a node label, and not one the pool already sets. */
function checkModelLabel(pool: Pool, path: string): string[] {
  const key = pool.gpu.modelLabel;
  if (key === undefined) return [];
  const { model } = BACKEND_FACTS[pool.backend];
  if ('podAnnotation' in model) {
    return [`${path}/gpu/modelLabel: ${pool.backend} picks the model by the pod annotation ${model.podAnnotation}, not by a node label; remove it`];
  }
  if ('deviceAttribute' in model) {
    return [`${path}/gpu/modelLabel: dra pools pick the model by the devices' ${model.deviceAttribute} (gpu.product); `
      + `select their nodes with nodeSelector (such as {${key}: …}) and remove modelLabel`];
  }
  if (key === ownedLabel(pool.backend)) return [`${path}/gpu/modelLabel: "${key}" is backend ${pool.backend}'s mode label`];
  return [];
}

function checkMig(pool: Pool, path: string, memory: Quantity | string): string[] {
  const { mig } = pool;
  const dra = MAYBE_MIG.has(pool.backend);
  if (!MIG_BACKENDS.has(pool.backend) && !dra) return mig ? [`${path}/mig: only MIG backends (ack-mig, nvidia-mig, gke), dra and kai take it`] : [];
  if (!mig) return dra || pool.backend === 'gke' ? [] : [`${path}/mig: backend ${pool.backend} needs mig.profiles or mig.layout`];
  if (typeof memory === 'string') return [];
  const errors: string[] = [];
  const at = (name: string, j: number): string => (mig.layout ? `${path}/mig/layout/${name}` : `${path}/mig/profiles/${j}`);
  if (pool.backend === 'gke' && mig.strategy !== 'single') errors.push(`${path}/mig/strategy: GKE exposes partitions as ${NVIDIA_GPU}; leave strategy out`);
  else if (mig.strategy === 'single' && pool.backend !== 'nvidia-mig' && pool.backend !== 'gke') {
    errors.push(`${path}/mig/strategy: single is the NVIDIA device plugin's (nvidia-mig)`);
  }
  if (mig.strategy === 'single' && mig.profiles.length !== 1) {
    errors.push(`${path}/mig/profiles: ${pool.backend === 'gke' ? 'a GKE node pool has one partition size' : 'the single strategy cuts every card alike'}: list exactly one profile`);
  }
  const catalog = cardMigCatalog(pool.gpu, memory);
  mig.profiles.forEach((name, j) => {
    const profile = parseMigProfile(name);
    if (!profile) return;
    if (profile.memoryBytes * memory.den > memory.num) {
      errors.push(`${at(name, j)}: ${name} needs ${profile.memoryGB} GB, the card has ${pool.gpu.memory}`);
    } else if (catalog && catalog.profiles[name] === undefined) {
      errors.push(`${at(name, j)}: ${name} is not a MIG profile of the ${catalog.name} (it offers ${Object.keys(catalog.profiles).join(', ')})`);
    } else if (catalog && mig.layout && (mig.layout[name] ?? 0) > (catalog.profiles[name] ?? 0)) {
      errors.push(`${at(name, j)}: a card holds at most ${catalog.profiles[name]} × ${name}`);
    }
  });
  const layout = Object.entries(mig.layout ?? {});
  const slices = layout.reduce((sum, [name, n]) => sum + (parseMigProfile(name)?.slices ?? 0) * n, 0);
  const total = computeSlices(catalog, mig.profiles, memory);
  if (slices > total) errors.push(`${path}/mig/layout: ${slices} compute slices, a card has ${total}`);
  const memoryUsed = layout.reduce((sum, [name, n]) => sum + (memorySlices(catalog, name) ?? 0) * n, 0);
  const memoryTotal = total === 4 ? 4 : 8;
  if (catalog && memoryUsed > memoryTotal) errors.push(`${path}/mig/layout: ${memoryUsed} memory slices, a card has ${memoryTotal}`);
  return errors;
}

const LABEL_VALUE_RE = new RegExp(LABEL_VALUE);

/** A dra pool's block and classes, by the rules the API server applies to DeviceClasses and pod resources. */
function checkDra(pool: Pool, path: string): string[] {
  const { dra } = pool;
  if (!dra) return [];
  if (pool.backend !== 'dra') return [`${path}/dra: only backend dra takes it`];
  const errors: string[] = [];
  if (pool.rdma) errors.push(`${path}/rdma: ${DRA_COUNT_ONLY} an RDMA device with the GPUs`);
  dra.deviceClasses.forEach((cls) => {
    const at = `${path}/dra/deviceClasses/${cls.device}`;
    if (cls.device === WHOLE_DEVICE && pool.mig) {
      errors.push(`${at}: a pool with mig serves MIG devices only (whole cards are its full-card profile); give whole cards a pool of their own`);
    } else if (cls.device !== WHOLE_DEVICE && !pool.mig?.profiles.includes(cls.device)) {
      errors.push(`${at}: ${cls.device} is not in mig.profiles`);
    }
    if (GPU_DRIVER_CLASS.test(cls.name)) {
      errors.push(`${at}/name: ${cls.name} is a GPU driver's own class (NVIDIA's chart installs gpu.nvidia.com and mig.nvidia.com): `
        + 'applying policy deviceclasses would replace it; name yours in a domain of your own');
    }
    // A resource name's part after the / is a qualified name: at most 63 characters (the schema makes the name a DNS subdomain).
    if (cls.extendedResourceName === undefined && cls.name.length > 63) {
      errors.push(`${at}/name: pods ask ${DRA_CLASS_RESOURCE_PREFIX}${cls.name}, whose name part must be at most 63 characters; use a shorter class name or set extendedResourceName`);
    }
  });
  return errors;
}

/**
 * Classes across pools: one name must mean one class (pools may share it, with the same
 * selectors), and an extendedResourceName must name one class and nothing a device plugin
 * advertises: two classes with one name leave the scheduler's mapping to creation order, and
 * v1.37.2's cache may drop a class on restart (kubernetes#141103, docs/research/dra.md §1).
 */
function draClassClashes(pools: readonly Pool[]): string[] {
  const errors: string[] = [];
  const classes = new Map<string, { at: string; selectors: string; resource: string }>();
  const resources = new Map<string, { at: string; name: string }>();
  // The names other pools' pods ask (time-slicing replicas, HAMi's, RDMA devices), and whose.
  const otherNames = new Map<string, string>();
  pools.forEach((pool, i) => {
    const names = [timeSlicingResource(pool), ...(pool.hami ? Object.values(pool.hami) : []), pool.rdma?.resource];
    for (const n of names) if (n !== undefined && !otherNames.has(n)) otherNames.set(n, `/pools/${i}'s (${pool.name}) resource`);
  });
  pools.forEach((pool, i) => pool.dra?.deviceClasses.forEach((cls) => {
    const at = `/pools/${i}/dra/deviceClasses/${cls.device}`;
    const selectors = JSON.stringify(classSelectors(pool, cls));
    const seen = classes.get(cls.name);
    if (seen && (seen.selectors !== selectors || seen.resource !== cls.resource)) {
      errors.push(`${at}: DeviceClass ${cls.name} is also ${seen.at}, for other devices or another extendedResourceName; give each its own name`);
    } else if (!seen) classes.set(cls.name, { at, selectors, resource: cls.resource });
    if (cls.extendedResourceName === undefined) return;
    const other = resources.get(cls.extendedResourceName);
    if (other && other.name !== cls.name) {
      errors.push(`${at}/extendedResourceName: ${cls.extendedResourceName} is also DeviceClass ${other.name}'s (${other.at}); one name must map to one class`);
    } else if (!other) resources.set(cls.extendedResourceName, { at, name: cls.name });
    const taken = otherNames.get(cls.extendedResourceName);
    if (taken !== undefined) {
      errors.push(`${at}/extendedResourceName: ${cls.extendedResourceName} is ${taken}; one name must mean one thing on a node`);
    } else if (isDevicePluginName(cls.extendedResourceName)) {
      errors.push(`${at}/extendedResourceName: ${cls.extendedResourceName} is a device plugin's resource`
        + `${cls.extendedResourceName === NATIVE.nvidiaGpu ? ' (and NVIDIA\'s DRA class gpu.nvidia.com maps it)' : ''}: `
        + 'on a node that advertises it the device plugin serves it, elsewhere another class may; use a name of your own, or leave it out');
    }
  }));
  return errors;
}

function isDevicePluginName(name: string): boolean {
  return name === NATIVE.nvidiaGpu || name.startsWith(NATIVE.migPrefix)
    || [NATIVE.hamiMem, NATIVE.hamiMemPercent, NATIVE.hamiCores, 'nvidia.com/gpu.shared'].includes(name);
}

/** Taints become pod tolerations, which the API server validates: say so here instead. */
function checkTaints(pool: Pool, path: string): string[] {
  return pool.taints.flatMap((t, j) => {
    if (t.operator === 'Exists' && t.value !== undefined && t.value !== '') {
      return [`${path}/taints/${j}/value: must be empty when operator is Exists`];
    }
    if (t.operator === 'Equal' && (t.key === undefined || t.key === '')) return [`${path}/taints/${j}/key: needed when operator is Equal`];
    return [];
  });
}

function checkNuma(pool: Pool, path: string): string[] {
  const numa = pool.numa;
  if (!numa) return [];
  if (pool.backend === 'dra') return [`${path}/numa: ${DRA_COUNT_ONLY} GPUs with NUMA nodes`];
  if (!NUMA_BACKENDS.has(pool.backend)) return [`${path}/numa: NUMA scheduling needs backend ack-topology or koordinator`];
  if (numa.nodes * numa.gpusPerNode !== pool.gpu.perNode) {
    return [`${path}/numa: ${numa.nodes} nodes × ${numa.gpusPerNode} GPUs is not gpu.perNode (${pool.gpu.perNode})`];
  }
  return [];
}
