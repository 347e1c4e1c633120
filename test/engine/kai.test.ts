// Backend kai (KAI Scheduler): what the webhook writes for whole cards, MIG and shares, and what
// it refuses, each rule with its source in docs/backends.md (`kai`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Decision } from '../../src/engine/decision.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { poolTerms } from '../../src/policy/pool-nodes.ts';
import { describeRequirement } from '../../src/vocabulary/node-selector.ts';
import { applied, generic, limitsOf, podWith } from '../helpers/pods.ts';

const POLICY = (kai = '{queue: team-a}', extra = '', defaults = ''): string => `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
${defaults}pools:
  - name: a10-kai
    backend: kai
    nodeSelector: {kai.scheduler/node-pool: a10}
    gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}
    kai: ${kai}
${extra}`;

const ns = { name: 'ml', labels: {} };
const run = (pod: Pod, policy = POLICY()): Decision => decide(pod, { policy: parsePolicyOrThrow(policy), namespace: ns });
const reasons = (d: Decision): string => (d.kind === 'deny' ? d.problems.map((p) => p.message).join('\n') : `not denied: ${d.kind}`);

describe('kai: whole cards and MIG', () => {
  it('when a pod asks 2 whole GPUs, then it gets nvidia.com/gpu: 2, schedulerName kai-scheduler and the pool queue label', () => {
    const pod = podWith([{ name: 'train', limits: generic('2') }]);
    const out = applied(pod, run(pod));
    assert.deepEqual(limitsOf(out, 'train'), { 'nvidia.com/gpu': '2' });
    assert.equal(out.spec.schedulerName, 'kai-scheduler');
    assert.equal(out.metadata?.labels?.['kai.scheduler/queue'], 'team-a');
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], undefined);
  });

  it('when the pod already names its queue, then its own label is kept', () => {
    const pod = podWith([{ name: 'train', limits: generic('1') }], {}, { labels: { 'kai.scheduler/queue': 'research' } });
    assert.equal(applied(pod, run(pod)).metadata?.labels?.['kai.scheduler/queue'], 'research');
  });

  it('when the pool has no queue, then no queue label is written (KAI puts the pod in its default queue)', () => {
    const pod = podWith([{ name: 'train', limits: generic('1') }]);
    assert.equal(applied(pod, run(pod, POLICY('{}'))).metadata?.labels?.['kai.scheduler/queue'], undefined);
  });

  it('when two containers ask whole cards, then both get nvidia.com/gpu (only shares are one per pod)', () => {
    const pod = podWith([{ name: 'a', limits: generic('1') }, { name: 'b', limits: generic('2') }]);
    const out = applied(pod, run(pod));
    assert.deepEqual([limitsOf(out, 'a'), limitsOf(out, 'b')], [{ 'nvidia.com/gpu': '1' }, { 'nvidia.com/gpu': '2' }]);
  });

  it('when the kai pool lists MIG profiles, then a share gets the smallest profile that holds it and MIG nodes are required', () => {
    const policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a100-kai, backend: kai, nodeSelector: {pool: a100}, gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 8}, mig: {profiles: [1g.10gb, 3g.40gb, 7g.80gb]}}
`);
    const pod = podWith([{ name: 'train', limits: generic('1', '20Gi') }]);
    const out = applied(pod, decide(pod, { policy, namespace: ns }));
    assert.deepEqual(limitsOf(out, 'train'), { 'nvidia.com/mig-3g.40gb': '1' });
    assert.equal(out.spec.schedulerName, 'kai-scheduler');
    assert.ok(poolTerms(policy.pools[0]!).every((t) => t.map(describeRequirement).includes('nvidia.com/mig.strategy=mixed')));
  });
});

describe('kai: a memory share is the gpu-fraction annotation', () => {
  it('when container train asks 12Gi of a 23028Mi card beside a sidecar, then gpu-fraction is 0.54 (rounded up, with a warning) naming train', () => {
    const pod = podWith([{ name: 'sidecar', limits: {} }, { name: 'train', limits: generic('1', '12Gi') }]);
    const d = run(pod);
    const out = applied(pod, d);
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], '0.54'); // 12288 / 23028 = 0.5336…, up to 0.54 (12435 MiB)
    assert.equal(out.metadata?.annotations?.['gpu-fraction-container-name'], 'train');
    assert.equal(out.metadata?.annotations?.['gpu-fraction-num-devices'], undefined);
    assert.equal(out.metadata?.annotations?.['gpu-memory'], undefined, 'never gpu-memory');
    assert.deepEqual(limitsOf(out, 'train'), {}, 'no GPU resource: KAI allocates the share from the annotation');
    assert.equal(out.spec.schedulerName, 'kai-scheduler');
    assert.ok(d.kind === 'patch' && d.warnings.some((w) => w.includes('rounded up to gpu-fraction 0.54') && w.length <= 120), JSON.stringify(d));
  });

  it('when the share is an exact hundredth of the card, then no warning is given', () => {
    const pod = podWith([{ name: 'train', limits: generic('1', '5Gi') }]);
    const d = run(pod, POLICY('{queue: q}').replace('23028Mi', '20Gi'));
    assert.equal(applied(pod, d).metadata?.annotations?.['gpu-fraction'], '0.25');
    assert.ok(d.kind === 'patch' && d.warnings.length === 0, JSON.stringify(d));
  });

  it('when a share spans 2 cards, then gpu-fraction-num-devices is 2', () => {
    const pod = podWith([{ name: 'train', limits: generic('2', '8Gi') }]);
    const out = applied(pod, run(pod));
    assert.equal(out.metadata?.annotations?.['gpu-fraction-num-devices'], '2');
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], '0.36'); // 8192 / 23028 = 0.3557…
  });

  it('when the share is an init container, then gpu-fraction-container-name names it (KAI serves init containers too)', () => {
    const pod = podWith([{ name: 'main', limits: {} }], {}, {
      initContainers: [{ name: 'warmup', image: 'busybox', resources: { limits: generic('1', '4Gi') } }],
    });
    assert.equal(applied(pod, run(pod)).metadata?.annotations?.['gpu-fraction-container-name'], 'warmup');
  });

  it('when a share rounds up to the whole card, then the whole card is given with a warning', () => {
    const pod = podWith([{ name: 'train', limits: generic('1', '22.45Gi') }]);
    const d = run(pod);
    const out = applied(pod, d);
    assert.deepEqual(limitsOf(out, 'train'), { 'nvidia.com/gpu': '1' });
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], undefined);
    assert.ok(d.kind === 'patch' && d.warnings.some((w) => w.includes('rounds up to a whole GPU')), JSON.stringify(d));
  });

  it('when the policy says rounding: deny, then a share that is not a whole hundredth is refused', () => {
    const pod = podWith([{ name: 'train', limits: generic('1', '12Gi') }]);
    assert.match(reasons(run(pod, POLICY('{queue: q}', '', 'defaults: {rounding: deny}\n'))), /not a whole hundredth.*rounding: deny/);
  });

  it('when the webhook runs on its own output (reinvocation), then it returns no patch', () => {
    const pod = podWith([{ name: 'sidecar', limits: {} }, { name: 'train', limits: generic('1', '12Gi') }]);
    const out = applied(pod, run(pod));
    const again = run(out);
    assert.equal(again.kind, 'allow', JSON.stringify(again));
  });

  it('when a decided share pod is decided again and routed to a HAMi pool, then the KAI annotations and scheduler are taken back', () => {
    const pod = podWith([{ name: 'train', limits: generic('1', '12Gi') }]);
    const out = applied(pod, run(pod));
    const both = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-kai, backend: kai, nodeSelector: {pool: kai}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}}
  - {name: a10-hami, backend: hami, nodeSelector: {pool: hami}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}}
`;
    const moved = applied(out, run({ ...out, metadata: { ...out.metadata, annotations: { ...out.metadata?.annotations, 'gpu-admission.io/pools': 'a10-hami' } } }, both));
    const annotations = moved.metadata?.annotations ?? {};
    assert.deepEqual(['gpu-fraction', 'gpu-fraction-container-name'].filter((k) => k in annotations), []);
    assert.equal(moved.spec.schedulerName, 'hami-scheduler');
    assert.equal(limitsOf(moved, 'train')?.['nvidia.com/gpumem'], '12288');
  });
});

describe('kai: what it refuses', () => {
  it('when a share asks compute (gpu-cores), then kai refuses it: KAI never limits compute', () => {
    const pod = podWith([{ name: 'train', limits: generic('1', '8Gi', '50') }]);
    assert.match(reasons(run(pod)), /a10-kai: KAI limits no compute/);
  });

  it('when two containers ask shares, then kai refuses the pod with the reason', () => {
    const pod = podWith([{ name: 'a', limits: generic('1', '4Gi') }, { name: 'b', limits: generic('1', '4Gi') }]);
    assert.match(reasons(run(pod)), /KAI gives a share to one container of a pod.*container "a" asks a share beside container "b"/);
  });

  it('when a share sits beside a whole card in another container, then kai refuses the pod (KAI admission refuses both)', () => {
    const pod = podWith([{ name: 'a', limits: generic('1', '4Gi') }, { name: 'b', limits: generic('1') }]);
    assert.match(reasons(run(pod)), /refuses it beside whole GPUs/);
  });

  it('when the pod needs memory isolation and the pool declares no HAMi-core, then the share is refused', () => {
    const pod = podWith([{ name: 'train', limits: generic('1', '8Gi') }], { 'gpu-admission.io/isolation': 'memory' });
    assert.match(reasons(run(pod)), /limits no memory unless the pool declares kai.gpuIsolationProvider: HAMi-core/);
  });

  it('when the pool declares HAMi-core, then a memory-isolated share is served and the nodes must carry nvidia.com/gpu.memory', () => {
    const text = POLICY('{queue: q, gpuIsolationProvider: HAMi-core}');
    const pod = podWith([{ name: 'train', limits: generic('1', '8Gi') }], { 'gpu-admission.io/isolation': 'memory' });
    const out = applied(pod, run(pod, text));
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], '0.36');
    const terms = poolTerms(parsePolicyOrThrow(text).pools[0]!).map((t) => t.map(describeRequirement));
    assert.ok(terms.every((t) => t.includes('nvidia.com/gpu.memory Exists')), JSON.stringify(terms));
  });

  it('when the pod needs compute isolation, then a share is refused even with HAMi-core, and whole cards are still served', () => {
    const text = POLICY('{gpuIsolationProvider: HAMi-core}');
    const share = podWith([{ name: 'train', limits: generic('1', '8Gi') }], { 'gpu-admission.io/isolation': 'compute' });
    assert.match(reasons(run(share, text)), /isolates memory only \(no compute\)/);
    const whole = podWith([{ name: 'train', limits: generic('1') }], { 'gpu-admission.io/isolation': 'compute' });
    assert.equal(run(whole, text).kind, 'patch');
  });

  it('when the policy gives kai to another backend or an unknown gpuIsolationProvider, then it is refused with the path', () => {
    const other = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a, backend: nvidia-exclusive, nodeSelector: {p: a}, gpu: {model: M, memory: 24Gi, perNode: 1}, kai: {queue: q}}
`);
    assert.ok(!other.ok && other.errors.some((e) => e.includes('/pools/0/kai: only backend kai takes it')), JSON.stringify(other));
    const provider = parsePolicy(POLICY('{gpuIsolationProvider: hami}'));
    assert.ok(!provider.ok && provider.errors.some((e) => e.includes('/pools/0/kai/gpuIsolationProvider')), JSON.stringify(provider));
    const queue = parsePolicy(POLICY('{queue: "Team A"}'));
    assert.ok(!queue.ok && queue.errors.some((e) => e.includes('/pools/0/kai/queue')), JSON.stringify(queue));
  });
});

describe("kai: native requests in KAI's own annotations", () => {
  const MIXED = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10, backend: nvidia-exclusive, nodeSelector: {pool: a10}, gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}}
  - {name: a10-kai, backend: kai, nodeSelector: {pool: kai}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}, kai: {queue: team-a}}
`;
  const native = (annotations: Record<string, string>, containers = [{ name: 'app', limits: {} }]): Pod => podWith(containers, annotations);

  const invalid: [string, Record<string, string>, RegExp][] = [
    ['gpu-fraction 1', { 'gpu-fraction': '1' }, /annotation gpu-fraction: "1": must be a number between 0 and 1/],
    ['gpu-fraction 0', { 'gpu-fraction': '0' }, /between 0 and 1/],
    ['gpu-fraction 500m (a quantity, not a float)', { 'gpu-fraction': '500m' }, /between 0 and 1/],
    ['gpu-memory 4Gi (a unit)', { 'gpu-memory': '4Gi' }, /annotation gpu-memory: "4Gi": must be a whole number of MiB from 1, without a unit/],
    ['gpu-memory 0', { 'gpu-memory': '0' }, /whole number of MiB from 1/],
    ['gpu-fraction and gpu-memory', { 'gpu-fraction': '0.5', 'gpu-memory': '2000' }, /KAI refuses a pod that asks both GPUs and GPU memory/],
    ['gpu-fraction-num-devices alone', { 'gpu-fraction-num-devices': '2' }, /KAI needs gpu-fraction or gpu-memory beside it/],
    ['gpu-fraction-num-devices 0', { 'gpu-fraction': '0.5', 'gpu-fraction-num-devices': '0' }, /whole number of cards from 1/],
    ['a container name the pod lacks', { 'gpu-fraction': '0.5', 'gpu-fraction-container-name': 'nope' }, /"nope": the pod has no such container/],
  ];
  for (const [what, annotations, message] of invalid) {
    it(`when a pod asks KAI with ${what}, then it is refused naming the annotation`, () => {
      const d = run(native(annotations), MIXED);
      assert.equal(d.kind, 'deny');
      assert.match(reasons(d), message);
    });
  }

  it('when a pod asks gpu-fraction beside nvidia.com/gpu in another container, then it is refused as KAI refuses it', () => {
    const d = run(native({ 'gpu-fraction': '0.5' }, [{ name: 'app', limits: {} }, { name: 'side', limits: { 'nvidia.com/gpu': '1' } }]), MIXED);
    assert.match(reasons(d), /beside nvidia.com\/gpu in container "side": KAI refuses a pod with both a GPU fraction and whole GPUs/);
  });

  it('when a pod asks gpu-admission.io resources and a KAI annotation, then it is refused as a mix', () => {
    const d = run(podWith([{ name: 'app', limits: generic('1', '4Gi') }], { 'gpu-fraction': '0.5' }), MIXED);
    assert.match(reasons(d), /mixes gpu-admission.io requests \(container "app"\) with KAI's share annotations \(gpu-fraction\)/);
  });

  it('when a pod asks gpu-fraction 0.5 natively, then it is routed to the kai pool with kai-scheduler and the queue, annotations untouched', () => {
    const pod = native({ 'gpu-fraction': '0.5' });
    const d = run(pod, MIXED);
    const out = applied(pod, d);
    assert.equal(out.spec.schedulerName, 'kai-scheduler');
    assert.equal(out.metadata?.labels?.['kai.scheduler/queue'], 'team-a');
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], '0.5');
    assert.ok(d.kind === 'patch' && d.routes.map((p) => p.pool).join() === 'a10-kai', JSON.stringify(d));
    assert.equal(run(out, MIXED).kind, 'allow', 'its own output is left as it is');
  });

  it('when gpu-memory asks more than the card or num-devices more cards than a node has, then each pool says why', () => {
    assert.match(reasons(run(native({ 'gpu-memory': '30000' }), MIXED)), /a10: nvidia-exclusive does not take KAI's gpu-memory annotation.*\n?.*a10-kai: card has 23028Mi \(23028 MiB\), gpu-memory asks 30000 MiB/s);
    assert.match(reasons(run(native({ 'gpu-fraction': '0.5', 'gpu-fraction-num-devices': '8' }), MIXED)), /a10-kai: gpu-fraction-num-devices: 8 GPUs, a node has 4/);
  });

  it('when the namespace needs memory isolation, then a native share is refused on a kai pool without HAMi-core', () => {
    const d = run(native({ 'gpu-fraction': '0.5', 'gpu-admission.io/isolation': 'memory' }), MIXED);
    assert.match(reasons(d), /a10-kai: a KAI share limits no memory unless the pool declares kai.gpuIsolationProvider: HAMi-core/);
  });
});

describe('kai: a native gpu-memory request', () => {
  it('when a pod asks gpu-memory natively, then it is routed with a warning that KAI needs nodes labelled nvidia.com/gpu.memory', () => {
    const pod = podWith([{ name: 'app', limits: {} }], { 'gpu-memory': '2000' });
    const d = run(pod);
    assert.equal(d.kind, 'patch', JSON.stringify(d));
    assert.ok(d.kind === 'patch' && d.warnings.some((w) => w.includes('KAI places gpu-memory only on nodes labelled nvidia.com/gpu.memory')), JSON.stringify(d));
  });
});
