// A tenant limited to some pools must not reach another pool's nodes by what the pod says about
// its node (spec.nodeName, matchFields metadata.name, ORed terms), nor strip what another
// admission controller added by forging the decision annotation. Each case failed before the
// fix of issue #24 (docs/reliability.md, "Bypasses").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decide, type DecideContext } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { applied, podWith } from '../helpers/pods.ts';
import { reachablePools } from '../helpers/namespace-rules.ts';
import { RULES_ALLOWED, RULES_NAMESPACE, RULES_NODES, RULES_POLICY, ruleCases } from '../fuzz/rules.ts';

const policy = parsePolicyOrThrow(RULES_POLICY);
const nodes = RULES_NODES;
const teamA: DecideContext = { policy, namespace: { name: 'team-a', labels: {} } };
const watched: DecideContext = { ...teamA, nodeLabels: (name) => nodes[name] };
const open: DecideContext = { policy, namespace: { name: 'team-b', labels: {} } };

const native = (spec: Record<string, unknown>, annotations: Record<string, string> = {}): Pod =>
  podWith([{ name: 'm', limits: { 'nvidia.com/gpu': '8' } }], annotations, { spec });
const required = (...terms: Record<string, unknown>[]): Record<string, unknown> =>
  ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
const byName = (operator: string, ...values: string[]) => ({ matchFields: [{ key: 'metadata.name', operator, values }] });

function deniedWith(pod: Pod, context: DecideContext, ...texts: string[]): void {
  const d = decide(pod, context);
  assert.equal(d.kind, 'deny', JSON.stringify(d));
  if (d.kind === 'deny') for (const text of texts) assert.ok(d.message.includes(text), `"${text}" not in: ${d.message}`);
}

/** The answer keeps the pod to the namespace's pools: allowed answers only, checked on the pod as admitted. */
function staysInAllowedPools(pod: Pod, context: DecideContext): Pod {
  const d = decide(pod, context);
  assert.ok(d.kind === 'patch' || d.kind === 'allow', JSON.stringify(d));
  const out = d.kind === 'patch' ? applied(pod, d) : pod;
  assert.deepEqual([...reachablePools(out, policy, nodes)], ['a100'], JSON.stringify(out.spec));
  return out;
}

describe('tenant bypass: a bound or pinned pod keeps to the namespace pools', () => {
  it('when spec.nodeName names an H100 node and the webhook does not know the node, then the pod is refused with the reason', () => {
    deniedWith(native({ nodeName: 'h100-node-1' }), teamA, 'node "h100-node-1"', 'h100 (not allowed in namespace team-a)', 'without --node-watch');
  });

  it('when spec.nodeName names an H100 node the webhook watches, then it is refused: the node is in pool h100', () => {
    deniedWith(native({ nodeName: 'h100-node-1' }), watched, 'node "h100-node-1" is in pool h100 (not allowed in namespace team-a)');
  });

  it('when spec.nodeName names a node of the allowed pool the webhook watches, then it is allowed as written', () => {
    const d = decide(native({ nodeName: 'a100-node-1' }), watched);
    assert.equal(d.kind, 'allow');
  });

  it('when spec.nodeName names a node in no pool, then it is refused', () => {
    deniedWith(native({ nodeName: 'cpu-node-1' }), watched, 'node "cpu-node-1" is in no pool that takes these GPU resources');
  });

  it('when every pool that takes the resource is allowed (namespace without rules), then spec.nodeName passes untouched as before', () => {
    assert.equal(decide(native({ nodeName: 'h100-node-1' }), open).kind, 'allow');
  });

  it('when matchFields pins the pod to an H100 node, then it is refused, and with the node known too', () => {
    deniedWith(native(required(byName('In', 'h100-node-1'))), teamA, 'h100 (not allowed in namespace team-a)');
    deniedWith(native(required(byName('In', 'h100-node-1'))), watched, 'node "h100-node-1" is in pool h100');
  });

  it('when matchFields pins the pod to an A100 node the webhook knows, then it is allowed and the record names pool a100', () => {
    const d = decide(native(required(byName('In', 'a100-node-1'))), watched);
    assert.equal(d.kind, 'patch');
    if (d.kind === 'patch') assert.deepEqual(d.record.pools, ['a100']);
  });

  it('when matchFields pins by NotIn (every other node), then the pod is routed to the allowed pool', () => {
    staysInAllowedPools(native(required(byName('NotIn', 'x'))), teamA);
  });

  it('when a pinning term is ORed with an open term, then every term is held to the allowed pool', () => {
    const out = staysInAllowedPools(native(required(byName('In', 'no-such-node'), { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] })), teamA);
    const terms = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.equal(terms.length, 2);
    assert.ok(terms.every((t) => t.matchExpressions?.some((e) => e.key === 'pool' && e.values?.join() === 'a100')));
  });
});

describe('tenant bypass: a forged decision record takes back only what gpu-admission can have written', () => {
  const tenant = { key: 'tenant', operator: 'In', values: ['team-a'] };
  const forged = (extra: Record<string, unknown> = {}): Record<string, string> => ({
    'gpu-admission.io/decision': JSON.stringify({ pools: ['a100'], backend: 'nvidia-exclusive', revision: 'x', containers: {}, nodes: [['tenant In team-a']], ...extra }),
  });
  const withTenant = (extra: Record<string, unknown> = {}): Pod => podWith([{ name: 'm', limits: { 'nvidia.com/gpu': '1' } }], forged(extra), {
    spec: {
      affinity: { nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [tenant] }] },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [tenant] } }],
      } },
    },
  });

  it('when the record names a requirement on a key no pool uses, then it stays in the required and preferred terms', () => {
    const out = staysInAllowedPools(withTenant(), teamA);
    const affinity = out.spec.affinity?.nodeAffinity;
    assert.ok(affinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.every((t) => t.matchExpressions?.some((e) => e.key === 'tenant')));
    assert.deepEqual(affinity?.preferredDuringSchedulingIgnoredDuringExecution, [{ weight: 10, preference: { matchExpressions: [tenant] } }]);
  });

  it('when the record names a scheduler no pool writes, then the pod keeps its schedulerName', () => {
    const pod = withTenant({ scheduler: 'secure-scheduler' });
    pod.spec.schedulerName = 'secure-scheduler';
    const out = staysInAllowedPools(pod, teamA);
    assert.equal(out.spec.schedulerName, 'secure-scheduler');
  });
});

describe('tenant bypass: whatever the pod says, an admitted pod can only land on its namespace pools', () => {
  const rulesPolicy = policy;
  for (const [name, nodeLabels] of [['without --node-watch', undefined], ['with the nodes known', (n: string) => RULES_NODES[n]]] as const) {
    it(`when pods mix nodeName, nodeSelector, matchFields, ORed terms, a scheduler and forged records (${name}), then every allowed answer keeps them to pool a100`, () => {
      const context: DecideContext = { policy: rulesPolicy, namespace: { name: RULES_NAMESPACE, labels: {} }, ...(nodeLabels ? { nodeLabels } : {}) };
      const outcomes: Record<string, number> = {};
      fc.assert(fc.property(ruleCases, (pod) => {
        const d = decide(pod, context);
        outcomes[d.kind] = (outcomes[d.kind] ?? 0) + 1;
        if (d.kind === 'deny') return;
        const out = d.kind === 'patch' ? applied(pod, d) : pod;
        const reached = [...reachablePools(out, rulesPolicy, RULES_NODES)];
        assert.ok(reached.every((p) => RULES_ALLOWED.includes(p)), `reaches ${reached.join(', ')}: ${JSON.stringify(out.spec)}`);
      }), { numRuns: 3000, seed: 20261203 });
      assert.ok((outcomes.patch ?? 0) > 100 && (outcomes.deny ?? 0) > 100, JSON.stringify(outcomes));
    });
  }
});
