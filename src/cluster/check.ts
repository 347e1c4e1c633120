// `gpu-admission policy check FILE --cluster`: where the policy and the live nodes disagree.
// Each finding names the pool, the nodes and both values.
import type { Policy, Pool } from '../policy/types.ts';
import { formatRequirement, matchesRequirements, selectorRequirements } from '../vocabulary/node-selector.ts';
import { GIB, parseQuantity, toNumber } from '../vocabulary/quantity.ts';
import { EKS_AUTO_LABEL, KARPENTER_LABEL } from '../vocabulary/clouds.ts';
import { flavorLabels, poolTerms } from '../policy/pool-nodes.ts';
import { KAI } from '../vocabulary/names.ts';
import { classSelects, policyDeviceClasses, type DeviceClassObject } from '../policy/dra.ts';
import {
  GFD, advertisesGpus, draGpus, nodeCardCount, volcanoDevices, nodeCardMemoryGiB, nodeMigProfiles, poolHasNode, poolsOfNode, type ClusterDeviceClass, type ClusterNode, type DraView,
} from './model.ts';

const list = (names: readonly string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`);
const gib = (n: number): string => `${Number.isInteger(n) ? n : n.toFixed(1)}Gi`;

function poolMemoryGiB(pool: Pool): number | undefined {
  const q = parseQuantity(pool.gpu.memory);
  return typeof q === 'string' ? undefined : toNumber(q) / Number(GIB);
}

/** How a class of the cluster differs from the one the policy needs (`found` undefined: it is missing). */
function classFinding(want: DeviceClassObject, found: ClusterDeviceClass | undefined, pools: string): string | undefined {
  const name = want.metadata.name;
  if (!found) return `DeviceClass ${name}: missing (${pools} asks it); apply the output of \`gpu-admission policy deviceclasses\``;
  const selectors = want.spec.selectors.map((s) => s.cel.expression);
  if (JSON.stringify(found.selectors) !== JSON.stringify(selectors)) {
    return `DeviceClass ${name}: its selectors are not the ones ${pools} needs (${selectors.join(' && ')}); pods routed there get the class's devices, whatever they are`;
  }
  if (found.extendedResourceName === want.spec.extendedResourceName) return undefined;
  return `DeviceClass ${name}: extendedResourceName is ${found.extendedResourceName ?? 'unset'}, ${pools} writes `
    + `${want.spec.extendedResourceName ?? `deviceclass.resource.kubernetes.io/${name}`}`;
}

/**
 * The DeviceClasses the policy's dra pools need, against the cluster's: missing ones, ones whose
 * selectors or extendedResourceName are not what `policy deviceclasses` prints, and other classes
 * that take a policy class's extendedResourceName.
 */
export function checkDeviceClasses(policy: Policy, dra: DraView): string[] {
  const have = new Map(dra.deviceClasses.map((c) => [c.name, c]));
  return policyDeviceClasses(policy).flatMap((want) => {
    const pools = `pool ${want.metadata.annotations['gpu-admission.io/pools']}`;
    const name = want.spec.extendedResourceName;
    // kube-scheduler maps one extendedResourceName to one class (the newest; kubernetes#141103): another class may take the pool's pods.
    const rivals = name === undefined ? [] : dra.deviceClasses.filter((c) => c.extendedResourceName === name && c.name !== want.metadata.name);
    const rivalry = rivals.map((c) => `DeviceClass ${c.name}: its extendedResourceName ${name} is also ${want.metadata.name}'s, `
      + `which ${pools} writes; the scheduler may allocate ${c.name}'s devices to those pods: remove it, then touch ${want.metadata.name} `
      + `(kubectl annotate) or restart kube-scheduler, which forgets the name when the other class goes (v1.37.2)`);
    const own = classFinding(want, have.get(want.metadata.name), pools);
    return [...(own ? [own] : []), ...rivalry];
  });
}

/**
 * Pools that cannot be told apart by their labels: nodes of another pool that carry a pool's
 * flavor labels (what `policy kueue` gives its ResourceFlavor), so Kueue may send that pool's
 * Jobs there, and a nodeSelector of those labels cannot tell the pools apart.
 */
export function flavorOverlaps(policy: Policy, nodes: readonly ClusterNode[]): string[] {
  return policy.pools.filter((p) => !p.disabled).flatMap((pool) => {
    const labels = flavorLabels(pool, policy.defaults.poolLabel);
    const selector = selectorRequirements(labels);
    const strangers = nodes.filter((n) => !poolHasNode(pool, n) && poolsOfNode(policy, n).length > 0 && matchesRequirements(n.labels, selector));
    if (strangers.length === 0) return [];
    const pools = [...new Set(strangers.flatMap((n) => poolsOfNode(policy, n).map((p) => p.name)))];
    const shown = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'no label of its own';
    return [`pool ${pool.name}: its labels (${shown}) also select node${strangers.length > 1 ? 's' : ''} ${list(strangers.map((n) => n.name))} `
      + `of pool ${pools.join(', ')}: a Kueue flavor or nodeSelector of them cannot tell the pools apart; label each GPU node with its pool (defaults.poolLabel)`];
  });
}

/**
 * A kai pool's gpu.memory above what its nodes report (GPU feature discovery's nvidia.com/gpu.memory,
 * MiB): KAI gives a share its gpu-fraction of the node's memory, so a fraction the webhook computed
 * on a larger card gives less than was asked. Exact, not within the 1 GiB the other backends get.
 */
function kaiMemoryFindings(pool: Pool, nodes: readonly ClusterNode[]): string[] {
  if (pool.backend !== 'kai') return [];
  const q = parseQuantity(pool.gpu.memory);
  if (typeof q === 'string') return [];
  const want = toNumber(q) / 2 ** 20;
  const smaller = new Map<number, string[]>();
  for (const n of nodes) {
    const have = Number(n.labels[GFD.memory]);
    if (Number.isFinite(have) && have > 0 && have < want) smaller.set(have, [...(smaller.get(have) ?? []), n.name]);
  }
  return [...smaller].map(([have, names]) => `pool ${pool.name}: gpu.memory is ${pool.gpu.memory} but node${names.length > 1 ? 's' : ''} ${list(names)} `
    + `report${names.length > 1 ? '' : 's'} ${have} MiB per card (${GFD.memory}): KAI gives a share its gpu-fraction of that, less than asked; set gpu.memory: ${have}Mi`);
}
/** Whether the node's card memory is a cloud's nominal size (Karpenter's, from EC2) rather than what the driver reports (GFD's). */
const nominalMemory = (n: ClusterNode): boolean => n.labels[GFD.memory] === undefined
  && (n.labels[KARPENTER_LABEL.gpuMemory] !== undefined || n.labels[EKS_AUTO_LABEL.gpuMemory] !== undefined);

/**
 * A Volcano vGPU node's card memory as the pool counts it: the plugin registers `memory.Total/(1024*1024) /
 * GPUMemoryFactor` per card (volcano-vgpu-device-plugin pkg/plugin/register.go), so its devmem times the
 * pool's volcano.memoryFactor. Undefined where GPU feature discovery labels the memory, or off Volcano pools.
 */
function volcanoCardMemoryGiB(pool: Pool, n: ClusterNode): number | undefined {
  const device = pool.volcano && n.labels[GFD.memory] === undefined ? volcanoDevices(n)?.[0] : undefined;
  return device && device.mem > 0 ? (device.mem * (pool.volcano?.memoryFactor ?? 1)) / 1024 : undefined;
}

/**
 * A kai pool whose nodes sit in KAI node pools (kai.scheduler/node-pool) that its nodeSelector does
 * not name. A sharded KAI schedules those nodes in their pool's shard, which takes only PodGroups
 * labelled with that pool (pkg/scheduler/conf/scheduler_conf.go GetLabelSelector), and a PodGroup
 * gets the label from its pod (pkg/podgrouper/pod_controller.go addNodePoolLabel): the webhook
 * labels the pods of a pool whose nodeSelector names the node pool, and only those.
 */
function kaiNodePoolFindings(pool: Pool, nodes: readonly ClusterNode[]): string[] {
  if (pool.backend !== 'kai' || pool.nodeSelector[KAI.nodePoolLabel] !== undefined) return [];
  const values = [...new Set(nodes.flatMap((n) => n.labels[KAI.nodePoolLabel] ?? []))].sort();
  if (values.length === 0) return [];
  const fix = values.length === 1 ? `add ${KAI.nodePoolLabel}: ${values[0]} to its nodeSelector` : `make one pool per node pool, each with ${KAI.nodePoolLabel} in its nodeSelector`;
  return [`pool ${pool.name}: its nodes are in KAI node pool${values.length > 1 ? 's' : ''} ${values.join(', ')} (${KAI.nodePoolLabel}), which a sharded KAI `
    + `schedules only for pods labelled so, and the pool's pods get no such label: ${fix} (the webhook then labels its pods)`];
}

/** Findings, one line each; none on a cluster the policy describes. `dra`: the DRA objects, read when the policy has dra pools. */
export function checkAgainstCluster(policy: Policy, nodes: readonly ClusterNode[], dra?: DraView): string[] {
  const findings: string[] = dra ? checkDeviceClasses(policy, dra) : [];
  for (const pool of policy.pools) {
    const mine = nodes.filter((n) => poolHasNode(pool, n));
    if (mine.length === 0) {
      findings.push(`pool ${pool.name}: matches no node (its nodes: ${poolTerms(pool).map((t) => t.map(formatRequirement).join(', ')).join(' or ')})`);
      continue;
    }
    for (const cls of dra ? pool.dra?.deviceClasses ?? [] : []) {
      if (!mine.some((n) => (n.devices ?? []).some((d) => classSelects(pool, cls, d)))) {
        findings.push(`pool ${pool.name}: no ResourceSlice of its nodes (${list(mine.map((n) => n.name))}) publishes a device DeviceClass ${cls.name} selects `
          + `(driver ${pool.dra?.driver}, ${cls.device === 'gpu' ? 'type gpu' : `type mig, profile ${cls.device}`}, productName "${pool.gpu.product}")`);
      }
    }
    const want = poolMemoryGiB(pool);
    const byMemory = new Map<string, string[]>();
    for (const n of mine) {
      const have = volcanoCardMemoryGiB(pool, n) ?? nodeCardMemoryGiB(n);
      // Within 1 GiB: vendors report usable memory (an 80 GB card shows 79.6 GiB; ACK rounds down).
      // Karpenter's is EC2's nominal size (a T4 is 16384 MiB, the driver reports 15360): less is fine there.
      const off = have === undefined || want === undefined ? 0 : nominalMemory(n) ? want - have : Math.abs(have - want);
      if (have !== undefined && off >= 1) byMemory.set(gib(have), [...(byMemory.get(gib(have)) ?? []), n.name]);
    }
    for (const [have, names] of byMemory) {
      const units = pool.volcano ? ` (volcano.sh/node-vgpu-register counts units of the device plugin's gpuMemoryFactor MiB: `
        + `set volcano.memoryFactor to it${pool.volcano.memoryFactor ? `, ${pool.volcano.memoryFactor} here` : ''})` : '';
      findings.push(`pool ${pool.name}: gpu.memory is ${pool.gpu.memory} but node${names.length > 1 ? 's' : ''} ${list(names)} report${names.length > 1 ? '' : 's'} ${have} per card${units}`);
    }
    findings.push(...kaiMemoryFindings(pool, mine), ...kaiNodePoolFindings(pool, mine));
    const byCount = new Map<number, string[]>();
    for (const n of mine) {
      const have = nodeCardCount(n);
      if (have !== undefined && have !== pool.gpu.perNode) byCount.set(have, [...(byCount.get(have) ?? []), n.name]);
    }
    for (const [have, names] of byCount) {
      findings.push(`pool ${pool.name}: gpu.perNode is ${pool.gpu.perNode} but node${names.length > 1 ? 's' : ''} ${list(names)} ha${names.length > 1 ? 've' : 's'} ${have} cards`);
    }
    if (pool.mig && pool.mig.strategy === 'mixed' && !pool.dra) {
      const advertised = new Set(mine.flatMap(nodeMigProfiles));
      const missing = pool.mig.profiles.filter((p) => !advertised.has(p));
      if (missing.length > 0) findings.push(`pool ${pool.name}: mig.profiles lists ${missing.join(', ')} but no node of the pool (${list(mine.map((n) => n.name))}) advertises ${missing.map((p) => `nvidia.com/mig-${p}`).join(', ')}`);
      const unlisted = [...advertised].filter((p) => !pool.mig!.profiles.includes(p));
      if (unlisted.length > 0) findings.push(`pool ${pool.name}: nodes advertise MIG ${unlisted.join(', ')} that mig.profiles does not list (pods are never routed to them)`);
    }
    if (pool.timeSlicing?.replicas !== undefined) {
      const byReplicas = new Map<string, string[]>();
      for (const n of mine) {
        const have = n.labels[GFD.replicas];
        if (have !== undefined && Number(have) !== pool.timeSlicing.replicas) byReplicas.set(have, [...(byReplicas.get(have) ?? []), n.name]);
      }
      for (const [have, names] of byReplicas) {
        findings.push(`pool ${pool.name}: timeSlicing.replicas is ${pool.timeSlicing.replicas} but node${names.length > 1 ? 's' : ''} ${list(names)} ${names.length > 1 ? 'have' : 'has'} ${have} (nvidia.com/gpu.replicas)`);
      }
    }
    if (pool.volcano) {
      const other = mine.filter((n) => volcanoDevices(n)?.some((d) => d.mode !== pool.volcano!.mode)).map((n) => n.name);
      if (other.length > 0) {
        findings.push(`pool ${pool.name}: volcano.mode is ${pool.volcano.mode} but node${other.length > 1 ? 's' : ''} ${list(other)} register${other.length > 1 ? '' : 's'} `
          + `another mode (volcano.sh/node-vgpu-register): Volcano refuses pods whose volcano.sh/vgpu-mode differs`);
      }
    }
    if (pool.rdma) {
      const without = mine.filter((n) => !((n.allocatable[pool.rdma!.resource] ?? 0) > 0)).map((n) => n.name);
      if (without.length > 0) findings.push(`pool ${pool.name}: rdma.resource is ${pool.rdma.resource} but node${without.length > 1 ? 's' : ''} ${list(without)} advertise${without.length > 1 ? '' : 's'} none`);
    }
    if (pool.numa) {
      const count = mine.map((n) => nodeCardCount(n)).find((c) => c !== undefined);
      if (count !== undefined && pool.numa.nodes * pool.numa.gpusPerNode !== count) {
        findings.push(`pool ${pool.name}: numa says ${pool.numa.nodes} NUMA nodes × ${pool.numa.gpusPerNode} GPUs but the nodes have ${count} cards`);
      }
    }
  }
  findings.push(...flavorOverlaps(policy, nodes));
  for (const node of nodes) {
    const pools = poolsOfNode(policy, node);
    // dra pools on one node are told apart by their DeviceClasses (whole cards and MIG slices).
    if (pools.length > 1 && !pools.every((p) => p.dra)) findings.push(`node ${node.name}: matches ${pools.length} pools (${pools.map((p) => p.name).join(', ')}); a node should be in one`);
    if (pools.length === 0 && advertisesGpus(node)) {
      const what = [...Object.keys(node.allocatable).filter((k) => k.includes('/')), ...Object.keys(draGpus(node))];
      findings.push(`node ${node.name}: has GPU resources (${what.join(', ')}) but matches no pool`);
    }
  }
  return findings;
}
