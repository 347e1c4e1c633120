import { decodePod, isPodReview } from '../admission/decode.ts';
import { allow, refuse } from '../admission/encode.ts';
import { decide } from '../engine/decide.ts';
import type { Decision } from '../engine/decision.ts';
import type { NamespaceSource, PolicySource } from '../policy/source.ts';
import type { Policy } from '../policy/types.ts';
import { UnavailableError } from './errors.ts';
import { noReadyNodeWarning, type PoolNodeView } from './pool-nodes.ts';
import type { ReviewHandler, ReviewOutcome } from './review.ts';

export interface MutateDeps {
  readonly policySource: PolicySource;
  readonly namespaceSource: NamespaceSource;
  /** The pools' nodes, for the no-Ready-node warning; none: no such warning. */
  readonly poolNodes?: PoolNodeView;
}

const UNCHANGED: ReviewOutcome = { verdict: allow(), result: 'unchanged' };

/**
 * POST /mutate: Pods on CREATE go to the engine; every other kind, subresource or operation is
 * allowed unchanged. Dry runs are decided like real requests: deciding has no side effects.
 */
export function mutateHandler(deps: MutateDeps): ReviewHandler {
  return (request, log) => {
    if (!isPodReview(request) || request.operation !== 'CREATE') return UNCHANGED;
    const pod = decodePod(request);
    const policy = deps.policySource.current();
    if (!policy) {
      throw new UnavailableError('GA_NO_POLICY', `gpu-admission has no valid policy yet: ${deps.policySource.notReadyReason() ?? 'not loaded'}`);
    }
    const name = request.namespace || pod.metadata?.namespace || '';
    const knownNodes = deps.poolNodes?.summary(policy);
    const decided = decide(pod, {
      namespace: { name, labels: namespaceLabels(deps.namespaceSource, name, policy) }, policy,
      ...(deps.poolNodes ? { nodeLabels: deps.poolNodes.labels } : {}), ...(knownNodes ? { knownNodes } : {}),
    });
    // Still admitted when its pools have no Ready node (an autoscaler may add one), but told so.
    const noNode = decided.kind === 'patch' ? noReadyNodeWarning(decided.record.pools, knownNodes) : undefined;
    const decision = noNode && decided.kind === 'patch' ? { ...decided, warnings: [...decided.warnings, noNode] } : decided;
    if (decision.kind === 'patch' && log.enabled('debug')) log.logger.debug({ patch: decision.patch }, 'patch');
    return { ...outcomeOf(decision), revision: policy.revision };
  };
}

/**
 * The namespace's labels. Only namespace rules with a label selector read them, so an unknown
 * namespace (just created, the watch not there yet) matters only then: refuse to guess, since
 * guessing "no labels" could skip a rule that restricts the namespace.
 */
export function namespaceLabels(source: NamespaceSource, name: string, policy: Policy): Readonly<Record<string, string>> {
  const labels = source.labels(name);
  if (labels !== undefined) return labels;
  if (!policy.namespaces.some((rule) => rule.selector !== undefined)) return {};
  throw new UnavailableError('GA_NAMESPACE_UNKNOWN', `the labels of namespace "${name}" are not known (not watched yet, `
    + 'or --namespace-labels none) and the policy selects namespaces by label');
}

export function outcomeOf(decision: Decision): ReviewOutcome {
  switch (decision.kind) {
    case 'not-applicable':
      return UNCHANGED;
    case 'allow':
      return { verdict: allow(undefined, decision.warnings), result: 'unchanged' };
    case 'patch':
      return {
        verdict: allow(decision.patch, decision.warnings),
        result: 'patched',
        routed: decision.routes,
      };
    case 'deny':
      return { verdict: refuse(403, decision.message, 'Forbidden'), result: 'denied', reason: decision.code };
  }
}

