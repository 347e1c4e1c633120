import { nodeGpuUnits } from '../policy/gke.ts';
import type { Policy, Pool } from '../policy/types.ts';
import { BACKEND_FACTS, isolationCovers, type Isolation } from '../vocabulary/backends.ts';
import { ACK_PLACEMENT_LABEL, ANNOTATION, KAI, KAI_SHARE_ANNOTATIONS, PREFIX, isReservedAnnotation } from '../vocabulary/names.ts';
import { isInteger, parseQuantity, toNumber, type Quantity } from '../vocabulary/quantity.ts';
import { confinedTo, readPlacement, type KnownNodes, type PodPlacement } from './constraints.ts';
import { nativeKind } from './dialect.ts';
import { jsonDiff } from './diff.ts';
import { editedContainers, editProblems, withoutEdits } from './edits.ts';
import { HAMI_WRITTEN } from './hami-choices.ts';
import { allowed, denied, notApplicable, patched, type Decision, type Route } from './decision.ts';
import { kaiIsolationReason, poolScheduler, schedulerToWrite } from './translate.ts';
import { isKaiKind, kaiAsked, kaiProblems, withKaiShare } from './kai.ts';
import {
  effectiveTotal, podContainers, readDemand, type ContainerDemand, type ContainerRole, type GpuRequest, type PodDemand,
} from './demand.ts';
import { readIntent, type Intent } from './intent.ts';
import { demandKey, hasKeys, isPlain, keptFor } from './plain.ts';
import { clampWarning, noPoolMessage } from './message.ts';
import { namespaceLimits, poolsInOrder, type NamespaceLimits } from './namespace.ts';
import { koordNativeIsolationReason, koordNativeShare, nativeCards, nativePoolReason, nativeSlices, nativeValueProblems, readGpuCount } from './natives.ts';
import type { Container, NamespaceFacts, Pod, PodSpec, ResourceList } from './pod.ts';
import { admissionReason, evaluatePool, kaiLabels, kaiMpsReason, migReason, overNodeUnits, plansApart, samePlan, type PodFacts, type PoolOutcome, type PoolPlan } from './pools.ts';
import { problem, type Problem } from './problem.ts';
import { readRecord, toRecorded, writeRecord, type DecisionRecord, type RecordedRequest, type RecordRead } from './record.ts';
import { forgetNodes, ownRequirements, preferNodes, recordedTerms, requireNodes, tolerateTaints } from './route.ts';
import { poolHasLabels, poolTerms } from '../policy/pool-nodes.ts';
import { describeRequirement } from '../vocabulary/node-selector.ts';

export interface DecideContext {
  readonly namespace: NamespaceFacts;
  readonly policy: Policy;
  /**
   * The labels of a node by name, where the webhook knows its nodes (--node-watch): how a pod
   * bound or pinned to a node is held to the pools of that node. Undefined: the node is unknown.
   */
  readonly nodeLabels?: (name: string) => Readonly<Record<string, string>> | undefined;
  /** Each pool's nodes, when known (the webhook's node cache): a pool none of whose nodes the pod's own constraints allow is ruled out. */
  readonly knownNodes?: KnownNodes;
}

type GpuContainer = ContainerDemand & { readonly request: GpuRequest };

/** What the engine learned of a pod before choosing: problems, or each pool's verdict. */
export type Analysis =
  | { readonly kind: 'problems'; readonly problems: readonly Problem[] }
  | { readonly kind: 'no-gpu'; readonly annotated: boolean }
  | {
    readonly kind: 'natives';
    /** The containers that ask native GPU resources. */
    readonly containers: readonly ContainerDemand[];
    /** Each pool, with why it cannot take them (undefined: it can). */
    readonly verdicts: readonly { readonly pool: Pool; readonly reason?: string }[];
    /** The pools the pod is routed to: those that take them, of the first one's scheduler. */
    readonly accepted: readonly Pool[];
    readonly intent: Intent;
    readonly record: RecordRead;
    readonly placement: PodPlacement;
  }
  | {
    readonly kind: 'pools';
    readonly gpuContainers: readonly GpuContainer[];
    readonly outcomes: readonly PoolOutcome[];
    readonly record: RecordRead;
    readonly placement: PodPlacement;
    /** The group the pod is routed to and what its decision writes, when already worked out (plain pods: once per demand). */
    readonly group?: readonly PoolPlan[];
    readonly written?: Written;
  };

/** Reads the pod and judges every pool; `decide` and `explain` both start here. */
export function analyse(pod: Pod, context: DecideContext): Analysis {
  return analyseRead(pod, context, 'every');
}

/**
 * `analyse`, with the demand of a plain pod already read (a plain pod has no record, edits or
 * chosen node to read it with). `judged`: every pool (`analyse`, which explain shows), or only
 * those that can still be in the chosen group (`decide`: see `judgeForGroup`).
 */
function analyseRead(pod: Pod, context: DecideContext, judged: 'every' | 'group', plainDemand?: PodDemand): Analysis {
  const { namespace, policy, knownNodes } = context;
  const annotations = pod.metadata?.annotations ?? {};
  const record = withinPolicy(readRecord(annotations), policy);
  const { intent, problems: intentProblems } = readIntent(annotations);
  const placement = readPlacement(pod, record);
  const nodeChosen = placement.pinned || placement.nodeName !== undefined;
  const edits = editedContainers(pod, record, policy);
  const demand = plainDemand ?? readDemand(pod, policy, record.kind === 'present' ? withoutEdits(record.requests, edits) : new Map(), nodeChosen);
  const kai = kaiAsked(annotations, record.kind === 'present' ? record.record.annotations : undefined);
  const asksKai = hasKeys(kai);
  const gpuContainers = demand.containers.filter((c): c is GpuContainer => c.request !== undefined);
  const unclaimed = gpuContainers.length === 0 && !demand.containers.some((c) => c.natives.length > 0) ? claimedKaiShare(annotations, record) : [];
  // In this order: the pod's reserved annotations, KAI's unclaimed share, its intent, edits, its requests, KAI's rules.
  const problems = reservedProblems(pod, annotations, record);
  // Appended one by one: a hostile pod's problems may be too many for push's arguments.
  for (const more of [unclaimed, intentProblems, editProblems(edits, demand.problems), demand.problems, asksKai ? kaiProblems(pod, kai) : []]) {
    for (const p of more) problems.push(p);
  }
  if (asksKai && gpuContainers.length > 0) problems.push(kaiMixed(kai, gpuContainers));
  if (problems.length > 0) return { kind: 'problems', problems: dedupe(problems) };
  const limits = namespaceLimits(policy, namespace);
  const pools = poolsInOrder(policy.pools, limits);
  if (gpuContainers.length === 0) {
    const containers = asksKai ? withKaiShare(demand.containers, pod, kai) : demand.containers;
    return analyseNatives(pod, containers, { intent, limits, record, placement, pools }, context);
  }
  if (placement.nodeName !== undefined) return { kind: 'problems', problems: [nodeAssigned(placement.nodeName)] };
  const facts = podFacts(namespace.name, intent, limits, policy, demand.containers, gpuContainers, placement, overheadCpu(pod.spec), authorLabels(pod, record, policy),
    knownNodes, annotations[KAI.mps] === 'true');
  const podProblems = checkPod(facts, policy);
  if (podProblems.length > 0) return { kind: 'problems', problems: podProblems };
  const outcomes = judged === 'every' ? pools.map((pool) => evaluatePool(pool, facts, policy)) : judgeForGroup(pools, facts, policy);
  return { kind: 'pools', gpuContainers, outcomes, record, placement };
}

/**
 * The pools judged for a decision: every one in order, except, once a pool gives the first
 * honoured plan (not a NUMA downgrade), the later pools whose plans can never be the same as that
 * one's (`plansApart`: another scheduler, resources of other names). The decision is the same as
 * with every pool judged: `chosenGroup` ranks the honoured plans first and takes the first of
 * them and the plans `samePlan` with it, so a pool apart from it is never in the group however it
 * is judged, and a pool before it, or every pool when none is honoured, is judged as before. The
 * verdicts of skipped pools are read only by a refusal (which has no plan, so skips none) and by
 * `analyse`, which judges every pool. A NUMA BestEffort pod's downgraded plans are judged on until
 * a pool honours it.
 */
function judgeForGroup(pools: readonly Pool[], facts: PodFacts, policy: Policy): PoolOutcome[] {
  const outcomes: PoolOutcome[] = [];
  let apart: ReadonlySet<Pool> | undefined;
  for (const pool of pools) {
    if (apart?.has(pool)) continue;
    const outcome = evaluatePool(pool, facts, policy);
    outcomes.push(outcome);
    // A plan has the pod's GPU containers, at least one here (analyse sends a pod of none to its natives).
    if (apart === undefined && outcome.ok && !outcome.plan.downgraded && facts.gpuContainers.length > 0) apart = poolsApart(pool, policy);
  }
  return outcomes;
}

const apartSets = new WeakMap<Pool, { readonly pools: readonly Pool[]; readonly apart: ReadonlySet<Pool> }>();

/** The policy's pools `plansApart` from `first`: a fact of the pools alone, worked out once per pool and policy's list of pools. */
function poolsApart(first: Pool, policy: Policy): ReadonlySet<Pool> {
  const kept = apartSets.get(first);
  if (kept !== undefined && kept.pools === policy.pools) return kept.apart;
  const apart = new Set(policy.pools.filter((pool) => plansApart(first, pool)));
  apartSets.set(first, { pools: policy.pools, apart });
  return apart;
}

/**
 * Decides what to do with a pod at creation: translate its generic GPU requests for the pools
 * that can serve it, or refuse it with every reason. Pure: the pod is not modified. The pod must
 * be JSON-shaped (as decoded from an AdmissionReview or a YAML file: no `undefined` values).
 */
export function decide(pod: Pod, context: DecideContext): Decision {
  // Read once: a plain pod that no kept demand answers (no generic request, a problem) goes on with it.
  const plain = isPlain(pod, context.policy) ? readDemand(pod, context.policy, NO_RECORDED, false) : undefined;
  const analysis = (plain && analysePlain(pod, plain, context)) ?? analyseRead(pod, context, 'group', plain);
  return decideAnalysed(pod, analysis, context.policy);
}

/** What every plain pod of one demand comes to in a namespace: its pools' outcomes and the group chosen, or its problems. */
type PlainChoice =
  | { readonly kind: 'problems'; readonly problems: readonly Problem[] }
  | { readonly kind: 'pools'; readonly outcomes: readonly PoolOutcome[]; readonly group: readonly PoolPlan[]; readonly written?: Written };

/** Frozen through: what every plain pod of a demand shares (its record goes to every caller) cannot be changed by one of them. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (Array.isArray(value)) {
      for (const v of value as unknown[]) deepFreeze(v);
    } else {
      // Plain JSON-shaped objects: no enumerable keys inherited, so for-in walks the own ones without a list of values.
      for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
    }
  }
  return value;
}

/** A plain choice as kept for every later pod of its demand: what reaches a caller (the refusal's problems, the record, warnings and routes) frozen. */
function shareable(choice: PlainChoice): PlainChoice {
  if (choice.kind === 'problems') deepFreeze(choice.problems);
  else if (choice.written) deepFreeze(choice.written);
  return choice;
}

const ABSENT: RecordRead = { kind: 'absent' };
const NO_RECORDED = new Map<string, GpuRequest>();
/** What readPlacement reads of a plain pod: no node constraints, no scheduler, no HAMi choice. */
const PLAIN_PLACEMENT: PodPlacement = readPlacement({ spec: { containers: [] } }, ABSENT);
const { intent: NO_INTENT } = readIntent({});

/**
 * `analyse` for a plain pod (plain.ts) of generic requests, its demand read: the same analysis,
 * with its pools judged once per demand and namespace rather than per pod. Undefined for a pod of
 * no generic request, and for one whose requests have problems: `analyse` judges those.
 */
function analysePlain(pod: Pod, demand: PodDemand, context: DecideContext): Analysis | undefined {
  const { policy, namespace } = context;
  if (demand.problems.length > 0) return undefined;
  const gpuContainers = demand.containers.filter((c): c is GpuContainer => c.request !== undefined);
  if (gpuContainers.length === 0) return undefined;
  const key = demandKey(namespace, policy, demand.containers, gpuContainers);
  if (key === undefined) return undefined;
  const choice = keptFor(policy, key, gpuContainers.length * policy.pools.length, (): PlainChoice => {
    const limits = namespaceLimits(policy, namespace);
    // Known nodes rule out only pools the pod's own node constraints exclude, and a plain pod has none.
    const facts = podFacts(namespace.name, NO_INTENT, limits, policy, demand.containers, gpuContainers, PLAIN_PLACEMENT, overheadCpu(pod.spec));
    const problems = checkPod(facts, policy);
    if (problems.length > 0) return { kind: 'problems', problems };
    const outcomes = judgeForGroup(poolsInOrder(policy.pools, limits), facts, policy);
    const group = chosenGroup(outcomes);
    // Of the outcomes only a refusal reads any (every pool's reason); a routed pod needs its group alone.
    if (group.length === 0) return { kind: 'pools', outcomes, group };
    return { kind: 'pools', outcomes: group.map((plan) => ({ ok: true, plan })), group, written: groupWritten(group, gpuContainers, PLAIN_PLACEMENT, policy) };
  }, shareable);
  if (choice.kind === 'problems') return choice;
  return { kind: 'pools', gpuContainers, outcomes: choice.outcomes, record: ABSENT, placement: PLAIN_PLACEMENT, group: choice.group,
    ...(choice.written ? { written: choice.written } : {}) };
}

/** The decision for a pod already analysed (`explain` shows the analysis, then this). */
export function decideAnalysed(pod: Pod, analysis: Analysis, policy: Policy): Decision {
  switch (analysis.kind) {
    case 'problems':
      return denied(analysis.problems);
    case 'no-gpu':
      return analysis.annotated ? allowed([clampWarning('gpu-admission.io annotations have no effect: the pod asks for no GPU')]) : notApplicable();
    case 'natives':
      return decideNatives(pod, analysis, policy);
    case 'pools': {
      const group = analysis.group ?? chosenGroup(analysis.outcomes);
      if (group.length > 0) return apply(pod, group, analysis, policy);
      const pools = ruledOut(analysis.outcomes);
      return denied([problem('no-pool', noPoolMessage(analysis.gpuContainers, pools))], pools);
    }
  }
}

/**
 * The pod's labels as its author wrote them: without the KAI labels (queue, node pool) that the
 * recorded decision's pool writes, where the pod still holds them. Read as the author's, the
 * queue an earlier decision wrote would be kept as the pod's own on reinvocation, and pools of
 * other queues would then join the route.
 */
function authorLabels(pod: Pod, record: RecordRead, policy: Policy): Readonly<Record<string, string>> | undefined {
  const labels = pod.metadata?.labels;
  if (!labels || record.kind !== 'present') return labels;
  const pool = policy.pools.find((p) => p.name === record.record.pools[0]);
  if (!pool) return labels;
  const ours = Object.entries(kaiLabels(pool, {})).filter(([k, v]) => labels[k] === v).map(([k]) => k);
  return ours.length === 0 ? labels : Object.fromEntries(Object.entries(labels).filter(([k]) => !ours.includes(k)));
}

/** A pod that asks gpu-admission.io resources and, with KAI's annotations, a KAI share besides. */
function kaiMixed(kai: Readonly<Record<string, string>>, containers: readonly GpuContainer[]): Problem {
  return problem('mixed-resources', `pod mixes gpu-admission.io requests (container${containers.length > 1 ? 's' : ''} `
    + `${containers.map((c) => `"${c.name}"`).join(', ')}) with KAI's share annotations (${Object.keys(kai).join(', ')}); use one or the other`);
}

/**
 * Problems with the same message once, the first of each in order (KAI's rules and the mix rule may
 * both see plain nvidia.com/gpu); through a set, as a tenant's pod may bring thousands of distinct ones.
 */
function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    if (seen.has(p.message)) return false;
    seen.add(p.message);
    return true;
  });
}

function ruledOut(outcomes: readonly PoolOutcome[]): { pool: string; reason: string }[] {
  return outcomes.flatMap((o) => (o.ok ? [] : [{ pool: o.pool.name, reason: o.reason }]));
}

/** Every pool that can serve the pod, not only the group a decision routes to. */
export function servingPools(analysis: Analysis): string[] {
  switch (analysis.kind) {
    case 'pools': return analysis.outcomes.flatMap((o) => (o.ok ? [o.plan.pool.name] : []));
    case 'natives': return analysis.verdicts.flatMap((v) => (v.reason === undefined ? [v.pool.name] : []));
    default: return [];
  }
}

/** The pools a decision routes to, among those that can serve (the first identical-translation group). */
export function chosenPools(outcomes: readonly PoolOutcome[]): string[] {
  return chosenGroup(outcomes).map((p) => p.pool.name);
}

function reservedProblems(pod: Pod, annotations: Readonly<Record<string, string>>, record: RecordRead): Problem[] {
  const forged = Object.keys(annotations).filter((k) => isReservedAnnotation(k) && k !== ANNOTATION.decision);
  const problems = forged.map((k) => problem('reserved-annotation', `annotation ${k} is written by the GPU scheduler or device plugin `
    + `when it places a pod; a copy of a placed pod must drop it (remove every ${reservedFamily(k)} annotation)`));
  if (record.kind === 'malformed') problems.push(problem('reserved-annotation', record.problem));
  if (record.kind === 'present') {
    const names = new Set(podContainers(pod).map(({ container }) => container.name));
    const strangers = [...record.requests.keys()].filter((name) => !names.has(name));
    if (strangers.length > 0) {
      problems.push(problem('reserved-annotation', `annotation ${ANNOTATION.decision} names containers the pod does not have `
        + `(${strangers.map((n) => `"${n}"`).join(', ')}); it may only be written by gpu-admission`));
    }
  }
  return problems;
}

/**
 * KAI share annotations that the pod's decision record claims as the webhook's, on a pod with no
 * request they could have been written for. The webhook writes gpu-fraction only beside a
 * recorded share, which a later decision translates again (and so takes back or rewrites); with
 * no request left, nothing would, and the pod would pass unchecked while KAI's scheduler and
 * binder still read the annotations, whoever wrote them (pkg/common/resources/gpu_sharing.go,
 * pkg/scheduler/api/pod_info/pod_info.go): a forged record hiding a share from the namespace's rules.
 */
function claimedKaiShare(annotations: Readonly<Record<string, string>>, record: RecordRead): Problem[] {
  if (record.kind !== 'present') return [];
  const written = record.record.annotations ?? {};
  const claimed = [KAI.fraction, KAI.memory, KAI.numDevices].filter((k) => annotations[k] !== undefined && written[k] === annotations[k]);
  if (claimed.length === 0) return [];
  return [problem('reserved-annotation', `annotation ${ANNOTATION.decision} says gpu-admission wrote ${claimed.join(', ')}, but no container `
    + `of the pod holds a GPU request it was written for; the decision annotation may only be written by gpu-admission (to ask KAI `
    + `directly, drop annotation ${ANNOTATION.decision})`)];
}

/** The family of reserved annotations a key belongs to, as the refusal names it. */
function reservedFamily(key: string): string {
  if (key.startsWith('hami.io/')) return 'hami.io/*';
  if (key.startsWith('volcano.sh/')) return 'volcano.sh/ vGPU allocation';
  if (key.startsWith('scheduling.koordinator.sh/')) return 'scheduling.koordinator.sh/device-allocated';
  return 'ALIYUN_COM_GPU_MEM_*';
}

const writable = new WeakMap<Policy, { keys: ReadonlySet<string>; schedulers: ReadonlySet<string> }>();

/**
 * An incoming decision record as far as this webhook can have written it. Nothing ties the
 * annotation to us (its author may forge it), and taking back what it names removes node
 * requirements and a scheduler from the pod: so only requirements on the label keys of the
 * policy's pool terms, and only a scheduler a pool writes, are ever taken back. What another
 * admission controller added on other keys stays (the record still cannot widen our own rules:
 * its requests are re-checked, and its nodes are never added).
 */
function withinPolicy(read: RecordRead, policy: Policy): RecordRead {
  if (read.kind !== 'present') return read;
  let ours = writable.get(policy);
  if (!ours) {
    // The backends' own labels and schedulers count too: a pod decided under an earlier policy
    // whose pools are gone still has what they added taken back.
    const backends = Object.values(BACKEND_FACTS);
    ours = {
      keys: new Set([
        ...policy.pools.flatMap((p) => poolTerms(p).flat().map((r) => r.key)), ACK_PLACEMENT_LABEL,
        ...backends.flatMap((b) => [b.modeLabel?.key ?? [], 'nodeLabel' in b.model ? b.model.nodeLabel : []].flat()),
      ]),
      schedulers: new Set([...policy.pools.flatMap((p) => schedulerToWrite(p) ?? []), ...backends.flatMap((b) => b.scheduler ?? [])]),
    };
    writable.set(policy, ours);
  }
  const { keys, schedulers } = ours;
  const { nodes, scheduler, ...rest } = read.record;
  const kept = nodes?.map((term) => term.filter((text) => keys.has(text.split(' ', 1)[0] ?? '')));
  return {
    ...read,
    record: {
      ...rest,
      ...(kept ? { nodes: kept } : {}),
      ...(scheduler !== undefined && schedulers.has(scheduler) ? { scheduler } : {}),
    },
  };
}

/**
 * A pod without generic requests. Native requests (`aliyun.com/gpu-mem: 8`) are not rewritten,
 * but they are held to their backend's values and to the namespace's rules (its GPU limit, its
 * pools, its isolation), and each pool says whether it takes them.
 */
function analyseNatives(
  pod: Pod, containers: readonly ContainerDemand[],
  { intent, limits, record, placement, pools }: { intent: Intent; limits: NamespaceLimits; record: RecordRead; placement: PodPlacement; pools: readonly Pool[] },
  { policy, namespace: ns, nodeLabels, knownNodes }: DecideContext,
): Analysis {
  const native = containers.filter((c) => c.natives.length > 0);
  if (native.length === 0) return { kind: 'no-gpu', annotated: intent.any };
  const gpuCount = readGpuCount(pod.metadata?.labels);
  if (typeof gpuCount !== 'number') return { kind: 'problems', problems: [gpuCount] };
  const valueProblems = nativeValueProblems(native, gpuCount, policy);
  if (valueProblems.length > 0) return { kind: 'problems', problems: valueProblems };
  const cards = nativeCards(containers, gpuCount);
  const facts: PodFacts = {
    namespace: ns.name, intent, limits, isolation: requiredIsolation(intent, limits, policy), placement, gpuContainers: [],
    requested: cards.requested, cpus: 0,
    privileged: containers.filter((c) => c.privileged).map((c) => c.name),
    gpuRoles: new Set(native.map((c) => c.role)),
    ...(knownNodes ? { knownNodes } : {}),
    gpuApps: native.filter((c) => c.role === 'app').length,
    gpuContainerCount: native.length,
    nativeKoordShare: koordNativeShare(native),
  };
  const podProblems = checkPod(facts, policy);
  if (podProblems.length > 0) return { kind: 'problems', problems: podProblems };
  // Whether each pool takes these resources at all, whatever this pod may use (a bound pod's node may be in any of them).
  const takes = new Map(pools.map((pool) => [pool, nativePoolReason(pool, native, gpuCount)]));
  const mps = pod.metadata?.annotations?.[KAI.mps] === 'true';
  const fraction = native.some((c) => c.natives.some((n) => n.kind === 'kai-fraction' || n.kind === 'kai-memory'));
  const verdicts = pools.map((pool) => {
    // Cards on one node; MIG pools hold more slices than cards: the pod's slices of each profile, against a node's.
    const reason = takes.get(pool) ?? admissionReason(pool, facts) ?? kaiShareReason(pool, native, facts.isolation)
      ?? koordNativeIsolationReason(pool, native, facts.isolation, placement.isolationProvider)
      ?? kaiMpsReason(pool, mps, fraction)
      ?? (pool.mig ? migReason(pool, nativeSlices(pool, containers))
        : cards.onNode > nodeGpuUnits(pool) ? overNodeUnits(pool, cards.onNode) : undefined);
    return reason === undefined ? { pool } : { pool, reason };
  });
  const serving = verdicts.filter((v) => v.reason === undefined).map((v) => v.pool);
  const chosen = chosenNodes(placement);
  if (chosen.length > 0 && serving.length > 0) {
    const takers = pools.filter((pool) => takes.get(pool) === undefined);
    const bound = boundPools(chosen, takers, verdicts, nodeLabels);
    if ('problem' in bound) return { kind: 'problems', problems: [bound.problem] };
    return { kind: 'natives', containers: native, verdicts, accepted: bound.pools, intent, record, placement };
  }
  // Pools whose pods need another scheduler (HAMi) cannot share one pod spec with the rest:
  // route to the first scheduler's pools, in pool order, as generic requests are grouped.
  // Nor can pools whose KAI labels differ (queue, node pool): a pod joins one queue, and one
  // scheduling shard, as generic requests are grouped by identical plans.
  const own = authorLabels(pod, record, policy);
  const first = serving[0] as Pool | undefined;
  const scheduler = first && schedulerToWrite(first);
  const labels = first && JSON.stringify(kaiLabels(first, own));
  const accepted = serving.filter((p) => schedulerToWrite(p) === scheduler && JSON.stringify(kaiLabels(p, own)) === labels);
  return { kind: 'natives', containers: native, verdicts, accepted, intent, record, placement };
}

/** A KAI share asked natively gives the isolation of the pool's share: none, or memory with HAMi-core. */
function kaiShareReason(pool: Pool, native: readonly ContainerDemand[], needed: Isolation): string | undefined {
  const share = native.some((c) => c.natives.some((n) => isKaiKind(n.kind)));
  return share && pool.backend === 'kai' ? kaiIsolationReason(pool, needed) : undefined;
}

/** The nodes a pod is bound (spec.nodeName) or pinned (matchFields metadata.name In, in every term) to; empty when the scheduler chooses. */
function chosenNodes(placement: PodPlacement): readonly string[] {
  return placement.nodeName !== undefined ? [placement.nodeName] : placement.pinnedNodes;
}

/**
 * The pools a pod bound or pinned to nodes lands in. Its node is chosen, so it is not routed; but
 * it may land only on a node of a pool it may use. When every pool that takes its resources is one
 * it may use, any node will do. Otherwise each named node must be known (--node-watch) and be in
 * one of them: a team limited to pool a100 does not get an H100 node by naming it.
 */
function boundPools(
  nodes: readonly string[], takers: readonly Pool[], verdicts: readonly { readonly pool: Pool; readonly reason?: string }[],
  nodeLabels: DecideContext['nodeLabels'],
): { pools: Pool[] } | { problem: Problem } {
  const reasonOf = new Map(verdicts.map((v) => [v.pool, v.reason]));
  const usable = (p: Pool): boolean => reasonOf.get(p) === undefined;
  const barred = takers.filter((p) => !usable(p));
  if (barred.length === 0) return { pools: takers.filter(usable) };
  const what = nodes.length === 1 ? `node "${nodes[0]}"` : `nodes ${nodes.map((n) => `"${n}"`).join(', ')}`;
  const field = `the pod is bound to ${what} (spec.nodeName or matchFields metadata.name)`;
  const barredText = barred.map((p) => `${p.name} (${reasonOf.get(p) ?? ''})`).join(', ');
  const pools = new Set<Pool>();
  for (const node of nodes) {
    const labels = nodeLabels?.(node);
    if (labels === undefined) {
      return {
        problem: problem('node-assigned', `${field}, and pools that take the same GPU resources are not for this pod: ${barredText}; `
          + `gpu-admission does not know node "${node}"${nodeLabels ? ' (it is not a GPU node it watches)' : ' (it runs without --node-watch)'}, `
          + 'so it cannot tell which pool the node is in: leave the node unset and let gpu-admission route the pod'),
      };
    }
    const own = takers.filter((p) => poolHasLabels(p, labels));
    const ok = own.filter(usable);
    if (ok.length === 0) {
      const where = own.length > 0 ? `is in pool ${own.map((p) => `${p.name} (${reasonOf.get(p) ?? ''})`).join(', ')}`
        : 'is in no pool that takes these GPU resources';
      return { problem: problem('node-assigned', `${field}: node "${node}" ${where}; leave the node unset and let gpu-admission route the pod`) };
    }
    for (const p of ok) pools.add(p);
  }
  return { pools: takers.filter((p) => pools.has(p)) };
}

/** Routes a pod of native requests to the pools that take them, or refuses it with each pool's reason. */
function decideNatives(
  pod: Pod, { containers: native, verdicts, accepted, intent, record, placement }: Extract<Analysis, { kind: 'natives' }>, policy: Policy,
): Decision {
  if (accepted.length === 0) {
    const reasons = verdicts.map((v) => ({ pool: v.pool.name, reason: v.reason ?? '' }));
    return denied([problem('no-pool', noPoolMessage(native, reasons))], reasons);
  }
  if (placement.nodeName !== undefined) return boundNatives(accepted, placement.nodeName);
  const mutated = copyForRewrite(pod, new Map());
  const kai = kaiLabels(accepted[0] as Pool, authorLabels(pod, record, policy));
  if (Object.keys(kai).length > 0) mutated.metadata = { ...mutated.metadata, labels: { ...mutated.metadata?.labels, ...kai } };
  // A DaemonSet's pod keeps its scheduler: the node is chosen, and may be in any of these pools.
  const scheduler = placement.pinned || placement.scheduler !== undefined ? undefined : schedulerToWrite(accepted[0] as Pool);
  if (scheduler) mutated.spec.schedulerName = scheduler;
  const kaiMemory = native.some((c) => c.natives.some((n) => n.kind === 'kai-memory'));
  const warnings = [
    ...(intent.numa ? [`${ANNOTATION.numa} has no effect on native GPU requests; ask with gpu-admission.io/gpu`] : []),
    // KAI places gpu-memory only on nodes whose card memory GPU feature discovery labels (KAI#706).
    ...(kaiMemory ? ['ask gpu-admission.io/gpu-memory instead: KAI places gpu-memory only on nodes labelled nvidia.com/gpu.memory'] : []),
    ...(intent.rdma ? [`${ANNOTATION.rdma}: routed to RDMA pools; native requests get no RDMA resource added`] : []),
  ];
  const decision: DecisionRecord = {
    pools: accepted.map((p) => p.name), backend: (accepted[0] as Pool).backend, revision: policy.revision, containers: {},
    ...(scheduler ? { scheduler } : {}),
  };
  return route(pod, mutated, accepted, written(accepted, decision, placement, warnings), { record, placement });
}

/**
 * A pod created with spec.nodeName never meets a scheduler: no pool can be chosen for it, and
 * a backend whose scheduler allocates the card (ACK's shared modes, HAMi) cannot serve it.
 */
function nodeAssigned(node: string): Problem {
  return problem('node-assigned', `spec.nodeName is set (node "${node}"), so no scheduler places this pod and gpu-admission `
    + 'cannot choose a pool for it; leave nodeName unset, or ask the node\'s own device-plugin GPU resources natively');
}

/** The scheduler a pool's cards need to be allocated at all: its own, or (dra) kube-scheduler, which makes the ResourceClaim. */
const allocatedBy = (p: Pool): string | undefined => poolScheduler(p) ?? (p.backend === 'dra' ? 'kube-scheduler, which makes the ResourceClaim' : undefined);

function boundNatives(accepted: readonly Pool[], node: string): Decision {
  const free = accepted.filter((p) => allocatedBy(p) === undefined);
  if (free.length > 0) return allowed([`spec.nodeName is set: native GPU resources are left as written and the pod is not routed`]);
  const needs = [...new Set(accepted.map((p) => `${p.backend} (${allocatedBy(p) ?? ''})`))].join(', ');
  return denied([problem('node-assigned', `spec.nodeName is set (node "${node}"): the cards of ${needs} are allocated by a `
    + 'scheduler that never sees this pod, so leave nodeName unset')]);
}

function podFacts(
  namespace: string, intent: Intent, limits: NamespaceLimits, policy: Policy,
  all: readonly ContainerDemand[], gpuContainers: readonly GpuContainer[], placement: PodPlacement, overhead: number,
  labels?: Readonly<Record<string, string>>, knownNodes?: KnownNodes, kaiMps = false,
): PodFacts {
  const isolation = requiredIsolation(intent, limits, policy);
  const cpus = overhead + effectiveTotal(all, (c) => (c.cpu.limit ?? c.cpu.request ? toNumber((c.cpu.limit ?? c.cpu.request) as Quantity) : 0));
  const cpuProblem = intent.numa ? guaranteedCpuProblem(all, overhead) : undefined;
  let privileged: string[] | undefined;
  for (const c of all) if (c.privileged) (privileged ??= []).push(c.name);
  const requested = effectiveTotal(gpuContainers, (c) => c.request?.gpu ?? 0);
  let roles = 0;
  let gpuApps = 0;
  for (const c of gpuContainers) {
    roles |= ROLE_BIT[c.role];
    if (c.role === 'app') gpuApps += 1;
  }
  const facts: { -readonly [K in keyof PodFacts]: PodFacts[K] } = {
    namespace, intent, limits, isolation, placement, gpuContainers, requested, cpus, privileged: privileged ?? NO_NAMES,
    gpuRoles: ROLE_SETS[roles] as ReadonlySet<ContainerRole>, gpuApps, gpuContainerCount: gpuContainers.length,
  };
  if (cpuProblem) facts.cpuProblem = cpuProblem;
  if (labels) facts.labels = labels;
  if (knownNodes) facts.knownNodes = knownNodes;
  if (kaiMps) facts.kaiMps = true;
  return facts;
}

const NO_NAMES: readonly string[] = Object.freeze([]);
const ROLE_BIT: Readonly<Record<ContainerRole, number>> = { app: 1, init: 2, sidecar: 4 };
/** Each set of roles the GPU containers of a pod can have, by ROLE_BIT mask: made once, shared by every pod (read only). */
const ROLE_SETS: readonly ReadonlySet<ContainerRole>[] = Array.from({ length: 8 },
  (_, mask) => new Set((['app', 'init', 'sidecar'] as const).filter((role) => (mask & ROLE_BIT[role]) !== 0)));

/**
 * The isolation a pod needs: its annotation, else the policy default; a namespace rule is a
 * floor the pod can raise but never lower.
 */
function requiredIsolation(intent: Intent, limits: NamespaceLimits, policy: Policy): Isolation {
  const asked = intent.isolation ?? policy.defaults.isolation;
  return limits.isolation && !isolationCovers(asked, limits.isolation) ? limits.isolation : asked;
}

/**
 * The pod's CPU overhead (spec.overhead, set from its RuntimeClass by the API server's admission
 * before webhooks run): Kubernetes adds it to the pod's requests (component-helpers PodRequests),
 * and so does koordinator's NodeNUMAResource. An unreadable value counts 0 (the API server checks it).
 */
function overheadCpu(spec: PodSpec): number {
  const overhead = spec.overhead as Record<string, unknown> | undefined;
  const cpu = overhead?.cpu;
  const q = typeof cpu === 'string' || typeof cpu === 'number' ? parseQuantity(cpu) : undefined;
  return q === undefined || typeof q === 'string' ? 0 : toNumber(q);
}

/**
 * ACK's NUMA topology-aware scheduling: "The CPU requests for all containers in the application
 * Pod must be integers (unit: cores), and the requests must be equal to the limits" (app
 * containers; a container that asks no CPU asks 0); and its scheduler (koordinator's
 * NodeNUMAResource) binds the pod's effective CPU request, which must be whole as well, init
 * containers and sidecars counted as Kubernetes counts them, and the pod's overhead added.
 */
function guaranteedCpuProblem(containers: readonly ContainerDemand[], overhead: number): string | undefined {
  for (const c of containers.filter((x) => x.role === 'app')) {
    const { limit } = c.cpu;
    const request = c.cpu.request ?? limit; // the API server copies a lone limit into the request
    if (!request && !limit) continue;
    if (!request || !limit || request.num !== limit.num || request.den !== limit.den || !isInteger(limit)) {
      const has = `requests ${request?.text ?? 'none'}, limits ${limit?.text ?? 'none'}`;
      return `NUMA binding needs whole CPUs with requests equal to limits in every container (container "${c.name}" has ${has})`;
    }
  }
  const total = overhead + effectiveTotal(containers, (c) => {
    const request = c.cpu.request ?? c.cpu.limit;
    return request ? toNumber(request) : 0;
  });
  if (!Number.isInteger(Math.round(total * 1000) / 1000)) {
    const counted = overhead > 0 ? `init containers, sidecars and the pod's overhead (spec.overhead cpu ${overhead}, from its RuntimeClass)` : 'init containers and sidecars';
    return `NUMA binding binds whole CPUs; the pod's CPU request, ${counted} counted, is ${Math.round(total * 1000) / 1000}`;
  }
  return undefined;
}

function checkPod(facts: PodFacts, policy: Policy): Problem[] {
  const problems: Problem[] = [];
  const unknown = (facts.intent.pools ?? []).filter((name) => !policy.pools.some((p) => p.name === name));
  if (unknown.length > 0) {
    problems.push(problem('invalid-request', `annotation ${ANNOTATION.pools}: no pool named ${unknown.map((n) => `"${n}"`).join(', ')}`));
  }
  const max = facts.limits.maxGpusPerPod;
  const total = facts.requested;
  if (max !== undefined && total > max) {
    problems.push(problem('namespace-limit', `pod asks ${total} GPUs, namespace ${facts.namespace} allows at most ${max} per pod`));
  }
  // ACK binds whole CPUs for NUMA; Koordinator aligns any CPU request, so its NUMA pools judge the pod themselves.
  if (facts.cpuProblem && facts.intent.numa && facts.intent.numa !== 'BestEffort' && !policy.pools.some((p) => p.backend === 'koordinator' && p.numa !== undefined)) {
    problems.push(problem('numa-cpu', `${ANNOTATION.numa}: ${facts.intent.numa}: ${facts.cpuProblem}`));
  }
  return problems;
}

/**
 * Pools with identical translations form a group; the first group in pool order wins (NUMA
 * honoured first). Empty when no pool can serve.
 */
function chosenGroup(outcomes: readonly PoolOutcome[]): PoolPlan[] {
  let first: PoolPlan | undefined;
  for (const o of outcomes) {
    if (o.ok && (first === undefined || (first.downgraded && !o.plan.downgraded))) first = o.plan;
  }
  const group: PoolPlan[] = [];
  if (first === undefined) return group;
  // The honoured plans when there are any, else the downgraded ones: the first of them and those the same.
  for (const o of outcomes) {
    if (o.ok && o.plan.downgraded === first.downgraded && (o.plan === first || samePlan(o.plan, first))) group.push(o.plan);
  }
  return group;
}

function apply(pod: Pod, group: readonly PoolPlan[], analysis: Extract<Analysis, { kind: 'pools' }>, policy: Policy): Decision {
  const { record, placement } = analysis;
  const plan = group[0] as PoolPlan;
  const pools = group.map((p) => p.pool);
  if (placement.pinned && !confinedTo(pools, placement)) return denied([pinnedProblem(pools)]);
  const mutated = copyForRewrite(pod, plan.containers);
  rewriteResources(mutated, plan, policy);
  const meta = (mutated.metadata ??= {});
  setLabels(meta, plan.labels);
  // route() writes a new list of annotations in any case: this one only when the plan adds some.
  if (hasKeys(plan.annotations)) meta.annotations = { ...meta.annotations, ...plan.annotations };
  if (plan.schedulerName) mutated.spec.schedulerName = plan.schedulerName;
  return route(pod, mutated, pools, analysis.written ?? groupWritten(group, analysis.gpuContainers, placement, policy), { record, placement });
}

/** What a decision for this group writes besides the rewrite itself: its record, warnings and routes. */
function groupWritten(group: readonly PoolPlan[], containers: readonly GpuContainer[], placement: PodPlacement, policy: Policy): Written {
  const plan = group[0] as PoolPlan;
  const pools = group.map((p) => p.pool);
  const decision: DecisionRecord = {
    pools: pools.length === 1 ? namesOf(plan.pool) : pools.map((p) => p.name),
    backend: plan.pool.backend,
    revision: policy.revision,
    containers: recordedContainers(containers, plan),
    // Only a scheduler this decision set is ours to take back; one the pod named itself is the pod's.
    ...(plan.schedulerName && placement.scheduler === undefined ? { scheduler: plan.schedulerName } : {}),
    ...writtenAnnotations(plan.annotations),
  };
  const notes: string[] = [];
  for (const p of group) for (const w of p.warnings) notes.push(w);
  return written(pools, decision, placement, notes);
}

const poolNames = new WeakMap<Pool, readonly string[]>();

/** The pools of a decision routed to one pool: one frozen list per pool, which every record of it shares (and writeRecord the text of). */
function namesOf(pool: Pool): readonly string[] {
  let names = poolNames.get(pool);
  if (!names) poolNames.set(pool, (names = Object.freeze([pool.name])));
  return names;
}

/** Each GPU container's request as the record keeps it, by name, with the resources the plan writes for it. */
function recordedContainers(containers: readonly GpuContainer[], plan: PoolPlan): Record<string, RecordedRequest> {
  const recorded: Record<string, RecordedRequest> = {};
  for (const c of containers) {
    const value = toRecorded(c.request, plan.containers.get(c.name)?.resources);
    // A container named __proto__ is a key like any other (as Object.fromEntries made it), not the object's prototype.
    if (c.name === '__proto__') Object.defineProperty(recorded, c.name, { value, enumerable: true, writable: true, configurable: true });
    else recorded[c.name] = value;
  }
  return recorded;
}

/**
 * A DaemonSet's pod is made for one node (matchFields metadata.name): the pool cannot be chosen
 * per pod, so the DaemonSet itself must keep to nodes that the chosen pools serve.
 */
function pinnedProblem(pools: readonly Pool[]): Problem {
  const labels = pools.flatMap(poolTerms).map((t) => t.filter((r) => r.key !== ACK_PLACEMENT_LABEL).map(describeRequirement).join(', '));
  return problem('node-assigned', 'the pod is made for one node (a DaemonSet pod), so its pool cannot be chosen here; give the '
    + `DaemonSet's pod template a nodeSelector that keeps it on pool ${pools.map((p) => p.name).join(' or ')} (${labels.join(' or ')}); `
    + 'the DaemonSet controller replaces its node affinity on each pod');
}

/**
 * The routing every decision shares: the decision annotation, required and preferred node
 * affinity to the pools (taking back an earlier decision's pools first), tolerations; then the
 * diff against the pod as it came.
 */
function route(pod: Pod, mutated: Pod, pools: readonly Pool[], out: Written, { record, placement }: { record: RecordRead; placement: PodPlacement }): Decision {
  if (record.kind === 'present') takeBack(mutated, record.record, out.record);
  const meta = (mutated.metadata ??= {});
  meta.annotations = { ...meta.annotations, [ANNOTATION.decision]: out.text };
  if (!placement.pinned) {
    requireNodes(mutated.spec, pools);
    preferNodes(mutated.spec, pools);
    tolerateTaints(mutated.spec, pools);
  }
  const patch = jsonDiff(pod, mutated);
  if (patch.length === 0) return allowed(record.kind === 'present' ? [] : out.warnings);
  return patched(patch, out.warnings, out.record, out.routes, mutated);
}

/** What a decision writes besides the pod's rewrite: the record and its text, the warnings, the routes. Read-only: a plain pod's is shared. */
interface Written {
  readonly record: DecisionRecord;
  readonly text: string;
  readonly warnings: readonly string[];
  readonly routes: readonly Route[];
}

function written(pools: readonly Pool[], decision: DecisionRecord, placement: PodPlacement, notes: readonly string[]): Written {
  // A pod made for one node (a DaemonSet's) keeps its own node terms and tolerations: they already hold it to these pools.
  const nodes = placement.pinned ? [] : recordedTerms(pools);
  const own = ownRequirements(nodes, placement.terms);
  const record: DecisionRecord = { ...decision, nodes, ...(own.length > 0 ? { own } : {}) };
  const warnings = notes.length === 0 ? [] : [...new Set(notes)].map(clampWarning);
  return { record, text: writeRecord(record), warnings, routes: pools.map((p) => ({ pool: p.name, backend: p.backend })) };
}

/**
 * Before routing a pod that already carries a decision (reinvocation, a copied pod), take back
 * what that decision added: its node terms, and its scheduler and HAMi annotations unless this
 * decision sets them.
 */
function takeBack(mutated: Pod, earlier: DecisionRecord, now: DecisionRecord): void {
  if (JSON.stringify(earlier.nodes) !== JSON.stringify(now.nodes)) forgetNodes(mutated.spec, earlier.nodes ?? [], earlier.own);
  if (earlier.scheduler && !now.scheduler && mutated.spec.schedulerName === earlier.scheduler) delete mutated.spec.schedulerName;
  const annotations = mutated.metadata?.annotations;
  const stale = Object.entries(earlier.annotations ?? {}).filter(([k, v]) => now.annotations?.[k] === undefined && annotations?.[k] === v);
  if (annotations && stale.length > 0) {
    (mutated.metadata ??= {}).annotations = Object.fromEntries(Object.entries(annotations).filter(([k]) => !stale.some(([s]) => s === k)));
  }
}

const WRITTEN_ANNOTATIONS: readonly string[] = [...HAMI_WRITTEN, ...KAI_SHARE_ANNOTATIONS];

/** The HAMi and KAI annotations a plan writes, for the record: a later decision takes them back, and never reads them as the author's. */
function writtenAnnotations(annotations: Readonly<Record<string, string>>): { annotations?: Record<string, string> } {
  let ours: Record<string, string> | undefined;
  for (const k of WRITTEN_ANNOTATIONS) {
    const value = annotations[k];
    if (value !== undefined) (ours ??= {})[k] = value; // keys of our own vocabulary: none is __proto__
  }
  return ours ? { annotations: ours } : {};
}

function setLabels(meta: NonNullable<Pod['metadata']>, labels: Readonly<Record<string, string | null>>): void {
  for (const key in labels) {
    const value = labels[key] as string | null;
    if (value !== null) meta.labels = { ...meta.labels, [key]: value };
    else if (meta.labels && key in meta.labels) {
      const { [key]: _removed, ...rest } = meta.labels;
      meta.labels = rest;
    }
  }
}

/**
 * A copy of the pod that shares every subtree the rewrite never touches, so that both the copy
 * and the diff (jsonDiff, which skips identical references) cost what the change costs,
 * not what the pod weighs. Touched: the GPU containers' resource lists, metadata labels and
 * annotations, spec.affinity, spec.tolerations and spec.schedulerName.
 */
function copyForRewrite(pod: Pod, translated: ReadonlyMap<string, unknown>): Pod {
  const copyContainer = (c: Container): Container => {
    if (!translated.has(c.name)) return c;
    const resources = { ...c.resources };
    if (resources.limits) resources.limits = { ...resources.limits };
    if (resources.requests) resources.requests = { ...resources.requests };
    return { ...c, resources };
  };
  const spec: PodSpec = { ...pod.spec, containers: pod.spec.containers.map(copyContainer) };
  if (pod.spec.initContainers) spec.initContainers = pod.spec.initContainers.map(copyContainer);
  if (pod.spec.affinity) spec.affinity = JSON.parse(JSON.stringify(pod.spec.affinity)) as PodSpec['affinity'];
  // A new list (tolerateTaints appends new entries); the entries themselves are never changed, so shared.
  if (pod.spec.tolerations) spec.tolerations = [...pod.spec.tolerations];
  return { ...pod, metadata: { ...pod.metadata }, spec };
}

const SIDES = ['limits', 'requests'] as const;

function rewriteResources(pod: Pod, plan: PoolPlan, policy: Policy): void {
  // The pod's RDMA devices go to its first app container that asks GPUs.
  const rdmaHolder = plan.rdma ? pod.spec.containers.find((c) => plan.containers.has(c.name)) : undefined;
  const rewrite = (container: Container): void => {
    const t = plan.containers.get(container.name);
    if (!t) return;
    const resources = (container.resources ??= {});
    for (const side of SIDES) {
      // A new list rather than deletes from the copy (which would turn it into a slow dictionary).
      const before = resources[side] ?? {};
      const list: ResourceList = {};
      // for-in walks the same keys as Object.keys: a list parsed from JSON (or a copy of one) inherits none.
      for (const name in before) {
        if (!name.startsWith(PREFIX) && nativeKind(name, policy) === undefined) list[name] = before[name] as ResourceList[string];
      }
      resources[side] = list;
      for (const name in t.resources) list[name] = String(t.resources[name]);
      if (plan.rdma && container === rdmaHolder) list[plan.rdma.resource] = String(plan.rdma.perPod);
    }
  };
  // In Kubernetes' start order (init containers first), as podContainers lists them.
  if (pod.spec.initContainers) for (const c of pod.spec.initContainers) rewrite(c);
  for (const c of pod.spec.containers) rewrite(c);
}

