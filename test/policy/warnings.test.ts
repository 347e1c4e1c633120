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
      "/pools/2/gpu: set gpu.product to the vendor's name (NVIDIA-…): nodes match aliyun.accelerator/nvidia_name=A100-SXM4-80GB",
      "/pools/3/gpu: set gpu.product to the vendor's name (NVIDIA-…): nodes match aliyun.accelerator/nvidia_name=A100-SXM4-80GB",
      '/pools/4: set a nodeSelector: ack-exclusive without one takes every H100 node with no GPU mode label',
      "/pools/4/gpu: set gpu.product to the vendor's name (NVIDIA-…): nodes match aliyun.accelerator/nvidia_name=H100",
    ]);
  });

  const cases: [string, string, string, string][] = [
    ['an ack-exclusive pool has no nodeSelector, even in an all-ACK policy',
      '  - {name: h, backend: ack-exclusive, gpu: {model: H100, product: NVIDIA-H100, memory: 80Gi, perNode: 8}}\n  - {name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n', '',
      '/pools/0: set a nodeSelector: ack-exclusive without one takes every NVIDIA-H100 node with no GPU mode label'],
    ['two pools of one mode and one model can take the same nodes',
      '  - {name: t4-a, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n  - {name: t4-b, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n', '',
      '/pools/1: tell it apart by nodeSelector: it can match the nodes of /pools/0 (t4-a)'],
    ['a time-slicing pool does not say its replicas',
      '  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {p: l4}, gpu: {model: L4, product: NVIDIA-L4, memory: 24Gi, perNode: 2}}\n', '',
      "/pools/0/timeSlicing: set replicas, so that requests are checked against a replica's share"],
    ['a time-slicing resource is outside the names the webhooks are sent',
      '  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {p: l4}, timeSlicing: {resource: example.com/shared-gpu, replicas: 4}, gpu: {model: L4, product: NVIDIA-L4, memory: 24Gi, perNode: 2}}\n', '',
      '/pools/0: rename example.com/shared-gpu under nvidia.com/ or hami.io/: pods asking it escape namespace rules'],
    ['RDMA on an upstream pool keeps the ACK resource',
      '  - {name: l, backend: nvidia-exclusive, rdma: true, nodeSelector: {p: l}, gpu: {model: L20, product: NVIDIA-L20, memory: 48Gi, perNode: 8}}\n', '',
      "/pools/0: set rdma.resource: rdma on nvidia-exclusive uses ACK's aliyun/erdma"],
    ['a model that is not the vendor\'s label value',
      '  - {name: h, backend: nvidia-exclusive, nodeSelector: {pool: h}, gpu: {model: H20, memory: 96Gi, perNode: 8}}\n', '',
      "/pools/0/gpu: set gpu.product to the vendor's name (NVIDIA-…): nodes match nvidia.com/gpu.product=H20"],
    ['two HAMi pools whose card types HAMi cannot tell apart (substring match)',
      '  - {name: a, backend: hami, nodeSelector: {p: a}, gpu: {model: L40, memory: 48Gi, perNode: 8}}\n  - {name: b, backend: hami, nodeSelector: {p: b}, gpu: {model: L40S, memory: 48Gi, perNode: 8}}\n', '',
      "/pools/0/gpu/product: make it unique: HAMi matches types by substring, L40 also takes /pools/1's L40S"],
    ['GKE\'s sharing pools are in a policy that reads plain nvidia.com/gpu as whole cards',
      '  - {name: h, backend: gke, gpu: {model: H100, product: nvidia-h100-80gb, memory: 80Gi, perNode: 8}}\n  - {name: l, backend: gke, gpu: {model: L4, product: nvidia-l4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 4}}\n', '',
      '/defaults/acceptNvidiaGpu: set false: on /pools/1 (GKE sharing) nvidia.com/gpu: 1 is a share, not a whole card'],
    ['a gke pool\'s product is not GKE\'s accelerator name',
      '  - {name: h, backend: gke, gpu: {model: H100, memory: 80Gi, perNode: 8}}\n', '',
      '/pools/0/gpu/product: set it as cloud.google.com/gke-accelerator spells it (nvidia-l4): nodes never hold H100'],
    ['a namespace rule allows no pool',
      '  - {name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\nnamespaces: [{names: [x], allowedPools: []}]\n', '',
      '/namespaces/0/allowedPools: list pools: empty, those namespaces get no GPU'],
    ['compute isolation is the default but no pool gives it',
      '  - {name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n', 'defaults: {isolation: compute}\n',
      '/defaults/isolation: add a pool that isolates compute, or lower it: compute, but no pool isolates compute'],
  ];
  for (const [what, pools, extra, warning] of cases) {
    it(`when ${what}, then the warning names the path`, () => {
      const warnings = policyWarnings(policy(pools, extra));
      assert.deepEqual(warnings, [warning]);
      assert.ok(warnings.every((w) => w.length <= 120));
    });
  }

  it('when names and products are as long as a policy allows, then each warning still fits whole: the advice first, a long name shortened in its middle', () => {
    const name = (c: string): string => `${c}${'-pool'.repeat(12)}`.slice(0, 63);
    const long = `Vendor-${'X'.repeat(55)}`; // 62: the schema allows 64
    const ack = policy([
      `  - {name: ${name('a')}, backend: ack-exclusive, gpu: {model: M, product: ${long}, memory: 80Gi, perNode: 8}}`,
      `  - {name: ${name('b')}, backend: ack-exclusive, gpu: {model: M, product: ${long}, memory: 80Gi, perNode: 8}}`,
      `  - {name: f, backend: dra, nodeSelector: {p: f}, gpu: {model: M, product: ${long}, memory: 80Gi, perNode: 8}}`,
      `  - {name: g, backend: nvidia-exclusive, nodeSelector: {p: g}, gpu: {model: M, product: ${'W'.repeat(64)}, memory: 80Gi, perNode: 8}}`,
    ].join('\n') + '\n');
    const hami = policy([
      `  - {name: c, backend: hami, nodeSelector: {p: c}, gpu: {model: M, product: ${long}, memory: 48Gi, perNode: 8}}`,
      `  - {name: d, backend: hami, nodeSelector: {p: d}, gpu: {model: M, product: ${long}-Y, memory: 48Gi, perNode: 8}}`,
      `  - {name: e, backend: hami, nodeSelector: {p: e}, gpu: {model: M, product: NVIDIA-${'Z'.repeat(57)}, memory: 48Gi, perNode: 8}}`,
    ].join('\n') + '\n');
    const warnings = [...policyWarnings(ack), ...policyWarnings(hami)];
    assert.ok(warnings.length >= 6, warnings.join('\n'));
    for (const w of warnings) {
      assert.ok(w.length <= 120, `${w.length}: ${w}`);
      assert.ok(!w.endsWith('…'), `cut: ${w}`);
      assert.match(w, /^\/pools\/\d+(\/gpu(\/product)?)?: (set|tell|make|use) /, w);
    }
  });
});
