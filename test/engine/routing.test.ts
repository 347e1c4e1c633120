import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { applied, limitsOf, podWith } from '../helpers/pods.ts';
import { DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { design } from '../helpers/policies.ts';

// The design policy with its A10 pool on MPS: a memory share then translates alike on both shared pools.
const YAML = DEFAULT_POLICY_YAML.replace('backend: ack-core-mem', 'backend: ack-mps');
const ctx = { policy: parsePolicyOrThrow(YAML), namespace: { name: 'ml', labels: {} } };
const sharedPod = (spec: Record<string, unknown> = {}): Pod =>
  podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi' } }], {}, { spec });

describe('routing: node affinity, preferences and tolerations', () => {
  it('when the pod already has required terms, then each is ANDed with each chosen pool (OR of pools)', () => {
    const pod = sharedPod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
    ] } } } });
    const out = applied(pod, decide(pod, ctx));
    const terms = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.equal(terms.length, 4, 'two existing terms × two pools');
    const keys = terms.map((t) => t.matchExpressions?.map((e) => `${e.key} ${e.operator} ${e.values?.join('|')}`).join(', '));
    assert.deepEqual(keys, [
      'zone In a, ack.node.gpu.schedule In cgpu, ack.node.gpu.placement NotIn spread, aliyun.accelerator/nvidia_name In Tesla-T4',
      'zone In a, ack.node.gpu.schedule In mps, ack.node.gpu.placement NotIn spread, aliyun.accelerator/nvidia_name In NVIDIA-A10',
      'zone In b, ack.node.gpu.schedule In cgpu, ack.node.gpu.placement NotIn spread, aliyun.accelerator/nvidia_name In Tesla-T4',
      'zone In b, ack.node.gpu.schedule In mps, ack.node.gpu.placement NotIn spread, aliyun.accelerator/nvidia_name In NVIDIA-A10',
    ]);
  });

  it('when several pools serve, then preferred terms follow pool order by weight', () => {
    const out = applied(sharedPod(), decide(sharedPod(), ctx));
    const preferred = out.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    assert.deepEqual(preferred.map((p) => [p.weight, p.preference.matchExpressions?.[0]?.values?.[0]]), [[100, 'cgpu'], [90, 'mps']]);
  });

  it('when ack-exclusive is chosen, then nodes without the mode label are accepted too', () => {
    const pod = podWith([{ limits: { 'gpu-admission.io/gpu': '8' } }], { 'gpu-admission.io/pools': 'h100' });
    const terms = applied(pod, decide(pod, ctx)).spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    assert.deepEqual(terms?.map((t) => t.matchExpressions?.map((e) => e.operator)), [['In', 'In'], ['DoesNotExist', 'In']]);
  });

  it('when another webhook ANDs a requirement into our terms, then reinvocation keeps it and adds nothing twice', () => {
    const first = applied(sharedPod(), decide(sharedPod(), ctx));
    const terms = first.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const term of terms) term.matchExpressions?.push({ key: 'zone', operator: 'NotIn', values: ['c'] });
    const again = decide(first, ctx);
    assert.deepEqual(again, { kind: 'allow', warnings: [] }, 'every term still holds one pool');
  });

  it('when another webhook ORs a term after us, then the pod still goes only to the pools', () => {
    const first = applied(sharedPod(), decide(sharedPod(), ctx));
    const terms = first.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    terms.push({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['c'] }] });
    const again = decide(first, ctx);
    const out = applied(first, again);
    const after = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    // The new term is ANDed with each pool; the terms that already hold a pool stay as they are.
    assert.deepEqual(after.map((t) => t.matchExpressions?.map((e) => e.values?.[0]).slice(0, 2)),
      [['cgpu', 'spread'], ['mps', 'spread'], ['c', 'cgpu'], ['c', 'mps']]);
    assert.deepEqual(limitsOf(out, 'main'), { 'aliyun.com/gpu-mem': '8' }, 'resources are not touched twice');
    assert.deepEqual(decide(out, ctx), { kind: 'allow', warnings: [] });
  });

  it('when the policy changed before a reinvocation, then the old pools\' terms are taken back, not ANDed with the new', () => {
    const pod = sharedPod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
    ] } } } });
    const first = applied(pod, decide(pod, ctx));
    const onlyMig = parsePolicyOrThrow(`${YAML}  - names: [ml]\n    allowedPools: [a100-mig]\n`);
    const next = { policy: onlyMig, namespace: ctx.namespace };
    const out = applied(first, decide(first, next));
    const affinity = out.spec.affinity?.nodeAffinity;
    const terms = affinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.deepEqual(terms.map((t) => t.matchExpressions?.map((e) => `${e.key} ${e.operator} ${e.values?.join('|')}`)),
      [['zone In a', 'ack.node.gpu.schedule In mig', 'aliyun.accelerator/nvidia_name In A100-SXM4-80GB']]);
    assert.equal(affinity?.preferredDuringSchedulingIgnoredDuringExecution, undefined, 'the old preferences are gone');
    assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/mig-1g.10gb': '1' });
    assert.deepEqual(decide(out, next), { kind: 'allow', warnings: [] });
  });

  it('when a pool keeps its name but selects other nodes, then its old requirement is taken back', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi' } }], { 'gpu-admission.io/pools': 't4-shared' });
    const first = applied(pod, decide(pod, ctx));
    const renamed = parsePolicyOrThrow(YAML.replace('nodeSelector: {aliyun.accelerator/nvidia_name: Tesla-T4}', 'nodeSelector: {aliyun.accelerator/nvidia_name: Tesla-T4-v2}'));
    const out = applied(first, decide(first, { policy: renamed, namespace: ctx.namespace }));
    const terms = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.deepEqual(terms.map((t) => t.matchExpressions?.map((e) => e.values?.join('|'))), [['cgpu', 'spread', 'Tesla-T4-v2']]);
  });

  it('when a HAMi pod is decided again under a policy without HAMi, then the HAMi scheduler and resources are taken back', () => {
    const hamiPod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi', 'gpu-admission.io/gpu-cores': '50' } }],
      { 'gpu-admission.io/pools': 'l40s-hami' });
    const text = readFileSync(new URL('../fixtures/policies/hami.yaml', import.meta.url), 'utf8')
      + '  - {name: h100-mig, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {profiles: [1g.10gb, 3g.40gb, 7g.80gb]}}\n';
    const withHami = { policy: parsePolicyOrThrow(text), namespace: ctx.namespace };
    const first = applied(hamiPod, decide(hamiPod, withHami));
    assert.equal(first.spec.schedulerName, 'hami-scheduler');
    delete first.metadata?.annotations?.['gpu-admission.io/pools'];
    const noHami = parsePolicyOrThrow(text.replace(/  - name: l40s-hami[\s\S]*?(?=  - name: l4-slices)/, ''));
    const out = applied(first, decide(first, { policy: noHami, namespace: ctx.namespace }));
    assert.equal(out.spec.schedulerName, undefined);
    assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/mig-7g.80gb': '1' }, '50 % compute needs more than 3 of 7 slices');
  });

  it('when the earlier pools are gone from the policy, then what they added is still taken back', () => {
    const first = applied(sharedPod(), decide(sharedPod(), ctx));
    const withoutShared = parsePolicyOrThrow(YAML.replace(/  - name: t4-shared[\s\S]*?(?=  - name: a100-topology)/, ''));
    const out = applied(first, decide(first, { policy: withoutShared, namespace: ctx.namespace }));
    const terms = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.deepEqual(terms.map((t) => t.matchExpressions?.map((e) => `${e.key} ${e.operator} ${e.values?.join('|')}`)),
      [['ack.node.gpu.schedule In mig', 'aliyun.accelerator/nvidia_name In A100-SXM4-80GB']], 'the record named what the earlier decision added: all of it is taken back');
  });

  it('when the pod tolerates the pool taint only for a while, then a lasting toleration is added', () => {
    const timed = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 };
    const pod = podWith([{ limits: { 'gpu-admission.io/gpu': '2' } }], { 'gpu-admission.io/pools': 'a100-topology' }, { spec: { tolerations: [timed] } });
    assert.deepEqual(applied(pod, decide(pod, ctx)).spec.tolerations, [timed, { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('when the pod already tolerates the pool taint, then no duplicate toleration is added', () => {
    const toleration = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };
    const pod = podWith([{ limits: { 'gpu-admission.io/gpu': '2' } }], { 'gpu-admission.io/pools': 'a100-topology' }, { spec: { tolerations: [toleration] } });
    assert.deepEqual(applied(pod, decide(pod, ctx)).spec.tolerations, [toleration]);
  });
});

describe('containers: init containers, native sidecars and effective requests', () => {
  const sidecar = { name: 'proxy', image: 'envoy', restartPolicy: 'Always', resources: { limits: { 'gpu-admission.io/gpu': '2' } } };
  const init = { name: 'warmup', image: 'busybox', resources: { limits: { 'gpu-admission.io/gpu': '4' } } };

  it('when init containers and a native sidecar ask for GPUs, then every one is translated', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '3' } }], { 'gpu-admission.io/pools': 'h100' }, { initContainers: [sidecar, init] });
    const out = applied(pod, decide(pod, ctx));
    assert.deepEqual(limitsOf(out, 'proxy'), { 'nvidia.com/gpu': '2' });
    assert.deepEqual(limitsOf(out, 'warmup'), { 'nvidia.com/gpu': '4' });
    assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/gpu': '3' });
  });

  it('when the sidecar runs beside the app, then the effective count (3 + 2 = 5) meets the namespace limit', () => {
    const policy = { ...design, namespaces: [{ names: ['ml'], maxGpusPerPod: 4 }] };
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '3' } }], {}, { initContainers: [sidecar, init] });
    const d = decide(pod, { policy, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.message : '', /pod asks 6 GPUs/, 'init 4 beside the sidecar 2 is the peak');
  });

  it('when a recorded pod has its GPU resources altered under the same policy, then the edit is kept, never reverted to the record', () => {
    const pod = sharedPod();
    const out = applied(pod, decide(pod, ctx));
    out.spec.containers[0]!.resources = { limits: { 'aliyun.com/gpu-mem': '15' }, requests: { 'aliyun.com/gpu-mem': '15' } };
    const again = applied(out, decide(out, ctx));
    assert.deepEqual(limitsOf(again, 'main'), { 'aliyun.com/gpu-mem': '15' }, 'the altered resources, not the record, are the request');
  });

  it('when a decided pod is copied into a namespace with other pools, then it is routed there from its recorded request', () => {
    const pod = sharedPod();
    const out = applied(pod, decide(pod, ctx));
    const research = { policy: ctx.policy, namespace: { name: 'research', labels: {} } };
    const d = decide(out, research);
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['a100-mig']);
    assert.deepEqual(limitsOf(applied(out, d), 'main'), { 'nvidia.com/mig-1g.10gb': '1' });
  });
});
