// The volcano-vgpu and koordinator backends: what each writes for generic requests, what each
// refuses (with the reason its scheduler gives), and the native values each accepts. Sources for
// every rule: docs/backends.md, sections "Volcano vGPU" and "Koordinator".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Container, Pod } from '../../src/engine/pod.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { runCase, type Case } from '../helpers/decide-cases.ts';
import { generic as G, limitsOf, podWith } from '../helpers/pods.ts';

const volcano = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: l40s, backend: volcano-vgpu, nodeSelector: {group: l40s}, gpu: {model: L40S, memory: 44Gi, perNode: 8}}
  - {name: a100-mig, backend: volcano-vgpu, nodeSelector: {group: a100}, gpu: {model: A100, product: A100-SXM4-80GB, memory: 80Gi, perNode: 8}, volcano: {mode: mig}}
`);
const hamiBeside = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: hami, backend: hami, nodeSelector: {group: hami}, gpu: {model: L40S, memory: 44Gi, perNode: 8}}
  - {name: l40s, backend: volcano-vgpu, nodeSelector: {group: l40s}, gpu: {model: L40S, memory: 44Gi, perNode: 8}}
`);
const koord = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10, backend: koordinator, nodeSelector: {vendor: nvidia}, gpu: {model: A10, memory: 22Gi, perNode: 4}, koordinator: {gpuIsolationProvider: HAMi-core}}
  - name: h800
    backend: koordinator
    nodeSelector: {vendor: nvidia}
    gpu: {model: H800, memory: 80Gi, perNode: 8}
    numa: {nodes: 2, gpusPerNode: 4, cpusPerNode: 96}
    rdma: true
`);
const koordAndAck = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: ack, backend: ack-topology, gpu: {model: A100, memory: 80Gi, perNode: 8}, numa: {nodes: 2, gpusPerNode: 4, cpusPerNode: 64}}
  - {name: koord, backend: koordinator, nodeSelector: {vendor: nvidia}, gpu: {model: A100, memory: 80Gi, perNode: 8}, numa: {nodes: 2, gpusPerNode: 4, cpusPerNode: 64}}
`);

const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}, labels?: Record<string, string>): Pod =>
  podWith([{ name: 'main', limits }], annotations, { spec, ...(labels ? { labels } : {}) });
const limits = (out: Pod): Record<string, string | number> | undefined => limitsOf(out, 'main');
const initGpu = (limits: Record<string, string>): Container[] => [{ name: 'warm', image: 'busybox', resources: { limits } }];
const requiredTerms = (out: Pod): string[][] => (out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [])
  .map((t) => (t.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(',')}`));

const volcanoCases: Case[] = [
  { name: 'when 2 GPUs × 12Gi + 30% are asked, then Volcano gets vgpu-number, MiB per card and % per card, its scheduler, mode and card type',
    policy: volcano, pod: one(G('2', '12Gi', '30')), pools: ['l40s'],
    check: (out) => {
      assert.deepEqual(limits(out), { 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '12288', 'volcano.sh/vgpu-cores': '30' });
      assert.deepEqual(out.spec.containers[0]?.resources?.requests, limits(out));
      assert.equal(out.spec.schedulerName, 'volcano');
      assert.equal(out.metadata?.annotations?.['volcano.sh/vgpu-mode'], 'hami-core');
      assert.equal(out.metadata?.annotations?.['nvidia.com/use-gputype'], 'L40S');
    } },
  { name: 'when a whole card is asked, then it takes 100% of the card\'s cores (exclusive) and no memory limit',
    policy: volcano, pod: one(G('1')), pools: ['l40s'],
    check: (out) => assert.deepEqual(limits(out), { 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-cores': '100' }) },
  { name: 'when compute alone is asked, then its part of the card is written in MiB: the plugin advertises no memory percentage',
    policy: volcano, pod: one(G(undefined, undefined, '25')), pools: ['l40s'],
    check: (out) => assert.deepEqual(limits(out), { 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '11264', 'volcano.sh/vgpu-cores': '25' }) },
  { name: 'when the pod carries its own PodGroup and queue annotations and names volcano, then they are kept untouched',
    policy: volcano,
    pod: one(G('1', '8Gi'), { 'scheduling.k8s.io/group-name': 'job-a', 'scheduling.volcano.sh/queue-name': 'research' }, { schedulerName: 'volcano' }),
    pools: ['l40s'],
    check: (out) => {
      assert.equal(out.metadata?.annotations?.['scheduling.k8s.io/group-name'], 'job-a');
      assert.equal(out.metadata?.annotations?.['scheduling.volcano.sh/queue-name'], 'research');
      assert.equal(out.spec.schedulerName, 'volcano');
    } },
  { name: 'when an 8Gi share is asked on the MIG pool only, then one vGPU with its memory is written in mig mode',
    policy: volcano, pod: one(G(undefined, '8Gi'), { 'gpu-admission.io/pools': 'a100-mig' }), pools: ['a100-mig'],
    check: (out) => {
      assert.deepEqual(limits(out), { 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '8192' });
      assert.equal(out.metadata?.annotations?.['volcano.sh/vgpu-mode'], 'mig');
      assert.equal(out.metadata?.annotations?.['nvidia.com/use-gputype'], 'A100-SXM4-80GB');
    } },
  { name: 'when compute is asked of the MIG pool, then it is refused: Volcano picks the slice by memory alone',
    policy: volcano, pod: one(G(undefined, '8Gi', '30'), { 'gpu-admission.io/pools': 'a100-mig' }),
    denied: ["pool a100-mig: Volcano's mig mode gives the smallest MIG slice that holds the memory"] },
  { name: 'when a whole card is asked of the MIG pool, then it is refused: mig mode hands out slices',
    policy: volcano, pod: one(G('1'), { 'gpu-admission.io/pools': 'a100-mig' }), denied: ['pool a100-mig: hands out MIG slices (mig mode)'] },
  { name: 'when the pod pins hami-core itself, then the mig pool is ruled out with Volcano\'s reason and the hami-core pool takes it',
    policy: volcano, pod: one(G(undefined, '8Gi'), { 'volcano.sh/vgpu-mode': 'hami-core' }), pools: ['l40s'],
    ruledOut: { 'a100-mig': "the pod's volcano.sh/vgpu-mode is hami-core; the pool's nodes run mig" },
    check: (out) => assert.equal(out.metadata?.annotations?.['volcano.sh/vgpu-mode'], 'hami-core') },
  { name: 'when the pod pins mig itself, then hami-core pools are out: "the pod\'s volcano.sh/vgpu-mode is mig"',
    policy: volcano, pod: one(G('1'), { 'volcano.sh/vgpu-mode': 'mig' }),
    denied: ["pool l40s: the pod's volcano.sh/vgpu-mode is mig; the pool's nodes run hami-core"] },
  { name: 'when a GPU init container asks a share, then Volcano pools refuse it: Volcano reads app containers only',
    policy: volcano, pod: podWith([{ name: 'main', limits: {} }], {}, { initContainers: initGpu(G('1', '4Gi')) }),
    denied: ["pool l40s: Volcano's vGPU reads the GPUs of app containers only"] },
  { name: 'when the pod asks a card type in use-gputype that is not the pool\'s, then the pool is out by the substring rule',
    policy: volcano, pod: one(G('1'), { 'nvidia.com/use-gputype': 'H100' }), denied: ['pool l40s: the pod\'s nvidia.com/use-gputype "H100" does not match card type L40S'] },
  { name: 'when the pod asks a placement, then Volcano pools say it is not configurable per pod (deviceshare.SchedulePolicy is the scheduler\'s)',
    policy: volcano, pod: one(G('1'), { 'gpu-admission.io/placement': 'spread' }), denied: ['pool l40s: placement is not configurable, not spread'] },
  { name: 'when a pod names volcano and both HAMi and Volcano pools exist, then HAMi is out and Volcano takes it',
    policy: hamiBeside, pod: one(G('1', '4Gi'), {}, { schedulerName: 'volcano' }), pools: ['l40s'],
    ruledOut: { hami: 'the pod is scheduled by volcano; hami cards are allocated by hami-scheduler' } },
  { name: 'when native Volcano resources fit, then the pod is routed to the Volcano pool with its scheduler',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '3000' }), pools: ['l40s', 'a100-mig'],
    check: (out) => assert.equal(out.spec.schedulerName, 'volcano') },
  { name: 'when native vgpu-memory is above the card, then it is refused naming the card',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '90000' }), denied: ['card has 44Gi, volcano.sh/vgpu-memory asks 90000Mi'] },
  { name: 'when native vgpu-cores is above 100, then it is refused: a percent of one card',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-cores': '150' }), denied: ['resources.limits["volcano.sh/vgpu-cores"]: must be a whole percent from 0 to 100'] },
  { name: 'when native vgpu-memory-percentage is asked, then it is refused: no node advertises it',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory-percentage': '50' }),
    denied: ['no node advertises volcano.sh/vgpu-memory-percentage'] },
  { name: 'when a copy of a placed pod carries Volcano\'s allocation annotation, then it is refused: only the scheduler writes it',
    policy: volcano, pod: one(G('1'), { 'volcano.sh/vgpu-ids-new': 'GPU-1,NVIDIA,4096,30:;' }), denied: ['annotation volcano.sh/vgpu-ids-new is written by the GPU scheduler'] },
];

const koordCases: Case[] = [
  { name: 'when 2 GPUs × 12Gi + 30% are asked, then Koordinator gets totals over gpu.shared 2, koord-scheduler, the model label and HAMi-core',
    policy: koord, pod: one(G('2', '12Gi', '30')), pools: ['a10'],
    check: (out) => {
      assert.deepEqual(limits(out), { 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': String(24 * 2 ** 30), 'koordinator.sh/gpu-core': '60' });
      assert.deepEqual(out.spec.containers[0]?.resources?.requests, limits(out));
      assert.equal(out.spec.schedulerName, 'koord-scheduler');
      assert.equal(out.metadata?.labels?.['koordinator.sh/gpu-isolation-provider'], 'HAMi-core');
      assert.deepEqual(requiredTerms(out), [['koordinator.sh/gpu-isolation-provider In HAMi-core', 'node.koordinator.sh/gpu-model In A10', 'vendor In nvidia']]);
    } },
  { name: 'when whole cards are asked, then each is 100% of memory ratio and compute over gpu.shared',
    policy: koord, pod: one(G('3'), { 'gpu-admission.io/pools': 'h800' }), pools: ['h800'],
    check: (out) => {
      assert.deepEqual(limits(out), { 'koordinator.sh/gpu.shared': '3', 'koordinator.sh/gpu-memory-ratio': '300', 'koordinator.sh/gpu-core': '300' });
      assert.equal(out.metadata?.labels?.['koordinator.sh/gpu-isolation-provider'], undefined);
    } },
  { name: 'when compute alone is asked, then its percent of the memory is written too (gpu-core alone is no valid combination)',
    policy: koord, pod: one(G(undefined, undefined, '40')), pools: ['a10'],
    check: (out) => assert.deepEqual(limits(out), { 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory-ratio': '40', 'koordinator.sh/gpu-core': '40' }) },
  { name: 'when a memory share needs compute isolation, then the pool without HAMi-core is out and the proportional compute is written',
    policy: koord, pod: one(G(undefined, '11Gi'), { 'gpu-admission.io/isolation': 'compute' }), pools: ['a10'],
    ruledOut: { h800: 'koordinator isolates nothing (its nodes have no HAMi-core: koordinator.gpuIsolationProvider), the pod needs compute' },
    check: (out) => assert.deepEqual(limits(out), { 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': String(11 * 2 ** 30), 'koordinator.sh/gpu-core': '50' }) },
  { name: 'when a whole card\'s memory is asked with a compute share, then it is refused: koordlet limits compute only beside a memory share',
    policy: koord, pod: one(G('1', '22Gi', '50'), { 'gpu-admission.io/pools': 'a10' }), denied: ['pool a10: Koordinator limits compute only beside a memory share below the card'] },
  { name: 'when NUMA and RDMA are asked, then Koordinator\'s numa-topology-spec and device-joint-allocate are written with koordinator.sh/rdma',
    policy: koord,
    pod: one(G('4'), { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/numa-exclusive': 'Required', 'gpu-admission.io/rdma': 'true' }),
    pools: ['h800'],
    check: (out) => {
      const a = out.metadata?.annotations ?? {};
      assert.equal(a['scheduling.koordinator.sh/numa-topology-spec'], '{"numaTopologyPolicy":"SingleNUMANode","singleNUMANodeExclusive":"Required"}');
      assert.equal(a['scheduling.koordinator.sh/device-joint-allocate'], '{"deviceTypes":["gpu","rdma"]}');
      assert.equal(a['cpuset-scheduler'], undefined);
      assert.equal(a['scheduling.alibabacloud.com/numa-topology-spec'], undefined);
      assert.deepEqual(limits(out), { 'koordinator.sh/gpu.shared': '4', 'koordinator.sh/gpu-memory-ratio': '400', 'koordinator.sh/gpu-core': '400', 'koordinator.sh/rdma': '1' });
    } },
  { name: 'when NUMA is asked with fractional CPUs, then Koordinator still takes it (it aligns any CPU request) and ACK is out',
    policy: koordAndAck, pod: podWith([{ name: 'main', limits: G('2'), cpu: '1500m' }], { 'gpu-admission.io/numa': 'SingleNUMANode' }), pools: ['koord'],
    ruledOut: { ack: 'NUMA binding needs whole CPUs' } },
  { name: 'when NUMA is asked with a share, then Koordinator takes it and ACK topology says it needs whole GPUs',
    policy: koordAndAck, pod: one(G(undefined, '20Gi'), { 'gpu-admission.io/numa': 'Restricted' }), pools: ['koord'],
    ruledOut: { ack: 'NUMA binding needs whole GPUs' },
    check: (out) => assert.equal(out.metadata?.annotations?.['scheduling.koordinator.sh/numa-topology-spec'], '{"numaTopologyPolicy":"Restricted"}') },
  { name: 'when NUMA asks more GPUs than a NUMA node has, then Koordinator refuses SingleNUMANode',
    policy: koord, pod: one(G('6'), { 'gpu-admission.io/numa': 'SingleNUMANode' }), denied: ['pool h800: 6 GPUs exceed one NUMA node (4)'] },
  { name: 'when two containers ask GPUs, then Koordinator pools refuse: every container gets all of the pod\'s cards',
    policy: koord, pod: podWith([{ name: 'a', limits: G('1', '4Gi') }, { name: 'b', limits: G('1', '4Gi') }]),
    denied: ['pool a10: Koordinator allocates GPUs per pod and gives every container all of them'] },
  { name: 'when native totals are valid, then the pod goes to a koordinator pool with koord-scheduler',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': '16Gi', 'koordinator.sh/gpu-core': '60' }), pools: ['a10', 'h800'],
    check: (out) => assert.equal(out.spec.schedulerName, 'koord-scheduler') },
  { name: 'when native gpu-core is not a multiple of gpu.shared, then it is refused as koord-scheduler would',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': '16Gi', 'koordinator.sh/gpu-core': '45' }),
    denied: ['resources.limits["koordinator.sh/gpu-core"]: must be a multiple of koordinator.sh/gpu.shared 2'] },
  { name: 'when native gpu-core is above 100 per card, then it is refused',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory-ratio': '50', 'koordinator.sh/gpu-core': '150' }),
    denied: ['is above 100 per card over koordinator.sh/gpu.shared 1'] },
  { name: 'when native gpu-core is asked alone, then it is refused: no valid combination',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-core': '50' }), denied: ['needs koordinator.sh/gpu-memory or koordinator.sh/gpu-memory-ratio beside it'] },
  { name: 'when native gpu-memory and gpu-memory-ratio are both asked, then it is refused as koord-manager does',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': '4Gi', 'koordinator.sh/gpu-memory-ratio': '20' }),
    denied: ['declare GPU memory and GPU memory ratio at same time'] },
  { name: 'when native memory per card is above the A10\'s, then the A10 pool is out and the H800 takes it',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': '40Gi' }), pools: ['h800'],
    ruledOut: { a10: 'card has 22Gi, koordinator.sh/gpu-memory asks 40.0Gi per GPU' } },
  { name: 'when the pod labels itself for HAMi-core, then pools without it are out (koord-scheduler would fail on their nodes)',
    policy: koord, pod: one(G('1', '4Gi'), {}, {}, { 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' }), pools: ['a10'],
    ruledOut: { h800: "the pod's label koordinator.sh/gpu-isolation-provider is HAMi-core, and koord-scheduler refuses nodes whose label differs" } },
  { name: 'when a copy of a placed pod carries Koordinator\'s device-allocated annotation, then it is refused',
    policy: koord, pod: one(G('1'), { 'scheduling.koordinator.sh/device-allocated': '{"gpu":[{"minor":0}]}' }),
    denied: ['annotation scheduling.koordinator.sh/device-allocated is written by the GPU scheduler'] },
];

describe('backend volcano-vgpu', () => {
  for (const c of volcanoCases) it(c.name, () => runCase(c));
});

describe('backend koordinator', () => {
  for (const c of koordCases) it(c.name, () => runCase(c));
});

describe('policy: the volcano and koordinator blocks', () => {
  const parse = (pool: string) => parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - ${pool}\n`);
  it('when a koordinator pool writes the website\'s lower-case hami-core, then the policy is refused at its path (the code compares HAMi-core exactly)', () => {
    const r = parse('{name: k, backend: koordinator, nodeSelector: {a: b}, gpu: {model: A10, memory: 22Gi, perNode: 4}, koordinator: {gpuIsolationProvider: hami-core}}');
    assert.ok(!r.ok && r.errors.some((e) => e.includes('/pools/0/koordinator/gpuIsolationProvider')), JSON.stringify(r));
  });
  it('when a volcano block sits on another backend, then it is refused at its path', () => {
    const r = parse('{name: k, backend: hami, nodeSelector: {a: b}, gpu: {model: A10, memory: 22Gi, perNode: 4}, volcano: {mode: mig}}');
    assert.ok(!r.ok && r.errors.some((e) => e.includes('/pools/0/volcano: only backend volcano-vgpu takes it')), JSON.stringify(r));
  });
  it('when a koordinator pool has numa, then it is accepted; numa on hami is still refused', () => {
    assert.ok(parse('{name: k, backend: koordinator, nodeSelector: {a: b}, gpu: {model: A10, memory: 22Gi, perNode: 4}, numa: {nodes: 2, gpusPerNode: 2, cpusPerNode: 32}}').ok);
    const r = parse('{name: k, backend: hami, nodeSelector: {a: b}, gpu: {model: A10, memory: 22Gi, perNode: 4}, numa: {nodes: 2, gpusPerNode: 2, cpusPerNode: 32}}');
    assert.ok(!r.ok && r.errors.some((e) => e.includes('NUMA scheduling needs backend ack-topology or koordinator')), JSON.stringify(r));
  });
  it('when a volcano-vgpu pool renames its resources, then pods get the renamed names', () => {
    const policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: v, backend: volcano-vgpu, nodeSelector: {a: b}, gpu: {model: T4, memory: 15Gi, perNode: 1}, hami: {resourceName: example.com/vgpu, resourceMem: example.com/vgpu-mem}}
`);
    const d = decide(one(G(undefined, '4Gi')), { policy, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'patch', JSON.stringify(d));
    assert.deepEqual(d.kind === 'patch' ? Object.keys(d.record.containers.main?.resources ?? {}).sort() : [], ['example.com/vgpu', 'example.com/vgpu-mem']);
  });
});
