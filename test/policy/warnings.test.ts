import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { policyWarnings } from '../../src/policy/warnings.ts';
import { design, upstream } from '../helpers/policies.ts';

const policy = (pools: string, extra = ''): ReturnType<typeof parsePolicyOrThrow> => parsePolicyOrThrow(
  `apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\n${extra}pools:\n${pools}`);

describe('policy warnings', () => {
  it('when the policy is the upstream fixture, then there is nothing to warn about; the design example has its unselected ack-exclusive pool', () => {
    assert.deepEqual(policyWarnings(upstream), []);
    assert.deepEqual(policyWarnings(design), [
      "/pools/2/gpu: nodes match aliyun.accelerator/nvidia_name=A100-SXM4-80GB; the label is the vendor's name (NVIDIA-…): set gpu.product",
      "/pools/3/gpu: nodes match aliyun.accelerator/nvidia_name=A100-SXM4-80GB; the label is the vendor's name (NVIDIA-…): set gpu.product",
      '/pools/4: ack-exclusive without nodeSelector takes any node without a GPU mode label of model H100',
      "/pools/4/gpu: nodes match aliyun.accelerator/nvidia_name=H100; the label is the vendor's name (NVIDIA-…): set gpu.product",
    ]);
  });

  const cases: [string, string, string, string][] = [
    ['an ack-exclusive pool has no nodeSelector, even in an all-ACK policy',
      '  - {name: h, backend: ack-exclusive, gpu: {model: H100, product: NVIDIA-H100, memory: 80Gi, perNode: 8}}\n  - {name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n', '',
      '/pools/0: ack-exclusive without nodeSelector takes any node without a GPU mode label of model NVIDIA-H100'],
    ['two pools of one mode and one model can take the same nodes',
      '  - {name: t4-a, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n  - {name: t4-b, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n', '',
      '/pools/1: can match the nodes of /pools/0 (t4-a); tell them apart by nodeSelector'],
    ['a time-slicing pool does not say its replicas',
      '  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {p: l4}, gpu: {model: L4, product: NVIDIA-L4, memory: 24Gi, perNode: 2}}\n', '',
      "/pools/0/timeSlicing: no replicas, so requests are not checked against a replica's share"],
    ['a time-slicing resource is outside the names the webhooks are sent',
      '  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {p: l4}, timeSlicing: {resource: example.com/shared-gpu, replicas: 4}, gpu: {model: L4, product: NVIDIA-L4, memory: 24Gi, perNode: 2}}\n', '',
      '/pools/0: rename example.com/shared-gpu under nvidia.com/ or hami.io/: pods asking it escape namespace rules'],
    ['RDMA on an upstream pool keeps the ACK resource',
      '  - {name: l, backend: nvidia-exclusive, rdma: true, nodeSelector: {p: l}, gpu: {model: L20, product: NVIDIA-L20, memory: 48Gi, perNode: 8}}\n', '',
      "/pools/0: rdma on nvidia-exclusive uses ACK's aliyun/erdma; set rdma.resource"],
    ['a model that is not the vendor\'s label value',
      '  - {name: h, backend: nvidia-exclusive, nodeSelector: {pool: h}, gpu: {model: H20, memory: 96Gi, perNode: 8}}\n', '',
      "/pools/0/gpu: nodes match nvidia.com/gpu.product=H20; the label is the vendor's name (NVIDIA-…): set gpu.product"],
    ['two HAMi pools whose card types HAMi cannot tell apart (substring match)',
      '  - {name: a, backend: hami, nodeSelector: {p: a}, gpu: {model: L40, memory: 48Gi, perNode: 8}}\n  - {name: b, backend: hami, nodeSelector: {p: b}, gpu: {model: L40S, memory: 48Gi, perNode: 8}}\n', '',
      "/pools/0/gpu/product: HAMi matches types by substring: L40 also takes /pools/1's L40S cards"],
    ['a namespace rule allows no pool',
      '  - {name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\nnamespaces: [{names: [x], allowedPools: []}]\n', '',
      '/namespaces/0/allowedPools: empty, so those namespaces get no GPU'],
    ['compute isolation is the default but no pool gives it',
      '  - {name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n', 'defaults: {isolation: compute}\n',
      '/defaults/isolation: compute, but no pool isolates compute'],
  ];
  for (const [what, pools, extra, warning] of cases) {
    it(`when ${what}, then the warning names the path`, () => {
      const warnings = policyWarnings(policy(pools, extra));
      assert.deepEqual(warnings, [warning]);
      assert.ok(warnings.every((w) => w.length <= 120));
    });
  }
});
