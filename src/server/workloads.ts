// The workload webhooks: templates checked where the author acts (`kubectl apply` of a
// Deployment, a PyTorchJob, …), audit mode, and the vocabulary refused outside opted-in
// namespaces. None of them ever changes an object: GitOps tools must see no drift, and pods are
// still rewritten by POST /mutate when they are created.
import { MAX_MESSAGE_CHARS, allow, refuse } from '../admission/encode.ts';
import type { AdmissionRequest } from '../admission/types.ts';
import { at, reviewedPods, type ReviewedPod } from '../admission/workload.ts';
import { analyse, decideAnalysed, servingPools } from '../engine/decide.ts';
import { podContainers, resourceNames } from '../engine/demand.ts';
import type { Decision } from '../engine/decision.ts';
import type { Container, Pod } from '../engine/pod.ts';
import { WARNING_LIMIT, clampWarning } from '../engine/message.ts';
import { KUEUE_QUEUE_LABEL, NAMESPACE_OPT_IN, PREFIX } from '../vocabulary/names.ts';
import { UnavailableError } from './errors.ts';
import { namespaceLabels, type MutateDeps } from './mutate.ts';
import type { ReviewHandler, ReviewOutcome } from './review.ts';

const UNCHANGED: ReviewOutcome = { verdict: allow(), result: 'unchanged' };

interface Decided {
  readonly path: string;
  readonly pod: Pod;
  readonly decision: Decision;
  /** Every pool that could serve the template (Kueue's flavor may pick any of them). */
  readonly serving: readonly string[];
}

/**
 * Decides each pod of the review as POST /mutate would decide it when created, with the same
 * policy and namespace labels. A reason not to decide (no policy yet, labels unknown) comes
 * back as a string: these webhooks never refuse for their own trouble.
 */
function decideEach(deps: MutateDeps, request: AdmissionRequest, pods: readonly ReviewedPod[]): { decided: Decided[]; revision: string } | string {
  const policy = deps.policySource.current();
  if (!policy) return `gpu-admission has no valid policy yet (${deps.policySource.notReadyReason() ?? 'not loaded'})`;
  const name = request.namespace ?? '';
  let labels: Readonly<Record<string, string>>;
  try {
    labels = namespaceLabels(deps.namespaceSource, name, policy);
  } catch (err) {
    if (err instanceof UnavailableError) return err.message;
    throw err;
  }
  const knownNodes = deps.poolNodes?.summary(policy);
  const context = { namespace: { name, labels }, policy, ...(knownNodes ? { knownNodes } : {}) };
  const decided = pods.map(({ path, pod }) => {
    const analysis = analyse(pod, context);
    return { path, pod, decision: decideAnalysed(pod, analysis, policy), serving: servingPools(analysis) };
  });
  return { decided, revision: policy.revision };
}

const notChecked = (why: string): ReviewOutcome =>
  ({ verdict: allow(undefined, [`gpu-admission did not check this object: ${why}; its pods are checked when they are created`]), result: 'unchanged' });

/**
 * POST /validate-workloads: a workload whose template no pool can serve is refused with the
 * template's path in front of the engine's message; otherwise allowed with the engine's
 * warnings, each with its path. Never mutated.
 */
export function validateWorkloadsHandler(deps: MutateDeps): ReviewHandler {
  return (request, log) => {
    const pods = reviewedPods(request);
    if (pods === undefined || pods.length === 0 || pods[0]?.path === '') return UNCHANGED;
    const result = decideEach(deps, request, pods);
    if (typeof result === 'string') return notChecked(result);
    const queue = kueueQueue(request.object);
    const warnings = result.decided.flatMap(({ path, decision, serving }) => {
      if (decision.kind !== 'allow' && decision.kind !== 'patch') return [];
      // Queued by Kueue and not admitted yet: the route, and its warnings, follow the flavor Kueue picks.
      if (queue !== undefined && request.operation === 'CREATE' && serving.length > 0) return [flavorWarning(path, queue, serving)];
      return decision.warnings.map((w) => at(path, w));
    });
    const refusals = result.decided.flatMap(({ path, decision }) => (decision.kind === 'deny' ? [{ path, message: decision.message, code: decision.code }] : []));
    if (refusals.length > 0) {
      const message = refusals.map(({ path, message: m }) => at(path, m)).join('; ');
      const reason = refusals[0]!.code;
      if (queue !== undefined && request.operation === 'UPDATE') {
        // Kueue admitting the workload writes its flavor into the template. Refused, the workload
        // would stay suspended and its quota held, the reason in no object: let it through, and
        // each pod is refused when created, with this reason in the workload's events (FailedCreate).
        log.logger.info({ refused: message.slice(0, MAX_MESSAGE_CHARS), queue }, 'Kueue admission let through: its pods will be refused');
        const note = clampWarning(`${refusals[0]!.path}: no pool serves this template on Kueue's flavor: its pods will be refused (see its events)`);
        return { verdict: allow(undefined, [...warnings, note]), result: 'unchanged', reason, revision: result.revision };
      }
      return { verdict: refuse(403, message, 'Forbidden', warnings.length > 0 ? warnings : undefined), result: 'denied', reason, revision: result.revision };
    }
    return { verdict: allow(undefined, warnings.length > 0 ? warnings : undefined), result: 'unchanged', revision: result.revision };
  };
}

/** The Kueue queue a workload waits in (its queue-name label), if it has one. */
function kueueQueue(object: unknown): string | undefined {
  const labels = (object as { metadata?: { labels?: Record<string, unknown> } } | undefined)?.metadata?.labels;
  const queue = labels?.[KUEUE_QUEUE_LABEL];
  return typeof queue === 'string' && queue !== '' ? queue : undefined;
}

/** What depends on Kueue's flavor, for a queued workload at creation. */
function flavorWarning(path: string, queue: string, serving: readonly string[]): string {
  return clampWarning(at(path, `queued in Kueue (${queue}): its pool follows the flavor Kueue admits it to, of ${serving.join(', ')}`));
}

/**
 * POST /audit (namespaces labelled gpu-admission.io/enabled=audit): pods and workloads pass
 * untouched; the warnings say what the webhook would have done, and the result is counted as
 * audit-patched or audit-denied.
 */
export function auditHandler(deps: MutateDeps): ReviewHandler {
  return (request, log) => {
    const pods = reviewedPods(request);
    if (pods === undefined || pods.length === 0) return UNCHANGED;
    const result = decideEach(deps, request, pods);
    if (typeof result === 'string') return notChecked(result);
    const lines = result.decided.flatMap(({ path, pod, decision }) => wouldDo(path, pod, decision));
    const denied = result.decided.some(({ decision }) => decision.kind === 'deny');
    const patched = result.decided.some(({ decision }) => decision.kind === 'patch');
    if (!denied && !patched && lines.length === 0) return { ...UNCHANGED, revision: result.revision };
    log.logger.info({ audit: lines }, 'audit: what gpu-admission would have done');
    return {
      verdict: allow(undefined, lines),
      result: denied ? 'audit-denied' : patched ? 'audit-patched' : 'unchanged',
      revision: result.revision,
    };
  };
}

/**
 * The audit warnings of one decision: where it would route the pod and as what, or why it would
 * refuse it; one warning per container or per pool's reason, so that none is cut at the 120
 * characters Kubernetes asks warnings to keep to. A line that would pass them with the template's
 * path in front is split after its head (`would warn:`, `would refuse:`, `would route to …`), the
 * rest on a line of its own: the engine writes each of its texts to fit alone.
 */
function wouldDo(path: string, pod: Pod, decision: Decision): string[] {
  const pending = genericAsks(pod).length > 0
    ? headed(path, 'stays Pending here:', `no node has gpu-admission.io/* (label the namespace ${NAMESPACE_OPT_IN.key}=${NAMESPACE_OPT_IN.value} to translate)`)
    : [];
  const warnings = (ws: readonly string[]): string[] => ws.flatMap((w) => headed(path, 'would warn:', w));
  switch (decision.kind) {
    case 'not-applicable':
      return [];
    case 'allow':
      return [...warnings(decision.warnings), ...pending];
    case 'deny': {
      // Each problem, `container "x" asks …: pool a: why; pool b: why`, as a head line and one line
      // per pool (a reason may itself hold "; ": only a pool's name starts a line).
      const lines = decision.problems.flatMap((p) => {
        const [first = '', ...rest] = p.message.split(/(?:; |: )(?=pool [a-z0-9-]+: )/);
        return [...headed(path, 'would refuse:', `${first}${rest.length > 0 ? ':' : ''}`), ...rest.map((part) => under(path, part))];
      });
      return [...lines, ...pending];
    }
    case 'patch': {
      const pools = decision.record.pools.join(', ');
      const changes = written(pod, decision.pod);
      const route = changes.length === 1
        ? headed(path, `would route to ${pools}`, `as ${changes[0]!.entries.join(', ')}`)
        : [clampWarning(at(path, `would route to ${pools}${changes.length === 0 ? ' (node placement only)' : ':'}`)),
          ...changes.map(({ name, entries }) => under(path, `container ${name}: ${entries.join(', ')}`))];
      return [...route, ...warnings(decision.warnings), ...pending];
    }
  }
}

/** `path: head text` as one warning when it fits, else the head and the text indented under it. */
function headed(path: string, head: string, text: string): string[] {
  const whole = at(path, `${head} ${text}`);
  return whole.length <= WARNING_LIMIT ? [whole] : [clampWarning(at(path, head)), indented(text)];
}

/** A line under a head: with the path in front when it fits (grep finds the template's lines), else without. */
function under(path: string, text: string): string {
  const whole = at(path, `  ${text}`);
  return whole.length <= WARNING_LIMIT ? whole : indented(text);
}

const indented = (text: string): string => clampWarning(text.length + 2 <= WARNING_LIMIT ? `  ${text}` : text);

/** The resources the rewrite writes, per container that changes (`aliyun.com/gpu-mem: 12`). */
function written(before: Pod, after: Pod): { name: string; entries: string[] }[] {
  const all = (p: Pod): Container[] => podContainers(p).map(({ container }) => container);
  const old = new Map(all(before).map((c) => [c.name, { ...c.resources?.requests, ...c.resources?.limits }]));
  return all(after).flatMap((c) => {
    const was = old.get(c.name) ?? {};
    const now = { ...c.resources?.requests, ...c.resources?.limits };
    const entries = Object.entries(now).filter(([k, v]) => String(was[k]) !== String(v)).map(([k, v]) => `${k}: ${v}`);
    return entries.length > 0 ? [{ name: c.name, entries }] : [];
  });
}

/**
 * POST /validate-not-opted-in (every namespace that is not opted in): a pod or workload that asks
 * the portable vocabulary would wait Pending forever (no node has gpu-admission.io/*
 * resources), so it is refused with the fix. Needs no policy.
 */
export function notOptedInHandler(): ReviewHandler {
  return (request) => {
    const pods = reviewedPods(request);
    if (pods === undefined) return UNCHANGED;
    const asks = pods.flatMap(({ path, pod }) => genericAsks(pod).map((what) => at(path, what)));
    if (asks.length === 0) return UNCHANGED;
    const namespace = request.namespace ?? '';
    const message = `namespace ${namespace} is not opted in to gpu-admission: label it `
      + `${NAMESPACE_OPT_IN.key}=${NAMESPACE_OPT_IN.value}, or ask your platform team (${asks.join('; ')}; no node has these resources)`;
    return { verdict: refuse(403, message, 'Forbidden'), result: 'denied', reason: 'not-opted-in' };
  };
}

/** `container "train" asks gpu-admission.io/gpu-memory` for each container that asks the vocabulary. */
function genericAsks(pod: Pod): string[] {
  return podContainers(pod).flatMap(({ container: c }) => {
    const keys = resourceNames(c.resources ?? {}).filter((k) => k.startsWith(PREFIX)).sort();
    return keys.length > 0 ? [`container "${c.name}" asks ${keys.join(', ')}`] : [];
  });
}

