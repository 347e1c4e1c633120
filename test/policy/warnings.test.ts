import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { policyWarnings } from '../../src/policy/warnings.ts';
import { design, upstream } from '../helpers/policies.ts';

const policy = (pools: string, extra = ''): ReturnType<typeof parsePolicyOrThrow> => parsePolicyOrThrow(
  `apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\n${extra}pools:\n${pools}`);

describe('policy warnings', () => {
  it('when the policy is the DESIGN example or the upstream fixture, then there is nothing to warn about', () => {
    assert.deepEqual(policyWarnings(design), []);
    assert.deepEqual(policyWarnings(upstream), []);
  });

  const cases: [string, string, string, string][] = [
    ['an ack-exclusive pool without nodeSelector shares the cluster with HAMi nodes',
      '  - {name: h, backend: ack-exclusive, gpu: {model: H100, memory: 80Gi, perNode: 8}}\n  - {name: l, backend: hami, nodeSelector: {p: l}, gpu: {model: L20, memory: 48Gi, perNode: 8}}\n', '',
      '/pools/0: ack-exclusive without nodeSelector also matches the nodes of non-ACK pools'],
    ['RDMA on an upstream pool keeps the ACK resource',
      '  - {name: l, backend: nvidia-exclusive, rdma: true, nodeSelector: {p: l}, gpu: {model: L20, memory: 48Gi, perNode: 8}}\n', '',
      "/pools/0: rdma on nvidia-exclusive uses ACK's aliyun/erdma; set rdmaResource"],
    ['a namespace rule allows no pool',
      '  - {name: t, backend: ack-cgpu, gpu: {model: T4, memory: 15Gi, perNode: 1}}\nnamespaces: [{names: [x], allowedPools: []}]\n', '',
      '/namespaces/0/allowedPools: empty, so those namespaces get no GPU'],
    ['compute isolation is the default but no pool gives it',
      '  - {name: t, backend: ack-cgpu, gpu: {model: T4, memory: 15Gi, perNode: 1}}\n', 'defaults: {isolation: compute}\n',
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
