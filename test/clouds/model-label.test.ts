// A pool's own model label (gpu.modelLabel): NVIDIA-plugin pools on EKS, AKS and GKE nodes that
// carry their cloud's model label and no GPU feature discovery.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import { poolHasLabels, poolTerms } from '../../src/policy/pool-nodes.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { policyWarnings } from '../../src/policy/warnings.ts';
import { cloudModel } from '../../src/vocabulary/clouds.ts';
import { describeRequirement } from '../../src/vocabulary/node-selector.ts';
import { applied, generic, limitsOf, podWith } from '../helpers/pods.ts';

const policy = (pools: string): string => `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
${pools}`;

const EKS = policy(`  - name: l40s
    backend: nvidia-exclusive
    nodeSelector: {karpenter.k8s.aws/instance-gpu-memory: "46068"}
    gpu: {model: L40S, product: l40s, modelLabel: karpenter.k8s.aws/instance-gpu-name, memory: 45Gi, perNode: 4}
  - name: l4-shared
    backend: nvidia-time-slicing
    nodeSelector: {team: infer}
    timeSlicing: {resource: nvidia.com/gpu, replicas: 4}
    gpu: {model: L4, product: Standard_NC16as_L4_v1, modelLabel: node.kubernetes.io/instance-type, memory: 22Gi, perNode: 1}
`);

const terms = (yaml: string, i = 0): string[][] => poolTerms(parsePolicyOrThrow(yaml).pools[i]!).map((t) => t.map(describeRequirement));

describe('gpu.modelLabel: the model on a cloud label', () => {
  it('when a pool names Karpenter\'s label, then its nodes are selected by it with gpu.product, and GFD\'s label is not required', () => {
    assert.deepEqual(terms(EKS), [['karpenter.k8s.aws/instance-gpu-memory=46068', 'karpenter.k8s.aws/instance-gpu-name=l40s']]);
  });

  it('when a time-slicing pool keeps nvidia.com/gpu, then the cloud label value is used as is (GFD\'s -SHARED suffix is GFD\'s only)', () => {
    assert.deepEqual(terms(EKS, 1), [['node.kubernetes.io/instance-type=Standard_NC16as_L4_v1', 'team=infer']]);
  });

  it('when a pool has no modelLabel, then it still requires GFD\'s nvidia.com/gpu.product', () => {
    const t = terms(policy('  - {name: a, backend: nvidia-exclusive, nodeSelector: {x: y}, gpu: {model: L4, product: NVIDIA-L4, memory: 22Gi, perNode: 1}}\n'));
    assert.ok(t[0]!.includes('nvidia.com/gpu.product=NVIDIA-L4'));
  });

  it('when an EKS node without GFD carries the pool\'s labels, then it is the pool\'s; a GFD-only node is not', () => {
    const pool = parsePolicyOrThrow(EKS).pools[0]!;
    assert.equal(poolHasLabels(pool, { 'karpenter.k8s.aws/instance-gpu-name': 'l40s', 'karpenter.k8s.aws/instance-gpu-memory': '46068' }), true);
    assert.equal(poolHasLabels(pool, { 'nvidia.com/gpu.product': 'NVIDIA-L40S' }), false);
  });

  it('when a pod asks the model by its portable name, then it is routed on the cloud label', () => {
    const pod = podWith([{ name: 'main', limits: generic('2') }], { 'gpu-admission.io/gpu-model': 'L40S' });
    const d = decide(pod, { policy: parsePolicyOrThrow(EKS), namespace: { name: 'ml', labels: {} } });
    const out = applied(pod, d);
    assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/gpu': '2' });
    assert.match(JSON.stringify(out.spec.affinity), /"key":"karpenter.k8s.aws\/instance-gpu-name","operator":"In","values":\["l40s"\]/);
  });

  it('when a pod asks the label\'s own value, then it matches exactly too, and a substring does not', () => {
    const p = parsePolicyOrThrow(EKS);
    const ask = (model: string) => decide(podWith([{ name: 'main', limits: generic('1') }], { 'gpu-admission.io/gpu-model': model }), { policy: p, namespace: { name: 'ml', labels: {} } });
    assert.equal(ask('l40s').kind, 'patch');
    const d = ask('l40');
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.message : '', /model L40S \(l40s\) is not l40/);
  });

  const bad: [string, string, RegExp][] = [
    ['hami', '{name: h, backend: hami, nodeSelector: {a: b}, gpu: {model: L4, modelLabel: x/y, memory: 22Gi, perNode: 1}}', /\/pools\/0\/gpu\/modelLabel: hami picks the model by the pod annotation/],
    ['dra', '{name: d, backend: dra, nodeSelector: {a: b}, gpu: {model: L4, product: NVIDIA L4, modelLabel: x/y, memory: 22Gi, perNode: 1}}', /\/pools\/0\/gpu\/modelLabel: dra pools pick the model by the devices' productName/],
    ['a bad key', '{name: e, backend: nvidia-exclusive, gpu: {model: L4, modelLabel: "no spaces", memory: 22Gi, perNode: 1}}', /\/pools\/0\/gpu\/modelLabel: "no spaces" is not valid here/],
    ['a product no label holds', '{name: e, backend: nvidia-exclusive, gpu: {model: L4, product: "NVIDIA L4", modelLabel: x/y, memory: 22Gi, perNode: 1}}', /\/pools\/0\/gpu\/product: "NVIDIA L4" is not a label value/],
  ];
  for (const [what, pool, error] of bad) {
    it(`when modelLabel is given on ${what}, then the policy is refused naming the field`, () => {
      const r = parsePolicy(policy(`  - ${pool}\n`));
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.errors.join('\n'), error);
    });
  }

  it('when a pool names a model label, then it needs no nodeSelector of its own', () => {
    assert.equal(parsePolicy(policy('  - {name: e, backend: nvidia-exclusive, gpu: {model: L4, product: l4, modelLabel: eks.amazonaws.com/instance-gpu-name, memory: 22Gi, perNode: 1}}\n')).ok, true);
  });

  it('when gpu.product is not spelled as the cloud label spells it, then a warning says so; Karpenter\'s name alone gets one too', () => {
    const w = policyWarnings(parsePolicyOrThrow(policy('  - {name: e, backend: nvidia-exclusive, gpu: {model: L40S, modelLabel: karpenter.k8s.aws/instance-gpu-name, memory: 45Gi, perNode: 1}}\n')));
    assert.deepEqual(w, [
      '/pools/0/gpu/product: set it as karpenter.k8s.aws/instance-gpu-name spells it (l40s): nodes never hold L40S',
      '/pools/0/nodeSelector: add karpenter.k8s.aws/instance-gpu-memory: one GPU name spans cards (a100: 40 and 80 GB)',
    ]);
    assert.deepEqual(policyWarnings(parsePolicyOrThrow(EKS)).filter((x) => x.includes('gpu/product')), []);
  });

  it('when cloud model values are read, then the portable names are what pods ask', () => {
    assert.deepEqual(['nvidia-l4', 'nvidia-tesla-t4', 'nvidia-h100-80gb', 'nvidia-tesla-a100', 'l40s', 'a10g', 'Standard_NC24ads_A100_v4', 'Standard_ND96asr_v4'].map(cloudModel),
      ['L4', 'T4', 'H100', 'A100', 'L40S', 'A10G', 'A100', 'Standard_ND96asr_v4']);
  });
});
