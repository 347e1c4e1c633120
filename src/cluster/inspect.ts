// `gpu-admission inspect`: per pool, per node and for the cluster, what is allocated of what the
// nodes advertise, in each pool's own units (the `kubectl inspect cgpu` of every backend).
import type { Policy, Pool } from '../policy/types.ts';
import { NATIVE } from '../vocabulary/names.ts';
import {
  advertisesGpus, decisionPools, draGpus, hamiAllocated, hamiDevices, nodeAllocated, nodeCapacity, nodeCardCount, poolNodeCards, poolHasNode, poolUnits, poolsOfNode,
  type ClusterNode, type ClusterPod, type PoolUnit,
} from './model.ts';

export interface Usage {
  readonly resource: string;
  readonly what: string;
  readonly unit: string;
  readonly allocated: number;
  readonly total: number;
}

export interface CardUsage {
  readonly index: number;
  readonly unit: string;
  readonly allocated: number;
  readonly total: number;
  /** `namespace/name` of the pods on the card (with -d). */
  readonly pods: readonly string[];
}

export interface PoolReport {
  readonly name: string;
  readonly backend: string;
  readonly disabled: boolean;
  readonly nodes: { readonly ready: number; readonly total: number };
  readonly cards: number;
  readonly usage: readonly Usage[];
}

export interface NodeReport {
  readonly name: string;
  readonly pools: readonly string[];
  readonly ready: boolean;
  readonly cards: number;
  readonly usage: readonly Usage[];
  /** Per card, where the pods' annotations say which card (ACK shared GPU: ALIYUN_COM_GPU_MEM_IDX; HAMi: its allocation annotation). */
  readonly perCard?: readonly CardUsage[];
}

/** The webhook's newest InvalidPolicy Event on the policy ConfigMap: when, and the revision it kept (null: none was in force). */
export interface PolicyRefusal {
  readonly at: string;
  readonly kept: string | null | undefined;
}

/** Why a report has no pools: the ConfigMap holds an invalid policy, and what the webhook said of it. */
export interface InvalidPolicy {
  /** `namespace/name` of the ConfigMap. */
  readonly configMap: string;
  readonly errors: readonly string[];
  /** The webhook's newest InvalidPolicy Event, when one could be read. */
  readonly refusal?: PolicyRefusal;
}

export interface InspectReport {
  /** The policy's revision; without a readable policy, the revision the webhook says it keeps (null when unknown or none). */
  readonly revision: string | null;
  /** Set when the ConfigMap's policy is invalid: pools are empty, nodes are shown by their own resources. */
  readonly invalidPolicy?: InvalidPolicy;
  readonly pools: readonly PoolReport[];
  readonly nodes: readonly NodeReport[];
  /** GPU pods not bound yet, with the pools their decision names. */
  readonly pending: readonly { readonly namespace: string; readonly name: string; readonly pools: readonly string[] }[];
  /** Nodes that advertise GPU resources but are in no pool of the policy. */
  readonly unmatched: readonly { readonly name: string; readonly resources: Readonly<Record<string, number>> }[];
  /** The cluster total, per kind of thing (GPU memory GiB, cards, …) over the nodes shown, each node once. */
  readonly totals: readonly Usage[];
}

export interface InspectOptions {
  readonly pool?: string;
  readonly node?: string;
  /** Per-card rows with the pods on each card. */
  readonly details?: boolean;
}

const ACK_MEM_IDX = 'ALIYUN_COM_GPU_MEM_IDX';

const live = (pod: ClusterPod): boolean => pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
const key = (u: PoolUnit): string => `${u.resource}\u0000${u.what}\u0000${u.unit}`;

function usageOn(units: readonly { pool: Pool; unit: PoolUnit }[], nodes: readonly ClusterNode[], podsByNode: ReadonlyMap<string, readonly ClusterPod[]>): Usage[] {
  return units.map(({ pool, unit }) => ({
    ...unit,
    total: nodes.reduce((sum, n) => sum + nodeCapacity(pool, n, unit.resource), 0),
    allocated: nodes.reduce((sum, n) => sum + nodeAllocated(pool, n, podsByNode.get(n.name) ?? [], unit.resource), 0),
  }));
}

/** ACK shared GPU per card: the card index each pod's annotation names, its GPU memory split over them. */
function ackCards(node: ClusterNode, pods: readonly ClusterPod[], cards: number): CardUsage[] | undefined {
  const total = node.allocatable[NATIVE.aliyunGpuMem];
  if (total === undefined || cards <= 0) return undefined;
  const perCard = total / cards;
  const out = Array.from({ length: cards }, (_, index) => ({ index, unit: 'GiB', allocated: 0, total: perCard, pods: [] as string[] }));
  for (const pod of pods) {
    const indexes = (pod.annotations[ACK_MEM_IDX] ?? '').split(',').map((s) => Number(s.trim())).filter((i) => Number.isInteger(i) && i >= 0 && i < cards);
    if (indexes.length === 0) continue;
    const share = (pod.requests[NATIVE.aliyunGpuMem] ?? 0) / indexes.length;
    for (const i of indexes) {
      out[i]!.allocated += share;
      out[i]!.pods.push(`${pod.namespace}/${pod.name}`);
    }
  }
  return out;
}

/** HAMi per card: the node's registered devices and each pod's allocation annotation, GPU memory in MiB. */
function hamiCards(node: ClusterNode, pods: readonly ClusterPod[]): CardUsage[] | undefined {
  const devices = hamiDevices(node);
  if (!devices) return undefined;
  const out = devices.map((d, index) => ({ index, unit: 'MiB', allocated: 0, total: d.mem, pods: [] as string[] }));
  const byId = new Map(devices.map((d, i) => [d.id, out[i]!]));
  for (const pod of pods) {
    for (const device of hamiAllocated(pod)?.devices ?? []) {
      const card = byId.get(device.id);
      if (!card) continue;
      card.allocated += device.mem;
      const name = `${pod.namespace}/${pod.name}`;
      if (!card.pods.includes(name)) card.pods.push(name);
    }
  }
  return out;
}

/** Pods still holding or awaiting resources, and the bound ones by node. */
function livePodsByNode(pods: readonly ClusterPod[]): { livePods: ClusterPod[]; podsByNode: Map<string, ClusterPod[]> } {
  const livePods = pods.filter(live);
  const podsByNode = new Map<string, ClusterPod[]>();
  for (const pod of livePods) {
    if (!pod.nodeName) continue;
    const onNode = podsByNode.get(pod.nodeName);
    if (onNode) onNode.push(pod);
    else podsByNode.set(pod.nodeName, [pod]);
  }
  return { livePods, podsByNode };
}

/** A node's allocatable resources beyond CPU, memory, pods, storage and hugepages (the device plugins'), with its DRA GPUs. */
function extendedResources(node: ClusterNode): Record<string, number> {
  const own = Object.entries(node.allocatable).filter(([k]) => !['cpu', 'memory', 'pods', 'ephemeral-storage'].includes(k) && !k.startsWith('hugepages-'));
  return { ...Object.fromEntries(own), ...draGpus(node) };
}

/** GPU pods not bound yet, with the pools their decision names. */
function pendingPods(livePods: readonly ClusterPod[], pool: string | undefined): InspectReport['pending'][number][] {
  return livePods.filter((p) => !p.nodeName).flatMap((p) => {
    const named = decisionPools(p);
    if (named === undefined || (pool !== undefined && !named.includes(pool))) return [];
    return [{ namespace: p.namespace, name: p.name, pools: named }];
  });
}

/** The cluster total over the nodes shown, per kind of thing: a node two pools match is counted once. */
function totalsOf(nodeReports: readonly NodeReport[]): Usage[] {
  const totals = new Map<string, Usage>();
  for (const report of nodeReports) {
    for (const u of report.usage) {
      const k = `${u.what}\u0000${u.unit}`;
      const t = totals.get(k);
      totals.set(k, t ? { ...t, allocated: t.allocated + u.allocated, total: t.total + u.total } : { ...u, resource: u.unit === 'slices' ? 'nvidia.com/mig-*' : u.resource });
    }
  }
  return [...totals.values()];
}

/**
 * The cluster when the policy cannot be read (the ConfigMap's is invalid): each GPU node with its
 * own extended resources, allocated as the bound pods request them, and no pools, since no pool
 * can be told without a policy.
 */
export function inspectWithoutPolicy(invalid: InvalidPolicy, nodes: readonly ClusterNode[], pods: readonly ClusterPod[], options: InspectOptions = {}): InspectReport {
  const { livePods, podsByNode } = livePodsByNode(pods);
  const nodeReports: NodeReport[] = nodes.filter((n) => (options.node === undefined || n.name === options.node) && advertisesGpus(n)).map((node) => {
    const onNode = podsByNode.get(node.name) ?? [];
    const usage = Object.entries(extendedResources(node)).map(([resource, total]) => ({
      resource, what: resource, unit: resource, total, allocated: onNode.reduce((sum, p) => sum + (p.requests[resource] ?? 0), 0),
    }));
    // Cards 0 when the node does not publish its count (MIG and HAMi nodes advertise slices and vGPUs): printed as -.
    return { name: node.name, pools: [], ready: node.ready, cards: nodeCardCount(node) ?? 0, usage };
  });
  return {
    revision: invalid.refusal?.kept ?? null, invalidPolicy: invalid, pools: [], nodes: nodeReports,
    pending: pendingPods(livePods, undefined), unmatched: [], totals: totalsOf(nodeReports),
  };
}

export function inspect(policy: Policy, nodes: readonly ClusterNode[], pods: readonly ClusterPod[], options: InspectOptions = {}): InspectReport {
  const { livePods, podsByNode } = livePodsByNode(pods);
  const pools = policy.pools.filter((p) => options.pool === undefined || p.name === options.pool);
  const selectedNodes = nodes.filter((n) => options.node === undefined || n.name === options.node);

  const poolReports: PoolReport[] = pools.map((pool) => {
    const mine = selectedNodes.filter((n) => poolHasNode(pool, n));
    return {
      name: pool.name, backend: pool.backend, disabled: pool.disabled,
      nodes: { ready: mine.filter((n) => n.ready).length, total: mine.length },
      cards: mine.reduce((sum, n) => sum + poolNodeCards(pool, n), 0),
      usage: usageOn(poolUnits(pool).map((unit) => ({ pool, unit })), mine, podsByNode),
    };
  });

  const nodeReports: NodeReport[] = [];
  const unmatched: InspectReport['unmatched'][number][] = [];
  for (const node of selectedNodes) {
    const own = poolsOfNode(policy, node);
    const shown = own.filter((p) => pools.includes(p));
    if (own.length === 0) {
      if (advertisesGpus(node) && options.pool === undefined) {
        unmatched.push({ name: node.name, resources: extendedResources(node) });
      }
      continue;
    }
    if (shown.length === 0) continue;
    const units = [...new Map(shown.flatMap((pool) => poolUnits(pool).map((unit) => [key(unit), { pool, unit }] as const))).values()];
    // dra pools on one node hold different cards (whole ones, and cards in MIG mode): add them up.
    const cards = shown.every((p) => p.dra) ? shown.reduce((sum, p) => sum + poolNodeCards(p, node), 0) : poolNodeCards(shown[0]!, node);
    const onNode = podsByNode.get(node.name) ?? [];
    const perCard = !options.details ? undefined
      : shown.some((p) => p.backend.startsWith('ack-') && poolUnits(p).some((u) => u.resource === NATIVE.aliyunGpuMem)) ? ackCards(node, onNode, cards)
        : shown.some((p) => p.backend === 'hami') ? hamiCards(node, onNode) : undefined;
    nodeReports.push({
      name: node.name, pools: shown.map((p) => p.name), ready: node.ready, cards,
      usage: usageOn(units, [node], podsByNode), ...(perCard ? { perCard } : {}),
    });
  }

  return {
    revision: policy.revision, pools: poolReports, nodes: nodeReports, pending: pendingPods(livePods, options.pool), unmatched,
    totals: totalsOf(nodeReports),
  };
}

const round = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const percent = (u: { allocated: number; total: number }): string => (u.total > 0 ? ` (${Math.round((u.allocated / u.total) * 100)}%)` : '');
const usageText = (u: Usage): string => `${u.what} ${round(u.allocated)}/${round(u.total)}${u.unit === u.what ? '' : ` ${u.unit}`}${percent(u)}`;

/** Columns padded to their widest cell. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** What the webhook said of the invalid ConfigMap, and what that means for the report. */
function invalidPolicyLines({ configMap, errors, refusal }: InvalidPolicy): string[] {
  const said = refusal === undefined
    ? 'No InvalidPolicy Event of the webhook was found (Events expire after an hour, or you may not list them): it keeps the last good\n'
      + 'policy it loaded, if it loaded one; gpu_admission_policy_info{revision} and its log name it.'
    : refusal.kept === null ? `The webhook refused it (its InvalidPolicy Event, ${refusal.at}) and had no policy to keep: it is not ready.`
      : `The webhook refused it (its InvalidPolicy Event, ${refusal.at}) and keeps the last good policy, revision ${refusal.kept ?? '(not named)'}.`;
  return [`ConfigMap ${configMap} holds an invalid policy:`, ...errors.map((e) => `  ${e}`), said,
    'No object in the cluster holds the text of the policy in force, so the nodes are shown without pools,',
    'by their own resources. Fix the ConfigMap, or see the pools of a file with --policy FILE.'];
}

/** The report as text: pools, nodes, pending GPU pods, GPU nodes in no pool, the cluster total. */
export function formatInspect(report: InspectReport): string {
  if (report.invalidPolicy) return formatWithoutPolicy(report, report.invalidPolicy);
  const lines: string[] = [`Policy ${report.revision}`, ''];
  lines.push(...table([['POOL', 'BACKEND', 'NODES READY/TOTAL', 'CARDS', 'ALLOCATED/TOTAL'],
    ...report.pools.map((p) => [p.name + (p.disabled ? ' (disabled)' : ''), p.backend, `${p.nodes.ready}/${p.nodes.total}`, String(p.cards),
      p.usage.map(usageText).join(', ') || '-'])]));
  lines.push('', ...table([['NODE', 'POOL', 'READY', 'CARDS', 'ALLOCATED/TOTAL'],
    ...report.nodes.map((n) => [n.name, n.pools.join(','), n.ready ? 'yes' : 'no', String(n.cards), n.usage.map(usageText).join(', ') || '-'])]));
  // Cards one by one (-d), in columns of their own: node, card, allocation, pods.
  const cards = report.nodes.flatMap((n) => (n.perCard ?? []).map((c) => [`  ${n.name}`, `card ${c.index}`,
    `${round(c.allocated)}/${round(c.total)} ${c.unit}${percent(c)}`, c.pods.join(' ')]));
  if (cards.length > 0) lines.push('', ...table([['  NODE', 'CARD', 'ALLOCATED/TOTAL', 'PODS'], ...cards]));
  lines.push(...pendingLines(report));
  if (report.unmatched.length > 0) {
    lines.push('', 'NODES WITH GPUS IN NO POOL', ...report.unmatched.map((n) =>
      `  ${n.name}  ${Object.entries(n.resources).map(([k, v]) => `${k}: ${round(v)}`).join(', ')}`));
  }
  lines.push('', totalLine(report));
  return `${lines.join('\n')}\n`;
}

const pendingLines = (report: InspectReport): string[] => (report.pending.length === 0 ? []
  : ['', 'PENDING GPU PODS', ...report.pending.map((p) => `  ${p.namespace}/${p.name}  pools: ${p.pools.join(', ')}`)]);
const totalLine = (report: InspectReport): string => `Allocated/Total in cluster: ${report.totals.map(usageText).join(', ') || '-'}`;

/** The report of a cluster whose policy is invalid: why, then the GPU nodes by their own resources. */
function formatWithoutPolicy(report: InspectReport, invalid: InvalidPolicy): string {
  const lines = [...invalidPolicyLines(invalid), '', ...table([['NODE', 'READY', 'CARDS', 'ALLOCATED/TOTAL'],
    ...report.nodes.map((n) => [n.name, n.ready ? 'yes' : 'no', n.cards > 0 ? String(n.cards) : '-', n.usage.map(usageText).join(', ') || '-'])])];
  lines.push(...pendingLines(report), '', totalLine(report));
  return `${lines.join('\n')}\n`;
}
