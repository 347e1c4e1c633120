// What the policy language says of real clusters, and what the engine then does with pods:
// model labels, MIG layouts and strategies, time-slicing replicas, renamed HAMi resources, RDMA
// counts, drained pools, preferred pools, namespace selectors, and devices counted one each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { applied, generic, limitsOf, podWith } from '../helpers/pods.ts';

const policy = (pools: string, extra = ''): Policy => parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
${pools}${extra}`);
const G = generic;
const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, labels?: Record<string, string>): Pod =>
  podWith([{ name: 'main', limits }], annotations, labels ? { labels } : {});
/** A pod of n containers `c0`…, each with these limits. */
const containers = (n: number, limits: Record<string, string>): Pod => podWith(Array.from({ length: n }, (_, i) => ({ name: `c${i}`, limits })));
function run(p: Policy, pod: Pod, ns = 'ml', nsLabels: Record<string, string> = {}) {
  const d = decide(pod, { policy: p, namespace: { name: ns, labels: nsLabels } });
  return { d, out: d.kind === 'patch' ? applied(pod, d) : undefined, message: d.kind === 'deny' ? d.message : '' };
}
const terms = (pod: Pod | undefined): string[][] => (pod?.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [])
  .map((t) => (t.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${e.values?.join(',') ?? ''}`.trim()));

const TWO_CGPU = policy(`  - {name: t4, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}
  - {name: a10, backend: ack-cgpu, gpu: {model: A10, product: NVIDIA-A10, memory: 24Gi, perNode: 4}}
`);

describe('policy features: GPU models are node labels', () => {
  it('when two pools run one mode with different models, then each selects its model\'s nodes by ACK\'s label', () => {
    const { d, out } = run(TWO_CGPU, one(G(undefined, '4Gi'), { 'gpu-admission.io/gpu-model': 'A10' }));
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['a10']);
    assert.deepEqual(terms(out), [['ack.node.gpu.schedule In cgpu', 'ack.node.gpu.placement NotIn spread', 'aliyun.accelerator/nvidia_name In NVIDIA-A10']]);
  });
  it('when the pod names the model as the node label says it, then that is accepted too', () => {
    const { d } = run(TWO_CGPU, one(G(undefined, '4Gi'), { 'gpu-admission.io/gpu-model': 'NVIDIA-A10' }));
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['a10']);
  });
  it('when a pool\'s nodeSelector already names the model label, then no second model requirement is added', () => {
    const p = policy('  - {name: t4, backend: ack-cgpu, nodeSelector: {aliyun.accelerator/nvidia_name: Tesla-T4-16GB}, gpu: {model: T4, memory: 15Gi, perNode: 1}}\n');
    const { out } = run(p, one(G(undefined, '4Gi')));
    assert.deepEqual(terms(out), [['ack.node.gpu.schedule In cgpu', 'ack.node.gpu.placement NotIn spread', 'aliyun.accelerator/nvidia_name In Tesla-T4-16GB']]);
  });
  it('when an upstream pool has a model, then GPU feature discovery\'s nvidia.com/gpu.product selects it', () => {
    const p = policy('  - {name: h20, backend: nvidia-exclusive, nodeSelector: {pool: h20}, gpu: {model: H20, product: NVIDIA-H20, memory: 96Gi, perNode: 8}}\n');
    assert.deepEqual(terms(run(p, one(G('1'))).out), [['nvidia.com/gpu.product In NVIDIA-H20', 'pool In h20']]);
  });
  it('when a HAMi pool has a model, then the pod carries HAMi\'s card-type annotation', () => {
    const p = policy('  - {name: l40s, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}}\n');
    const { out } = run(p, one(G('1', '8Gi')));
    assert.equal(out?.metadata?.annotations?.['nvidia.com/use-gputype'], 'L40S');
  });
});

describe('policy features: MIG layouts, profiles per GPU model, and the single strategy', () => {
  const layout = policy('  - {name: a100, backend: nvidia-mig, gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 8}, mig: {layout: {3g.40gb: 2}}}\n');
  it('when cards hold 2 × 3g.40gb, then 9 slices fit a node of 8 cards (16 slices) and 17 do not', () => {
    // One MIG device per container (a CUDA process enumerates one): the slices of a pod are its containers'.
    const nine = run(layout, containers(9, G('1', '30Gi')));
    assert.deepEqual(nine.out && limitsOf(nine.out, 'c8'), { 'nvidia.com/mig-3g.40gb': '1' });
    assert.match(run(layout, containers(17, G('1', '30Gi'))).message, /pool a100: pod asks 17 × 3g\.40gb, a node has 16 \(8 cards\)/);
  });
  it('when profiles are listed without a layout, then the GPU\'s catalog bounds a node: 7 × 1g.10gb a card', () => {
    const listed = policy('  - {name: a100, backend: nvidia-mig, gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 1}, mig: {profiles: [1g.10gb]}}\n');
    assert.equal(run(listed, containers(7, G('1', '9Gi'))).d.kind, 'patch');
    assert.match(run(listed, containers(8, G('1', '9Gi'))).message, /pod asks 8 × 1g\.10gb, a node has 7/);
  });
  it('when a memory request fits no profile, then the message says profiles count decimal GB', () => {
    assert.match(run(layout, one(G('1', '40Gi'))).message, /MIG profiles count decimal GB: 3g\.40gb = 37\.3Gi/);
  });
  it('when the single strategy is used, then slices are nvidia.com/gpu on nodes labelled single with the MIG product', () => {
    const single = policy('  - {name: h100, backend: nvidia-mig, gpu: {model: H100, product: NVIDIA-H100-80GB-HBM3, memory: 80Gi, perNode: 8}, mig: {strategy: single, profiles: [1g.10gb]}}\n');
    const { out } = run(single, one(G('1', '8Gi')));
    assert.deepEqual(out && limitsOf(out, 'main'), { 'nvidia.com/gpu': '1' });
    assert.deepEqual(terms(out), [['nvidia.com/mig.strategy In single', 'nvidia.com/gpu.product In NVIDIA-H100-80GB-HBM3-MIG-1g.10gb']]);
  });
  const invalid: [string, string, string][] = [
    ['7g.40gb on an H100', '{name: h, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {profiles: [1g.10gb, 7g.40gb]}}',
      '/pools/0/mig/profiles/1: 7g.40gb is not a MIG profile of the 80GB (A100, A800, H100, H800)'],
    ['5g.40gb on an H100', '{name: h, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {layout: {5g.40gb: 1}}}',
      '/pools/0/mig/layout/5g.40gb: 5g.40gb is not a MIG profile'],
    ['three 3g.40gb on one card', '{name: h, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {layout: {3g.40gb: 3}}}',
      '/pools/0/mig/layout/3g.40gb: a card holds at most 2 × 3g.40gb'],
    ['a layout over seven slices', '{name: h, backend: nvidia-mig, gpu: {model: X, memory: 80Gi, perNode: 8}, mig: {layout: {3g.40gb: 2, 2g.20gb: 1}}}',
      '/pools/0/mig/layout: 8 compute slices, a card has 7'],
    ['the single strategy with two profiles', '{name: h, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {strategy: single, profiles: [1g.10gb, 3g.40gb]}}',
      '/pools/0/mig/profiles: the single strategy cuts every card alike'],
    ['both profiles and a layout', '{name: h, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {profiles: [1g.10gb], layout: {1g.10gb: 7}}}',
      '/pools/0/mig: give either profiles or layout'],
  ];
  for (const [what, pool, error] of invalid) {
    it(`when the policy has ${what}, then it is refused naming the path`, () => {
      const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - ${pool}\n`);
      assert.ok(!r.ok && r.errors.some((e) => e.startsWith(error)), JSON.stringify(r.ok ? 'valid' : r.errors));
    });
  }
  it('when an A30 pool serves whole cards and half a card, then 4g.24gb is its full card and 2g.12gb its half (4 slices)', () => {
    const a30 = policy('  - {name: a30, backend: nvidia-mig, gpu: {model: A30, product: NVIDIA-A30, memory: 24Gi, perNode: 4}, mig: {profiles: [1g.6gb, 2g.12gb, 4g.24gb]}}\n');
    assert.deepEqual(run(a30, one(G('1'))).out && limitsOf(run(a30, one(G('1'))).out as Pod, 'main'), { 'nvidia.com/mig-4g.24gb': '1' });
    assert.deepEqual(limitsOf(run(a30, one(G('1', undefined, '50'))).out as Pod, 'main'), { 'nvidia.com/mig-2g.12gb': '1' });
  });
  it('when a layout needs more memory slices than a card has, then it is refused', () => {
    const r = parsePolicy('apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - {name: a, backend: nvidia-mig, gpu: {model: A100, product: NVIDIA-A100-SXM4-80GB, memory: 80Gi, perNode: 8}, mig: {layout: {3g.40gb: 2, 1g.10gb: 1}}}\n');
    assert.ok(!r.ok && r.errors.includes('/pools/0/mig/layout: 9 memory slices, a card has 8'), JSON.stringify(r.ok ? 'valid' : r.errors));
  });
  it('when native MIG slices exceed what a node holds, then they are refused as generic ones are', () => {
    const p = policy('  - {name: a, backend: nvidia-mig, gpu: {model: A100, product: NVIDIA-A100-SXM4-80GB, memory: 80Gi, perNode: 1}, mig: {layout: {3g.40gb: 2}}}\n');
    assert.match(run(p, one({ 'nvidia.com/mig-3g.40gb': '3' })).message, /nvidia\.com\/mig-3g\.40gb: 3 × 3g\.40gb, a node has 2 \(1 cards\)/);
    assert.equal(run(p, one({ 'nvidia.com/mig-3g.40gb': '2' })).d.kind, 'patch');
  });
  it('when the single strategy is used, then native nvidia.com/gpu is slices, counted per node by the layout', () => {
    const single = policy('  - {name: s, backend: nvidia-mig, gpu: {model: H100, product: NVIDIA-H100-80GB-HBM3, memory: 80Gi, perNode: 8}, mig: {strategy: single, layout: {1g.10gb: 7}}}\n',
      'defaults: {acceptNvidiaGpu: false}\n');
    assert.equal(run(single, one({ 'nvidia.com/gpu': '16' })).d.kind, 'patch', '16 of 56 slices');
    assert.match(run(single, one({ 'nvidia.com/gpu': '57' })).message, /57 × 1g\.10gb, a node has 56/);
  });
  it('when A30 and A100 40GB profiles are listed, then the catalog accepts them', () => {
    for (const [model, memory, profiles] of [['A30', '24Gi', '[1g.6gb, 2g.12gb, 4g.24gb]'], ['A100-SXM4-40GB', '40Gi', '[1g.5gb, 3g.20gb, 7g.40gb]'],
      ['H200', '141Gi', '[1g.18gb, 3g.71gb, 7g.141gb]'], ['H20', '96Gi', '[1g.12gb, 3g.48gb, 7g.96gb]']] as const) {
      const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - {name: m, backend: nvidia-mig, gpu: {model: ${model}, memory: ${memory}, perNode: 8}, mig: {profiles: ${profiles}}}\n`);
      assert.ok(r.ok, `${model}: ${JSON.stringify(r.ok ? '' : r.errors)}`);
    }
  });
});

describe('policy features: time-slicing replicas', () => {
  const slices = (extra: string): Policy => policy(`  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {pool: l4}, gpu: {model: L4, memory: 24Gi, perNode: 2}, timeSlicing: {replicas: 4${extra}}}\n`);
  it('when a share fits one replica (24Gi / 4 = 6Gi), then it is served; when it does not, then the pool says why', () => {
    assert.equal(run(slices(''), one(G(undefined, '6Gi'))).d.kind, 'patch');
    assert.match(run(slices(''), one(G(undefined, '8Gi'))).message, /pool l4: a replica is 1\/4 of a 24Gi card; 8Gi does not fit it/);
  });
  it('when the device plugin fails requests greater than one, then a native request of 2 replicas is refused', () => {
    assert.match(run(slices(', failRequestsGreaterThanOne: true'), one({ 'nvidia.com/gpu.shared': '2' })).message,
      /nvidia\.com\/gpu\.shared: 2 replicas, and the device plugin refuses more than one \(failRequestsGreaterThanOne\)/);
    assert.equal(run(slices(''), one({ 'nvidia.com/gpu.shared': '2' })).d.kind, 'patch', 'allowed where the plugin allows it');
  });
});

describe('policy features: HAMi resource names, RDMA counts', () => {
  const renamed = policy(`  - {name: h20, backend: nvidia-exclusive, nodeSelector: {pool: h20}, gpu: {model: H20, memory: 96Gi, perNode: 8}}
  - {name: l40s, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}, hami: {resourceName: hami.io/gpu, resourceMem: hami.io/gpumem, resourceCores: hami.io/gpucores}}
`);
  it('when HAMi\'s resources are renamed, then shares are written with its names and whole cards stay exclusive', () => {
    const share = run(renamed, one(G('1', '8Gi', '30')));
    assert.deepEqual(share.out && limitsOf(share.out, 'main'), { 'hami.io/gpu': '1', 'hami.io/gpumem': '8192', 'hami.io/gpucores': '30' });
    const whole = run(renamed, one(G('2')));
    assert.deepEqual(whole.d.kind === 'patch' ? whole.d.record.pools : whole.d, ['h20']);
  });
  it('when a renamed HAMi resource is asked natively, then it is routed to HAMi', () => {
    const { d } = run(renamed, one({ 'hami.io/gpu': '1', 'hami.io/gpumem': '4096' }));
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['l40s']);
  });
  it('when HAMi keeps nvidia.com/gpu beside an exclusive pool, then the policy is refused: HAMi\'s webhook would take its pods', () => {
    const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:
  - {name: h20, backend: nvidia-exclusive, nodeSelector: {pool: h20}, gpu: {model: H20, memory: 96Gi, perNode: 8}}
  - {name: l40s, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}}\n`);
    assert.ok(!r.ok && r.errors[0]?.startsWith("/pools/1/hami/resourceName: HAMi's webhook would claim the nvidia.com/gpu pods of pool h20"), JSON.stringify(r));
  });
  it('when HAMi keeps nvidia.com/gpu beside time-slicing that keeps it too, then the policy is refused', () => {
    const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:
  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {pool: l4}, timeSlicing: {resource: nvidia.com/gpu, replicas: 4}, gpu: {model: L4, memory: 24Gi, perNode: 2}}
  - {name: l40s, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}}\n`);
    assert.ok(!r.ok && /hami\/resourceName: HAMi's webhook would claim the nvidia\.com\/gpu pods of pool l4/.test(r.errors[0] ?? ''), JSON.stringify(r));
  });
  it('when time-slicing keeps the name nvidia.com/gpu, then a native nvidia.com/gpu pod is routed to it', () => {
    const p = policy('  - {name: l4, backend: nvidia-time-slicing, nodeSelector: {pool: l4}, timeSlicing: {resource: nvidia.com/gpu, replicas: 4}, gpu: {model: L4, memory: 24Gi, perNode: 2}}\n',
      'defaults: {acceptNvidiaGpu: false}\n');
    const { d } = run(p, one({ 'nvidia.com/gpu': '1' }));
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['l4']);
  });
  it('when a pool gives RDMA a resource and a count, then the pod gets that many of it', () => {
    const p = policy('  - {name: h20, backend: nvidia-exclusive, nodeSelector: {pool: h20}, rdma: {resource: rdma/hca_shared_devices_a, perPod: 2}, gpu: {model: H20, memory: 96Gi, perNode: 8}}\n');
    const { out } = run(p, one(G('8'), { 'gpu-admission.io/rdma': 'true' }));
    assert.deepEqual(out && limitsOf(out, 'main'), { 'nvidia.com/gpu': '8', 'rdma/hca_shared_devices_a': '2' });
  });
});

describe('policy features: operators\' everyday needs', () => {
  const base = `  - {name: t4, backend: ack-cgpu, gpu: {model: Tesla-T4, memory: 15Gi, perNode: 1}}
  - {name: a10, backend: ack-cgpu, gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}}
`;
  it('when a pool is disabled, then new pods go elsewhere and natives meant for it alone are refused with the reason', () => {
    const drained = policy(base.replace('{name: t4, ', '{name: t4, disabled: true, '));
    const { d } = run(drained, one(G(undefined, '4Gi')));
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['a10']);
    const only = run(drained, one({ 'aliyun.com/gpu-mem': '4' }, { 'gpu-admission.io/pools': 't4' }));
    assert.match(only.message, /pool t4: disabled \(drained\): no new pods are routed to it/);
  });
  it('when a namespace prefers pools, then they are tried first and the rest follow in policy order', () => {
    const p = policy(base, 'namespaces:\n  - {names: [vision], preferredPools: [a10]}\n');
    const preferred = run(p, one(G(undefined, '4Gi')), 'vision');
    assert.deepEqual(preferred.d.kind === 'patch' ? preferred.d.record.pools : preferred.d, ['a10', 't4'], 'one translation: both, preferred first');
    assert.equal(preferred.out?.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.preference.matchExpressions
      ?.find((e) => e.key === 'aliyun.accelerator/nvidia_name')?.values?.[0], 'NVIDIA-A10', 'the preferred pool weighs most');
    const elsewhere = run(p, one(G(undefined, '4Gi')), 'ml');
    assert.deepEqual(elsewhere.d.kind === 'patch' ? elsewhere.d.record.pools : elsewhere.d, ['t4', 'a10']);
    const big = run(p, one(G(undefined, '20Gi')), 'vision');
    assert.deepEqual(big.d.kind === 'patch' ? big.d.record.pools : big.d, ['a10'], 'the preferred pool still has to serve');
  });
  it('when a namespace rule selects by matchExpressions, then it applies to the namespaces it selects', () => {
    const p = policy(base, 'namespaces:\n  - {selector: {matchExpressions: [{key: tier, operator: In, values: [batch, dev]}]}, allowedPools: [t4]}\n');
    assert.match(run(p, one(G(undefined, '20Gi')), 'x', { tier: 'dev' }).message, /pool a10: not allowed in namespace x/);
    assert.equal(run(p, one(G(undefined, '20Gi')), 'y', { tier: 'prod' }).d.kind, 'patch');
  });
  it('when a namespace selector expression has the wrong number of values, then the policy is refused naming it', () => {
    const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n${base}namespaces:
  - {selector: {matchExpressions: [{key: tier, operator: In, values: []}, {key: x, operator: Exists, values: [a]}]}, allowedPools: [t4]}\n`);
    const errors = r.ok ? [] : r.errors;
    assert.ok(errors.includes('/namespaces/0/selector/matchExpressions/0/values: In needs at least one value'), JSON.stringify(errors));
    assert.ok(errors.includes('/namespaces/0/selector/matchExpressions/1/values: Exists takes no values'), JSON.stringify(errors));
  });
  it('when MIG slices are asked natively, then every slice counts as one GPU against the namespace limit, as generic requests do', () => {
    const p = policy('  - {name: m, backend: nvidia-mig, gpu: {model: H100, memory: 80Gi, perNode: 8}, mig: {profiles: [1g.10gb]}}\n',
      'namespaces:\n  - {names: [ml], maxGpusPerPod: 2}\n');
    assert.match(run(p, one({ 'nvidia.com/mig-1g.10gb': '14' })).message, /pod asks 14 GPUs, namespace ml allows at most 2 per pod/);
    assert.match(run(p, one(G('3', '9Gi'))).message, /pod asks 3 GPUs, namespace ml allows at most 2 per pod/);
  });
});

describe('policy features: messages', () => {
  it('when a pod asks memory in GB, then the message says GB is not a Kubernetes suffix', () => {
    assert.match(run(TWO_CGPU, one(G(undefined, '24GB'))).message, /"24GB" has an unknown suffix "GB"; GB is not a Kubernetes suffix: did you mean 24G or 24Gi\?/);
  });
  it('when the YAML does not parse, then the error gives the line', () => {
    const r = parsePolicy('apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - name: a\n   backend: x\n');
    assert.ok(!r.ok && /^line 5: /.test(r.errors[0] ?? ''), JSON.stringify(r));
  });
  it('when a field or value is misspelt, then the error says what was meant', () => {
    const r = parsePolicy('apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - {name: a, backend: ack-cgpuu, gpu: {model: m, memory: 8Gi, pernode: 1}}\n');
    const errors = r.ok ? [] : r.errors;
    assert.ok(errors.includes('/pools/0/gpu: unknown field "pernode"; did you mean "perNode"?'), JSON.stringify(errors));
    assert.ok(errors.some((e) => e.startsWith('/pools/0/backend: must be one of') && e.endsWith('did you mean "ack-cgpu"?')), JSON.stringify(errors));
  });
  it('when YAML aliases expand too far, then the policy is refused, not a crash', () => {
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`;
    const r = parsePolicy(bomb);
    assert.ok(!r.ok && /aliases/.test(r.errors[0] ?? ''), JSON.stringify(r));
  });
});

describe('policy features: native MIG slices of a whole pod', () => {
  it('when containers ask mixed-strategy slices that each fit a node but not together, then the pod is refused (no node holds them)', () => {
    // NVIDIA's device plugin advertises nvidia.com/mig-1g.10gb per slice: a node of 1 card cut into 7 has 7, and a pod asking 8 never schedules.
    const mixed = policy('  - {name: a100, backend: nvidia-mig, gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 1}, mig: {profiles: [1g.10gb]}}\n');
    const pod = podWith([{ name: 'a', limits: { 'nvidia.com/mig-1g.10gb': '4' } }, { name: 'b', limits: { 'nvidia.com/mig-1g.10gb': '4' } }]);
    assert.match(run(mixed, pod).message, /pool a100: pod asks 8 × 1g\.10gb, a node has 7/);
    const fits = podWith([{ name: 'a', limits: { 'nvidia.com/mig-1g.10gb': '4' } }, { name: 'b', limits: { 'nvidia.com/mig-1g.10gb': '3' } }]);
    assert.notEqual(run(mixed, fits).d.kind, 'deny');
  });
});
