import fjp from 'fast-json-patch';
import type { Isolation, Policy, Pool } from '../policy/types.ts';
import { allowed, denied, notApplicable, patched, type Decision } from './decision.ts';
import { BACKEND_SPECS, isolationCovers } from './backends.ts';
import {
  effectiveTotal, isNativeGpuResource, podContainers, readDemand, type ContainerDemand, type GpuRequest,
} from './demand.ts';
import { readIntent, type Intent } from './intent.ts';
import { clampWarning, noPoolMessage } from './message.ts';
import { namespaceLimits, type NamespaceLimits } from './namespace.ts';
import { nativeCards, nativePoolReason } from './natives.ts';
import type { Container, NamespaceFacts, Pod, PodSpec } from './pod.ts';
import { admissionReason, evaluatePool, type PodFacts, type PoolOutcome, type PoolPlan } from './pools.ts';
import { problem, type Problem } from './problem.ts';
import { isInteger, type Quantity } from './quantity.ts';
import { readRecord, toRecorded, writeRecord, type DecisionRecord, type RecordRead } from './record.ts';
import { forgetNodes, preferNodes, recordedTerms, requireNodes, tolerateTaints } from './route.ts';
import { ACK_GPU_COUNT_LABEL, ANNOTATION, NATIVE, isReservedAnnotation } from './vocabulary.ts';

export interface DecideContext {
  readonly namespace: NamespaceFacts;
  readonly policy: Policy;
}

type GpuContainer = ContainerDemand & { readonly request: GpuRequest };

/** What the engine learned of a pod before choosing: problems, or each pool's verdict. */
export type Analysis =
  | { readonly kind: 'problems'; readonly problems: readonly Problem[] }
  | {
    readonly kind: 'no-generic';
    readonly containers: readonly ContainerDemand[];
    readonly intent: Intent;
    readonly limits: NamespaceLimits;
    readonly record: RecordRead;
  }
  | {
    readonly kind: 'pools';
    readonly gpuContainers: readonly GpuContainer[];
    readonly outcomes: readonly PoolOutcome[];
    readonly record: RecordRead;
  };

/** Reads the pod and judges every pool; `decide` and `explain` both start here. */
export function analyse(pod: Pod, { namespace, policy }: DecideContext): Analysis {
  const annotations = pod.metadata?.annotations ?? {};
  const record = readRecord(annotations);
  const { intent, problems: intentProblems } = readIntent(annotations);
  const demand = readDemand(pod, policy, record.kind === 'present' ? record.requests : new Map());
  const problems = [...reservedProblems(pod, annotations, record), ...intentProblems, ...demand.problems];
  if (problems.length > 0) return { kind: 'problems', problems };
  const limits = namespaceLimits(policy, namespace);
  const gpuContainers = demand.containers.filter((c): c is GpuContainer => c.request !== undefined);
  if (gpuContainers.length === 0) return { kind: 'no-generic', containers: demand.containers, intent, limits, record };
  const facts = podFacts(namespace.name, intent, limits, policy, demand.containers, gpuContainers);
  const podProblems = checkPod(facts, policy);
  if (podProblems.length > 0) return { kind: 'problems', problems: podProblems };
  return { kind: 'pools', gpuContainers, outcomes: policy.pools.map((pool) => evaluatePool(pool, facts, policy)), record };
}

/**
 * Decides what to do with a pod at creation: translate its generic GPU requests for the pools
 * that can serve it, or refuse it with every reason. Pure: the pod is not modified. The pod must
 * be JSON-shaped (as decoded from an AdmissionReview or a YAML file: no `undefined` values).
 */
export function decide(pod: Pod, context: DecideContext): Decision {
  const analysis = analyse(pod, context);
  switch (analysis.kind) {
    case 'problems':
      return denied(analysis.problems);
    case 'no-generic':
      return decideWithoutGeneric(pod, analysis, context);
    case 'pools': {
      const plans = analysis.outcomes.flatMap((o) => (o.ok ? [o.plan] : []));
      if (plans.length > 0) return apply(pod, chooseGroup(plans), analysis.gpuContainers, context.policy, analysis.record);
      const pools = ruledOut(analysis.outcomes);
      return denied([problem('no-pool', noPoolMessage(analysis.gpuContainers, pools))], pools);
    }
  }
}

export function ruledOut(outcomes: readonly PoolOutcome[]): { pool: string; reason: string }[] {
  return outcomes.flatMap((o) => (o.ok ? [] : [{ pool: o.pool.name, reason: o.reason }]));
}

/** The pools a decision routes to, among those that can serve (the first identical-translation group). */
export function chosenPools(outcomes: readonly PoolOutcome[]): string[] {
  const plans = outcomes.flatMap((o) => (o.ok ? [o.plan] : []));
  return plans.length > 0 ? chooseGroup(plans).map((p) => p.pool.name) : [];
}

function reservedProblems(pod: Pod, annotations: Readonly<Record<string, string>>, record: RecordRead): Problem[] {
  const forged = Object.keys(annotations).filter((k) => isReservedAnnotation(k) && k !== ANNOTATION.decision);
  const problems = forged.map((k) => problem('reserved-annotation',
    `annotation ${k} may only be written by the GPU scheduler or device plugin`));
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
 * A pod without generic requests. Native requests (`aliyun.com/gpu-mem: 8`) are not rewritten,
 * but the namespace's rules hold for them too: its GPU limit, its pools, its isolation; the pod
 * is routed to the pools that take its resources, or refused with each pool's reason.
 */
function decideWithoutGeneric(
  pod: Pod, { containers, intent, limits, record }: Extract<Analysis, { kind: 'no-generic' }>, { policy, namespace: ns }: DecideContext,
): Decision {
  const native = containers.filter((c) => c.natives.length > 0);
  if (native.length === 0) {
    return intent.any ? allowed([clampWarning('gpu-admission.io annotations have no effect: the pod asks for no GPU')]) : notApplicable();
  }
  const label = Number(pod.metadata?.labels?.[ACK_GPU_COUNT_LABEL] ?? '1');
  const gpuCount = Number.isInteger(label) && label > 0 ? label : 1;
  const cards = nativeCards(containers, policy, gpuCount);
  const facts: PodFacts = {
    namespace: ns.name, intent, limits, isolation: requiredIsolation(intent, limits, policy), gpuContainers: [],
    gpus: cards.onNode, requested: cards.requested, cpus: 0,
    privileged: containers.filter((c) => c.privileged).map((c) => c.name),
  };
  const podProblems = checkPod(facts, policy);
  if (podProblems.length > 0) return denied(podProblems);
  const verdicts = policy.pools.map((pool) => ({ pool, reason: admissionReason(pool, facts) ?? nativePoolReason(pool, native, gpuCount) }));
  const serving = verdicts.filter((v) => v.reason === undefined).map((v) => v.pool);
  // Pools whose pods need another scheduler (HAMi) cannot share one pod spec with the rest:
  // route to the first scheduler's pools, in pool order, as generic requests are grouped.
  const schedulerOf = (p: Pool): string | undefined => p.schedulerName ?? BACKEND_SPECS[p.backend].schedulerName;
  const accepted = serving.filter((p) => schedulerOf(p) === schedulerOf(serving[0] as Pool));
  if (accepted.length === 0) {
    const reasons = verdicts.map((v) => ({ pool: v.pool.name, reason: v.reason ?? '' }));
    return denied([problem('no-pool', noPoolMessage(native, reasons))], reasons);
  }
  const mutated = copyForRewrite(pod, new Map());
  const scheduler = schedulerOf(accepted[0] as Pool);
  if (scheduler) mutated.spec.schedulerName = scheduler;
  const warnings = [
    ...(intent.numa ? [`${ANNOTATION.numa} has no effect on native GPU requests; ask with gpu-admission.io/gpu`] : []),
    ...(intent.rdma ? [`${ANNOTATION.rdma}: routed to RDMA pools; native requests get no RDMA resource added`] : []),
  ];
  const decision: DecisionRecord = {
    pools: accepted.map((p) => p.name), backend: (accepted[0] as Pool).backend, revision: policy.revision, containers: {},
    ...(scheduler ? { scheduler } : {}),
  };
  return route(pod, mutated, accepted, decision, record, policy, warnings);
}

function podFacts(
  namespace: string, intent: Intent, limits: NamespaceLimits, policy: Policy,
  all: readonly ContainerDemand[], gpuContainers: readonly GpuContainer[],
): PodFacts {
  const isolation = requiredIsolation(intent, limits, policy);
  const cpus = effectiveTotal(all, (c) => (c.cpu.limit ?? c.cpu.request ? toNumber((c.cpu.limit ?? c.cpu.request) as Quantity) : 0));
  const cpuProblem = intent.numa ? guaranteedCpuProblem(all) : undefined;
  const privileged = all.filter((c) => c.privileged).map((c) => c.name);
  const requested = effectiveTotal(gpuContainers, (c) => c.request?.gpu ?? 0);
  return { namespace, intent, limits, isolation, gpuContainers, gpus: 0, requested, cpus, privileged, ...(cpuProblem ? { cpuProblem } : {}) };
}

/**
 * The isolation a pod needs: its annotation, else the policy default; a namespace rule is a
 * floor the pod can raise but never lower.
 */
export function requiredIsolation(intent: Intent, limits: NamespaceLimits, policy: Policy): Isolation {
  const asked = intent.isolation ?? policy.defaults.isolation;
  return limits.isolation && !isolationCovers(asked, limits.isolation) ? limits.isolation : asked;
}

const toNumber = (q: Quantity): number => Number(q.num) / Number(q.den);

/** ACK's NUMA binding needs every container's CPU request to be a whole number equal to its limit. */
function guaranteedCpuProblem(containers: readonly ContainerDemand[]): string | undefined {
  for (const c of containers) {
    const { request, limit } = c.cpu;
    const value = limit ?? request;
    if (!value || !isInteger(value) || (request && limit && (request.num !== limit.num || request.den !== limit.den))) {
      return `NUMA binding needs whole CPUs with requests equal to limits (container "${c.name}" has ${value?.text ?? 'none'})`;
    }
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
  if (facts.cpuProblem && facts.intent.numa && facts.intent.numa !== 'BestEffort') {
    problems.push(problem('numa-cpu', `${ANNOTATION.numa}: ${facts.intent.numa}: ${facts.cpuProblem}`));
  }
  return problems;
}

/** Pools with identical translations form a group; the first group in pool order wins (NUMA honoured first). */
function chooseGroup(plans: readonly PoolPlan[]): PoolPlan[] {
  const honoured = plans.filter((p) => !p.downgraded);
  const ranked = honoured.length > 0 ? honoured : plans;
  const first = ranked[0] as PoolPlan;
  return ranked.filter((p) => p.key === first.key);
}

function apply(pod: Pod, group: PoolPlan[], containers: readonly GpuContainer[], policy: Policy, record: RecordRead): Decision {
  const plan = group[0] as PoolPlan;
  const pools = group.map((p) => p.pool);
  const decision: DecisionRecord = {
    pools: pools.map((p) => p.name),
    backend: plan.pool.backend,
    revision: policy.revision,
    containers: Object.fromEntries(containers.map((c) => [c.name, toRecorded(c.request)])),
    ...(plan.schedulerName ? { scheduler: plan.schedulerName } : {}),
  };
  const mutated = copyForRewrite(pod, plan.containers);
  rewriteResources(mutated, plan, policy);
  const meta = (mutated.metadata ??= {});
  setLabels(meta, plan.labels);
  meta.annotations = { ...meta.annotations, ...plan.annotations };
  if (plan.schedulerName) mutated.spec.schedulerName = plan.schedulerName;
  return route(pod, mutated, pools, decision, record, policy, group.flatMap((p) => p.warnings));
}

/**
 * The routing every decision shares: the decision annotation, required and preferred node
 * affinity to the pools (taking back an earlier decision's pools first), tolerations; then the
 * diff against the pod as it came.
 */
function route(
  pod: Pod, mutated: Pod, pools: readonly Pool[], decision: DecisionRecord, record: RecordRead, policy: Policy, notes: readonly string[],
): Decision {
  const full: DecisionRecord = { ...decision, nodes: recordedTerms(pools) };
  if (record.kind === 'present') takeBack(mutated, record.record, full);
  const meta = (mutated.metadata ??= {});
  meta.annotations = { ...meta.annotations, [ANNOTATION.decision]: writeRecord(full) };
  requireNodes(mutated.spec, pools);
  preferNodes(mutated.spec, pools);
  tolerateTaints(mutated.spec, pools);
  const patch = fjp.compare(pod, mutated);
  const reinvoked = record.kind === 'present';
  if (reinvoked && record.record.revision === policy.revision && alteredResources(patch)) {
    return denied([problem('reserved-annotation',
      `annotation ${ANNOTATION.decision} does not match the pod's GPU resources; it may only be written by gpu-admission`)]);
  }
  const warnings = [...new Set(notes)].map(clampWarning);
  if (patch.length === 0) return allowed(reinvoked ? [] : warnings);
  return patched(patch, warnings, full, pools.map((p) => ({ pool: p.name, backend: p.backend })), mutated);
}

/**
 * Before routing a pod that already carries a decision (reinvocation, a copied pod), take back
 * what that decision added: its node terms, and its scheduler unless this decision sets one.
 */
function takeBack(mutated: Pod, earlier: DecisionRecord, now: DecisionRecord): void {
  if (JSON.stringify(earlier.nodes) !== JSON.stringify(now.nodes)) forgetNodes(mutated.spec, earlier.nodes ?? []);
  if (earlier.scheduler && !now.scheduler && mutated.spec.schedulerName === earlier.scheduler) delete mutated.spec.schedulerName;
}

/** A patch that changes container resources of a pod that already carries our decision means the record was forged. */
function alteredResources(patch: readonly fjp.Operation[]): boolean {
  return patch.some((op) => /^\/spec\/(init)?[cC]ontainers\/\d+\/resources/.test(op.path));
}

function setLabels(meta: NonNullable<Pod['metadata']>, labels: Readonly<Record<string, string | null>>): void {
  for (const [key, value] of Object.entries(labels)) {
    if (value !== null) meta.labels = { ...meta.labels, [key]: value };
    else if (meta.labels && key in meta.labels) {
      const { [key]: _removed, ...rest } = meta.labels;
      meta.labels = rest;
    }
  }
}

/**
 * A copy of the pod that shares every subtree the rewrite never touches, so that both the copy
 * and fast-json-patch's compare (which skips identical references) cost what the change costs,
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
  if (pod.spec.tolerations) spec.tolerations = pod.spec.tolerations.map((t) => ({ ...t }));
  return { ...pod, metadata: { ...pod.metadata }, spec };
}

function rewriteResources(pod: Pod, plan: PoolPlan, policy: Policy): void {
  for (const { container, role } of podContainers(pod)) {
    const t = plan.containers.get(container.name);
    if (!t) continue;
    const resources = (container.resources ??= {});
    for (const side of ['limits', 'requests'] as const) {
      const list = (resources[side] ??= {});
      for (const name of Object.keys(list)) {
        if (name.startsWith('gpu-admission.io/') || name === NATIVE.nvidiaGpu || isNativeGpuResource(name, policy)) delete list[name];
      }
      for (const [name, value] of Object.entries(t.resources)) list[name] = String(value);
      if (plan.rdmaResource && role !== 'init') list[plan.rdmaResource] = '1';
    }
  }
}

