// The dra backend: a DeviceClass's extended resource by count, whole cards or MIG slices, and
// the reasons dra pools give for what a count cannot say. The real scheduler's side is in
// test/e2e/dra.e2e.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { toDraView } from '../../src/cluster/model.ts';
import { classSelectors, classSelects, policyDeviceClasses } from '../../src/policy/dra.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { policyWarnings } from '../../src/policy/warnings.ts';
import { applied, limitsOf, podWith } from '../helpers/pods.ts';

const POLICY = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - name: h100
    backend: dra
    nodeSelector: {pool: h100}
    gpu: {model: H100, product: NVIDIA H100 80GB HBM3, memory: 80Gi, perNode: 8}
    taints: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  - name: a100
    backend: dra
    nodeSelector: {pool: a100}
    gpu: {model: A100, product: NVIDIA A100-SXM4-80GB, memory: 80Gi, perNode: 8}
    dra: {deviceClasses: {gpu: {name: a100.example.com, extendedResourceName: nvidia.com/a100}}}
  - name: a100-mig
    backend: dra
    nodeSelector: {pool: a100}
    gpu: {model: A100, product: NVIDIA A100-SXM4-80GB, memory: 80Gi, perNode: 2}
    mig: {layout: {3g.40gb: 2}}
`;
const policy = parsePolicyOrThrow(POLICY);
const ns = { name: 'ml', labels: {} };
const run = (pod: Pod) => decide(pod, { policy, namespace: ns });
const H100 = 'deviceclass.resource.kubernetes.io/h100.gpu-admission.io';
const MIG = 'deviceclass.resource.kubernetes.io/a100-mig-3g-40gb.gpu-admission.io';

function denial(pod: Pod): string {
  const d = run(pod);
  assert.equal(d.kind, 'deny', JSON.stringify(d));
  return d.kind === 'deny' ? d.message : '';
}

describe('dra pools: what the webhook writes', () => {
  it('when a pod asks 2 GPUs of model H100, then it gets the class resource 2 in limits and requests, the pool affinity and tolerations, nothing else', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '2' } }], { 'gpu-admission.io/gpu-model': 'H100' });
    const out = applied(pod, run(pod));
    const c = out.spec.containers[0]!;
    assert.deepEqual(c.resources?.limits, { [H100]: '2' });
    assert.deepEqual(c.resources?.requests, { [H100]: '2' });
    const terms = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    assert.deepEqual(terms, [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['h100'] }] }], 'no model label: the class selects the model');
    assert.deepEqual(out.spec.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(out.spec.schedulerName, undefined);
    assert.equal(out.spec.resourceClaims, undefined, 'the scheduler makes the claim');
    const record = JSON.parse(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '{}');
    assert.deepEqual([record.pools, record.backend], [['h100'], 'dra']);
  });

  it('when the webhook runs on its own output (reinvocation), then it changes nothing', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '2' } }], { 'gpu-admission.io/gpu-model': 'A100' });
    const once = applied(pod, run(pod));
    assert.deepEqual(limitsOf(once, 'main'), { 'nvidia.com/a100': '2' }, 'the explicit extendedResourceName');
    const again = run(once);
    assert.equal(again.kind, 'allow', JSON.stringify(again));
  });

  it('when a pod asks 30Gi of a GPU, then the MIG pool serves it with the 3g.40gb class', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '30Gi' } }]);
    assert.deepEqual(limitsOf(applied(pod, run(pod)), 'main'), { [MIG]: '1' });
  });

  it('when a pod asks 5 slices of a MIG pool whose node holds 4, then the pool says so', () => {
    const slice = { 'gpu-admission.io/gpu-memory': '30Gi' };
    const pod = podWith(Array.from({ length: 5 }, (_, i) => ({ name: `c${i}`, limits: slice })), { 'gpu-admission.io/pools': 'a100-mig' });
    assert.match(denial(pod), /pool a100-mig: pod asks 5 × 3g\.40gb, a node has 4 \(2 cards\)/);
  });

  it('when a pod asks a share too big for any listed MIG profile, then every dra pool gives its reason', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '60Gi' } }]);
    const message = denial(pod);
    assert.match(message, /pool h100: dra serves whole devices by count: a share of a card/);
    assert.match(message, /pool a100-mig: no MIG profile holds 60Gi/);
  });

  it('when a pod asks NUMA alignment or RDMA, then dra pools say a count cannot align them', () => {
    const numa = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '1' }, cpu: '4' }], { 'gpu-admission.io/numa': 'SingleNUMANode' });
    assert.match(denial(numa), /pool h100: a dra pool is asked by count .* cannot align GPUs with NUMA nodes/);
    const rdma = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '1' } }], { 'gpu-admission.io/rdma': 'true' });
    assert.match(denial(rdma), /pool h100: a dra pool is asked by count .* cannot align an RDMA device with the GPUs/);
  });

  it('when a privileged container asks a MIG slice, then the MIG pool refuses it and a whole-card pool does not', () => {
    const slice = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '30Gi' }, privileged: true }], { 'gpu-admission.io/pools': 'a100-mig' });
    assert.match(denial(slice), /privileged/);
    const whole = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '1' }, privileged: true }]);
    assert.equal(run(whole).kind, 'patch');
  });

  it('when a pod asks a class resource natively, then whole numbers are required and the pool that owns the class is routed', () => {
    const fraction = podWith([{ name: 'main', limits: { [H100]: '500m' } }]);
    assert.match(denial(fraction), /resources\.limits\["deviceclass\.resource\.kubernetes\.io\/h100\.gpu-admission\.io"\]: must be a whole number of devices/);
    const native = podWith([{ name: 'main', limits: { [H100]: '3' } }]);
    const out = applied(native, run(native));
    assert.deepEqual(limitsOf(out, 'main'), { [H100]: '3' }, 'native requests are not rewritten');
    assert.deepEqual(out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['h100'] }] }]);
    const tooMany = podWith([{ name: 'main', limits: { [H100]: '9' } }]);
    assert.match(denial(tooMany), /pool h100: deviceclass\.resource\.kubernetes\.io\/h100\.gpu-admission\.io: 9 GPUs, a node has 8/);
  });

  it('when a pod asks a GPU driver\'s own DeviceClass (NVIDIA\'s gpu.nvidia.com, any model) by its implicit name, then it is refused: it would escape the namespace rules', () => {
    const message = denial(podWith([{ name: 'main', limits: { 'deviceclass.resource.kubernetes.io/gpu.nvidia.com': '8' } }]));
    assert.match(message, /DeviceClass gpu\.nvidia\.com is no pool's, and its devices would escape the namespace's GPU rules: ask gpu-admission\.io\/gpu instead \(the policy's classes: h100\.gpu-admission\.io, a100\.example\.com, a100-mig-3g-40gb\.gpu-admission\.io\)/);
    assert.equal(run(podWith([{ name: 'main', limits: { 'deviceclass.resource.kubernetes.io/mig-1g-12gb.gpu.nvidia.com': '1' } }])).kind, 'deny');
  });

  it('when a pod asks by its implicit name a class that has an extendedResourceName, then it is refused: quota counts the other name', () => {
    assert.match(denial(podWith([{ name: 'main', limits: { 'deviceclass.resource.kubernetes.io/a100.example.com': '4' } }])),
      /DeviceClass a100\.example\.com is asked by its extendedResourceName nvidia\.com\/a100, which a ResourceQuota counts at creation: ask that, or gpu-admission\.io\/gpu/);
  });

  it('when a pod names its own scheduler, then a dra route warns that it must make the claim', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '1' } }], { 'gpu-admission.io/gpu-model': 'H100' }, { spec: { schedulerName: 'volcano' } });
    const d = run(pod);
    assert.deepEqual(d.kind === 'patch' ? d.warnings : d, ['make sure scheduler volcano makes DRA claims as kube-scheduler does: pool h100 is dra']);
  });

  it('when 10Gi is asked of MIG pools listing 1g.10gb (9.3Gi), then the larger profile given is named in a warning', () => {
    const small = parsePolicyOrThrow(POLICY.replace('mig: {layout: {3g.40gb: 2}}', 'mig: {profiles: [1g.10gb, 3g.40gb]}'));
    const d = decide(podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '10Gi' } }]), { policy: small, namespace: ns });
    assert.deepEqual(d.kind === 'patch' ? d.warnings : d, ['ask at most 9.3Gi for 1g.10gb (MIG counts decimal GB): 10Gi gets 3g.40gb (container "main")']);
  });

  it('when a pod asks a DRA class of another kind of device (an FPGA), then it is not a GPU request of the policy', () => {
    assert.equal(run(podWith([{ name: 'main', limits: { 'deviceclass.resource.kubernetes.io/fpga.example.com': '1' } }])).kind, 'not-applicable');
  });

  it('when a pod with spec.nodeName asks a dra class natively, then it is refused: only kube-scheduler makes its claim', () => {
    const pod = podWith([{ name: 'main', limits: { [H100]: '1' } }], {}, { spec: { nodeName: 'h1' } });
    assert.match(denial(pod), /spec\.nodeName is set \(node "h1"\): the cards of dra \(kube-scheduler, which makes the ResourceClaim\) are allocated by a scheduler that never sees this pod/);
  });

  it('when an init container and an app container get slices of different profiles, then both count against maxGpusPerPod', () => {
    const limited = parsePolicyOrThrow(`${POLICY}namespaces: [{names: [ml], maxGpusPerPod: 1}]\n`.replace('mig: {layout: {3g.40gb: 2}}', 'mig: {profiles: [1g.10gb, 3g.40gb]}'));
    const init = { name: 'warm', image: 'x', resources: { limits: { 'gpu-admission.io/gpu-memory': '30Gi' } } };
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '5Gi' } }], {}, { initContainers: [init] });
    const d = decide(pod, { policy: limited, namespace: ns });
    assert.equal(d.kind, 'deny', JSON.stringify(d));
    assert.match(d.kind === 'deny' ? d.message : '', /pool a100-mig: pod holds 2 MIG devices here .* namespace ml allows at most 1 per pod/);
    const same = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '30Gi' } }], {}, { initContainers: [init] });
    assert.equal(decide(same, { policy: limited, namespace: ns }).kind, 'patch', 'one profile: the init container\'s slice is reused');
  });

  it('when natively asked slices of different profiles sit in an init and an app container, then both count against maxGpusPerPod (dra and nvidia-mig)', () => {
    const mixed = parsePolicyOrThrow(`${POLICY}  - {name: h100-mig, backend: nvidia-mig, nodeSelector: {pool: hm}, gpu: {model: H100, product: NVIDIA-H100-80GB-HBM3, memory: 80Gi, perNode: 8}, mig: {profiles: [1g.10gb, 3g.40gb]}}
namespaces: [{names: [ml], maxGpusPerPod: 1}]
`.replace('mig: {layout: {3g.40gb: 2}}', 'mig: {profiles: [1g.10gb, 3g.40gb]}'));
    const ctx = { policy: mixed, namespace: ns };
    const classOf = (profile: string) => `deviceclass.resource.kubernetes.io/a100-mig-${profile}.gpu-admission.io`;
    for (const [big, small] of [[classOf('3g-40gb'), classOf('1g-10gb')], ['nvidia.com/mig-3g.40gb', 'nvidia.com/mig-1g.10gb']]) {
      const init = { name: 'warm', image: 'x', resources: { limits: { [big!]: '1' } } };
      const d = decide(podWith([{ name: 'main', limits: { [small!]: '1' } }], {}, { initContainers: [init] }), ctx);
      assert.match(d.kind === 'deny' ? d.message : JSON.stringify(d), /pod asks 2 GPUs, namespace ml allows at most 1 per pod/, big);
      const same = decide(podWith([{ name: 'main', limits: { [big!]: '1' } }], {}, { initContainers: [init] }), ctx);
      assert.equal(same.kind, 'patch', `${big}: one resource, the init container's slice reused`);
    }
  });
});

describe('dra pools: the policy', () => {
  const pool = (extra: string): string => `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - name: p
    backend: dra
    nodeSelector: {pool: p}
    gpu: {model: H100, product: NVIDIA H100 80GB HBM3, memory: 80Gi, perNode: 8}
${extra}`;
  const errors = (text: string): string[] => {
    const r = parsePolicy(text);
    return r.ok ? [] : [...r.errors];
  };

  it('when a dra pool gives no classes, then it gets <pool>.gpu-admission.io for whole cards and <pool>-<profile>.gpu-admission.io per MIG profile', () => {
    assert.deepEqual(policy.pools.map((p) => p.dra?.deviceClasses.map((c) => [c.device, c.name, c.resource])), [
      [['gpu', 'h100.gpu-admission.io', H100]],
      [['gpu', 'a100.example.com', 'nvidia.com/a100']],
      [['3g.40gb', 'a100-mig-3g-40gb.gpu-admission.io', MIG]],
    ]);
  });

  it('when a dra pool asks what a count cannot say or names classes wrongly, then each error names its field', () => {
    assert.deepEqual(errors(pool('    numa: {nodes: 2, gpusPerNode: 4, cpusPerNode: 64}\n    rdma: true\n')), [
      '/pools/0/rdma: a dra pool is asked by count (the DeviceClass\'s extended resource), which cannot align an RDMA device with the GPUs',
      '/pools/0/numa: a dra pool is asked by count (the DeviceClass\'s extended resource), which cannot align GPUs with NUMA nodes',
    ]);
    assert.deepEqual(errors(pool('    dra: {deviceClasses: {gpu: {extendedResourceName: nvidia.com/gpu}}}\n')), [
      "/pools/0/dra/deviceClasses/gpu/extendedResourceName: nvidia.com/gpu is a device plugin's resource (and NVIDIA's DRA class gpu.nvidia.com maps it): "
        + 'on a node that advertises it the device plugin serves it, elsewhere another class may; use a name of your own, or leave it out',
    ]);
    // The schema (so Helm's values check too) keeps extendedResourceName to names the webhooks are sent.
    for (const bad of ['example.kubernetes.io/gpu', 'example.com/h100', 'gpu-admission.io/h100', 'aliyun.com/gpu-h100', 'NVIDIA.com/a100', 'gpu']) {
      assert.match(errors(pool(`    dra: {deviceClasses: {gpu: {extendedResourceName: ${bad}}}}\n`)).join(),
        new RegExp(`gpu/extendedResourceName: "${bad.replaceAll('.', '\\.')}" is not valid here \\(nvidia\\.com/<name> or hami\\.io/<name> .*: a name the webhooks are sent`), bad);
    }
    assert.match(errors(pool(`    dra: {deviceClasses: {gpu: {extendedResourceName: nvidia.com/${'h'.repeat(64)}}}}\n`)).join(), /must NOT have more than 74 characters/);
    assert.deepEqual(errors(pool('    dra: {deviceClasses: {gpu: {extendedResourceName: hami.io/h100}}}\n')), []);
    assert.match(errors(pool('    dra: {deviceClasses: {gpu: {name: gpu.nvidia.com}}}\n')).join(), /\/gpu\/name: gpu\.nvidia\.com is a GPU driver's own class .* applying policy deviceclasses would replace it/);
    assert.match(errors(pool('    dra: {deviceClasses: {3g.40gb: {name: x.example.com}}}\n')).join(), /deviceClasses\/3g\.40gb: 3g\.40gb is not in mig\.profiles/);
    assert.match(errors(pool('    mig: {profiles: [3g.40gb]}\n    dra: {deviceClasses: {gpu: {name: x.example.com}}}\n')).join(),
      /deviceClasses\/gpu: a pool with mig serves MIG devices only/);
    assert.match(errors(pool('    dra: {deviceClasses: {whole: {name: x.example.com}}}\n')).join(), /key "whole" is neither gpu \(whole cards\) nor a MIG profile/);
    assert.match(errors(pool(`    dra: {deviceClasses: {gpu: {name: ${'a'.repeat(60)}.example.com}}}\n`)).join(), /whose name part must be at most 63 characters/);
    assert.match(errors(pool('    dra: {driver: GPU_NVIDIA}\n')).join(), /\/pools\/0\/dra\/driver: "GPU_NVIDIA" is not valid here/);
    assert.match(errors(pool('    dra: {}\n').replace('backend: dra', 'backend: nvidia-exclusive').replace('NVIDIA H100 80GB HBM3', 'NVIDIA-H100')).join(), /\/pools\/0\/dra: only backend dra takes it/);
  });

  it('when the product of a node-label backend has spaces, then it is refused; on dra it is the device attribute', () => {
    assert.match(errors(pool('').replace('backend: dra', 'backend: nvidia-exclusive')).join(), /gpu\/product: "NVIDIA H100 80GB HBM3" is not a label value/);
    assert.deepEqual(errors(pool('')), []);
  });

  it('when two pools use one class name for other devices, or one extendedResourceName for two classes, then the policy is refused', () => {
    const two = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a, backend: dra, nodeSelector: {pool: a}, gpu: {model: H100, product: NVIDIA H100 80GB HBM3, memory: 80Gi, perNode: 8},
     dra: {deviceClasses: {gpu: {name: gpu.example.com, extendedResourceName: nvidia.com/h1xx}}}}
  - {name: b, backend: dra, nodeSelector: {pool: b}, gpu: {model: H200, product: NVIDIA H200, memory: 141Gi, perNode: 8},
     dra: {deviceClasses: {gpu: {name: gpu.example.com, extendedResourceName: nvidia.com/h1xx}}}}
  - {name: c, backend: dra, nodeSelector: {pool: c}, gpu: {model: H200, product: NVIDIA H200, memory: 141Gi, perNode: 8},
     dra: {deviceClasses: {gpu: {name: h200.example.com, extendedResourceName: nvidia.com/h1xx}}}}
`;
    assert.deepEqual(errors(two), [
      '/pools/1/dra/deviceClasses/gpu: DeviceClass gpu.example.com is also /pools/0/dra/deviceClasses/gpu, for other devices or another extendedResourceName; give each its own name',
      "/pools/2/dra/deviceClasses/gpu/extendedResourceName: nvidia.com/h1xx is also DeviceClass gpu.example.com's (/pools/0/dra/deviceClasses/gpu); one name must map to one class",
    ]);
  });

  it('when an extendedResourceName is another pool\'s resource (time-slicing replicas, HAMi\'s, RDMA), then the policy is refused', () => {
    const text = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {pool: l4}, gpu: {model: L4, product: NVIDIA-L4, memory: 24Gi, perNode: 4}, timeSlicing: {resource: nvidia.com/l4-shared}}
  - {name: h100, backend: dra, nodeSelector: {pool: h}, gpu: {model: H100, product: NVIDIA H100 80GB HBM3, memory: 80Gi, perNode: 8},
     dra: {deviceClasses: {gpu: {extendedResourceName: nvidia.com/l4-shared}}}}
`;
    assert.deepEqual(errors(text), ["/pools/1/dra/deviceClasses/gpu/extendedResourceName: nvidia.com/l4-shared is /pools/0's (l4) resource; one name must mean one thing on a node"]);
  });

  it('when two dra pools share a class (one model in two zones), then it is printed once with both pools', () => {
    const shared = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a, backend: dra, nodeSelector: {zone: a}, gpu: {model: H100, product: NVIDIA H100 80GB HBM3, memory: 80Gi, perNode: 8}, dra: {deviceClasses: {gpu: {name: h100.example.com}}}}
  - {name: b, backend: dra, nodeSelector: {zone: b}, gpu: {model: H100, product: NVIDIA H100 80GB HBM3, memory: 80Gi, perNode: 8}, dra: {deviceClasses: {gpu: {name: h100.example.com}}}}
`);
    const classes = policyDeviceClasses(shared);
    assert.deepEqual(classes.map((c) => [c.metadata.name, c.metadata.annotations['gpu-admission.io/pools']]), [['h100.example.com', 'a,b']]);
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu': '1' } }]);
    const d = decide(pod, { policy: shared, namespace: ns });
    assert.equal(d.kind, 'patch');
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : [], ['a', 'b'], 'one translation: both pools');
  });

  it('when a dra pool gives its product without spaces, then a warning says the driver publishes NVML\'s name', () => {
    const p = parsePolicyOrThrow(pool('').replace('product: NVIDIA H100 80GB HBM3, ', ''));
    assert.match(policyWarnings(p).join(), /set gpu\.product to NVML's name \(NVIDIA H100 80GB HBM3\): the driver's productName is never "H100"/);
    assert.deepEqual(policyWarnings(policy), [], 'the whole and MIG pools on one node are told apart by class');
  });
});

describe('dra DeviceClasses', () => {
  const [h100, a100, mig] = policy.pools;
  it('when the classes are generated, then every attribute is guarded and the model and kind are pinned', () => {
    assert.deepEqual(classSelectors(mig!, mig!.dra!.deviceClasses[0]!), [
      'device.driver == "gpu.nvidia.com"',
      'has(device.attributes["gpu.nvidia.com"].type) && device.attributes["gpu.nvidia.com"].type == "mig"',
      'has(device.attributes["gpu.nvidia.com"].profile) && device.attributes["gpu.nvidia.com"].profile == "3g.40gb"',
      'has(device.attributes["gpu.nvidia.com"].productName) && device.attributes["gpu.nvidia.com"].productName == "NVIDIA A100-SXM4-80GB"',
    ]);
    const classes = policyDeviceClasses(policy);
    assert.deepEqual(classes.map((c) => [c.metadata.name, c.spec.extendedResourceName]),
      [['h100.gpu-admission.io', undefined], ['a100.example.com', 'nvidia.com/a100'], ['a100-mig-3g-40gb.gpu-admission.io', undefined]]);
  });

  it('when devices are matched as the classes select them, then model, kind and profile all count', () => {
    const gpu = { driver: 'gpu.nvidia.com', attributes: { type: 'gpu', productName: 'NVIDIA H100 80GB HBM3' } };
    assert.equal(classSelects(h100!, h100!.dra!.deviceClasses[0]!, gpu), true);
    assert.equal(classSelects(a100!, a100!.dra!.deviceClasses[0]!, gpu), false, 'another model');
    assert.equal(classSelects(h100!, h100!.dra!.deviceClasses[0]!, { ...gpu, driver: 'gpu.example.com' }), false, 'another driver');
    // As the cluster view reads it from a ResourceSlice: an attribute qualified in the driver's domain is its short name.
    const view = toDraView([], [{ spec: { driver: 'gpu.nvidia.com', nodeName: 'n', pool: { name: 'n', generation: 1 }, devices: [{ name: 'gpu-0-mig-3g40gb-9-0',
      attributes: { 'gpu.nvidia.com/type': { string: 'mig' }, profile: { string: '3g.40gb' }, productName: { string: 'NVIDIA A100-SXM4-80GB' } } }] } }], []);
    const slice = view.devicesByNode.get('n')![0]!;
    assert.equal(classSelects(mig!, mig!.dra!.deviceClasses[0]!, slice), true, 'a qualified attribute in the driver\'s domain');
    assert.equal(classSelects(mig!, mig!.dra!.deviceClasses[0]!, { ...slice, attributes: { ...slice.attributes, profile: '1g.10gb' } }), false);
    assert.equal(classSelects(a100!, a100!.dra!.deviceClasses[0]!, slice), false, 'a MIG device is not a whole card');
  });
});
