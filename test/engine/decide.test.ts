import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Container, Pod } from '../../src/engine/pod.ts';
import type { DenyCode } from '../../src/engine/problem.ts';
import type { Policy } from '../../src/policy/types.ts';
import { applied, limitsOf, podWith } from '../helpers/pods.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.ts';
import { design, hamiDefaults, upstream } from '../helpers/policies.ts';

/** ACK with a multi-card cGPU pool beside core_mem: the two ACK modes that share cards with isolation. */
const ackWide = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-cgpu, backend: ack-cgpu, nodeSelector: {aliyun.accelerator/nvidia_name: NVIDIA-A10}, gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}}
  - {name: a10-core, backend: ack-core-mem, nodeSelector: {pool: core}, gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}}
  - {name: h100, backend: ack-exclusive, nodeSelector: {pool: h100}, gpu: {model: H100, memory: 80Gi, perNode: 8}}
`);
const smallMig = parsePolicyOrThrow(DEFAULT_POLICY_YAML.replace('[1g.10gb, 2g.20gb, 3g.40gb, 7g.80gb]', '[1g.10gb, 2g.20gb]'));

interface Routed {
  pools: string[];
  backend: string;
  limits: Record<string, Record<string, string>>;
  warnings?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  tolerations?: unknown[];
  schedulerName?: string;
}
interface Scenario {
  name: string;
  pod: Pod;
  policy?: Policy;
  namespace?: string;
  nsLabels?: Record<string, string>;
  routed?: Routed;
  denied?: { code: DenyCode; includes: string[] };
}

const g = (gpu?: string, memory?: string, cores?: string): Record<string, string> => ({
  ...(gpu ? { 'gpu-admission.io/gpu': gpu } : {}),
  ...(memory ? { 'gpu-admission.io/gpu-memory': memory } : {}),
  ...(cores ? { 'gpu-admission.io/gpu-cores': cores } : {}),
});
const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, cpu?: string): Pod =>
  podWith([{ name: 'train', limits, ...(cpu ? { cpu } : {}) }], annotations);

const scenarios: Scenario[] = [
  // core_mem gives a memory-only share a compute share too, so its translation differs from cgpu's: T4 alone.
  { name: 'a memory share goes to the first pool that serves it', pod: one(g(undefined, '8Gi')),
    routed: { pools: ['t4-shared'], backend: 'ack-cgpu', limits: { train: { 'aliyun.com/gpu-mem': '8' } } } },
  { name: 'memory not in whole GiB is rounded up with a warning', pod: one(g(undefined, '500Mi')),
    routed: { pools: ['t4-shared'], backend: 'ack-cgpu', limits: { train: { 'aliyun.com/gpu-mem': '1' } },
      warnings: ['ask gpu-memory in whole Gi to avoid rounding: 500Mi rounded up to 1Gi (container "train")'] } },
  { name: 'memory in decimal units is rounded with its size in GiB', pod: one(g(undefined, '14G')),
    routed: { pools: ['t4-shared'], backend: 'ack-cgpu', limits: { train: { 'aliyun.com/gpu-mem': '14' } },
      warnings: ['ask gpu-memory in whole Gi to avoid rounding: 14G (13.0Gi) rounded up to 14Gi (container "train")'] } },
  // ACK does not mix memory-only and memory+compute jobs on a core_mem node: every pod there carries a compute share.
  { name: 'a memory-only share that needs compute isolation gets a compute share on core_mem',
    pod: one(g(undefined, '4Gi'), { 'gpu-admission.io/isolation': 'compute' }),
    routed: { pools: ['a10-core'], backend: 'ack-core-mem',
      limits: { train: { 'aliyun.com/gpu-mem': '4', 'aliyun.com/gpu-core.percentage': '20' } },
      warnings: ['set gpu-cores to choose the compute share ack-core-mem needs: 20 given, as for its memory (container "train")'] } },
  { name: 'a whole card on core_mem takes the card\'s memory and all its compute', pod: one(g('1'), { 'gpu-admission.io/pools': 'a10-core' }),
    routed: { pools: ['a10-core'], backend: 'ack-core-mem',
      limits: { train: { 'aliyun.com/gpu-mem': '24', 'aliyun.com/gpu-core.percentage': '100' } } } },
  { name: 'memory and compute go to ack-core-mem with cores rounded to 5', pod: one(g(undefined, '10Gi', '33')),
    routed: { pools: ['a10-core'], backend: 'ack-core-mem',
      limits: { train: { 'aliyun.com/gpu-mem': '10', 'aliyun.com/gpu-core.percentage': '35' } },
      warnings: ['ask gpu-cores in multiples of 5 to avoid rounding: 33 rounded up to 35 (container "train")'] } },
  { name: 'two shared GPUs on ACK cGPU carry the gpu-count label and N × M memory', policy: ackWide, pod: one(g('2', '20Gi')),
    routed: { pools: ['a10-cgpu'], backend: 'ack-cgpu', limits: { train: { 'aliyun.com/gpu-mem': '40' } },
      labels: { 'aliyun.com/gpu-count': '2' } } },
  // ACK's multi-GPU sharing isolates memory only: core_mem never takes more than one card per container.
  { name: 'a tensor-parallel pod of 4 plain GPUs goes to whole cards, never to core_mem', pod: one({ 'nvidia.com/gpu': '4' }),
    routed: { pools: ['a100-topology'], backend: 'ack-topology', limits: { train: { 'aliyun.com/gpu': '4' } },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      warnings: ['use gpu-admission.io/gpu: nvidia.com/gpu: 4 rewritten for pool a100-topology, container "train"'] } },
  { name: 'two shared GPUs with compute are refused by core_mem with the reason', policy: ackWide,
    pod: one(g('2', '10Gi', '50'), { 'gpu-admission.io/pools': 'a10-core' }),
    denied: { code: 'no-pool', includes: ["pool a10-core: ACK's multi-GPU sharing isolates memory only, so ack-core-mem serves one card per container"] } },
  { name: 'plain nvidia.com/gpu is read as whole GPUs, and cGPU serves them as full-card memory', policy: ackWide, pod: one({ 'nvidia.com/gpu': '2' }),
    routed: { pools: ['a10-cgpu'], backend: 'ack-cgpu', limits: { train: { 'aliyun.com/gpu-mem': '48' } },
      labels: { 'aliyun.com/gpu-count': '2' }, warnings: ['use gpu-admission.io/gpu: nvidia.com/gpu: 2 rewritten for pool a10-cgpu, container "train"'] } },
  { name: 'a GPU model picks the exact pool, never a substring', pod: one(g('8'), { 'gpu-admission.io/gpu-model': 'H100' }),
    routed: { pools: ['h100'], backend: 'ack-exclusive', limits: { train: { 'nvidia.com/gpu': '8' } } } },
  { name: 'NUMA with whole CPUs goes to the topology pool with ACK annotations, RDMA and tolerations',
    pod: one(g('4'), { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/numa-exclusive': 'Required', 'gpu-admission.io/rdma': 'true' }, '32'),
    routed: { pools: ['a100-topology'], backend: 'ack-topology',
      limits: { train: { 'aliyun.com/gpu': '4', 'aliyun/erdma': '1', cpu: '32' } },
      annotations: { 'cpuset-scheduler': 'required',
        'scheduling.alibabacloud.com/numa-topology-spec': '{"numaTopologyPolicy":"SingleNUMANode","singleNUMANodeExclusive":"Required"}' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } },
  { name: 'NUMA BestEffort on a share is dropped with a warning', pod: one(g(undefined, '8Gi'), { 'gpu-admission.io/numa': 'BestEffort' }),
    routed: { pools: ['t4-shared'], backend: 'ack-cgpu', limits: { train: { 'aliyun.com/gpu-mem': '8' } },
      warnings: ['NUMA BestEffort not applied on pool t4-shared: has no NUMA topology'] } },
  { name: 'a MIG-sized request takes the smallest profile that fits', pod: one(g('1', '15Gi'), { 'gpu-admission.io/pools': 'a100-mig' }),
    routed: { pools: ['a100-mig'], backend: 'ack-mig', limits: { train: { 'nvidia.com/mig-2g.20gb': '1' } } } },
  // 40Gi is more than a 3g.40gb slice holds (40 GB, decimal), so it takes the full-card profile.
  { name: 'the research namespace only reaches its allowed pools', pod: one(g('1', '40Gi')), namespace: 'research',
    routed: { pools: ['a100-mig'], backend: 'ack-mig', limits: { train: { 'nvidia.com/mig-7g.80gb': '1' } },
      warnings: ['ask at most 37.3Gi for 3g.40gb (MIG counts decimal GB): 40Gi gets 7g.80gb (container "train")'] } },
  { name: 'a MIG request in decimal GB fits the profile of that name', pod: one(g('1', '40G')), namespace: 'research',
    routed: { pools: ['a100-mig'], backend: 'ack-mig', limits: { train: { 'nvidia.com/mig-3g.40gb': '1' } } } },
  { name: 'HAMi gets gpu, gpumem in MiB, gpucores and its scheduler', policy: upstream,
    pod: one(g('1', '12Gi', '40'), { 'gpu-admission.io/pools': 'l20-hami' }),
    routed: { pools: ['l20-hami'], backend: 'hami', schedulerName: 'hami-scheduler',
      limits: { train: { 'hami.io/gpu': '1', 'hami.io/gpumem': '12288', 'hami.io/gpucores': '40' } } } },
  { name: 'time-slicing takes a memory share as replicas of its shared resource', policy: upstream, pod: one(g('1', '6Gi')),
    routed: { pools: ['l4-slices'], backend: 'nvidia-time-slicing', limits: { train: { 'nvidia.com/gpu.shared': '1' } } } },
  // HAMi reserves no compute without gpucores: compute isolation is a reservation, in proportion to the memory.
  { name: 'isolation compute skips time-slicing for HAMi, with a compute reservation', policy: upstream,
    pod: one(g('1', '6Gi'), { 'gpu-admission.io/isolation': 'compute' }),
    routed: { pools: ['l20-hami'], backend: 'hami', schedulerName: 'hami-scheduler',
      limits: { train: { 'hami.io/gpu': '1', 'hami.io/gpumem': '6144', 'hami.io/gpucores': '13' } },
      warnings: ['set gpu-cores to choose the compute share hami needs: 13 given, as for its memory (container "train")'] } },
  { name: 'a memory share on HAMi without compute isolation reserves no compute', policy: upstream,
    pod: one(g('1', '6Gi'), { 'gpu-admission.io/pools': 'l20-hami' }),
    routed: { pools: ['l20-hami'], backend: 'hami', schedulerName: 'hami-scheduler',
      limits: { train: { 'hami.io/gpu': '1', 'hami.io/gpumem': '6144' } } } },
  { name: 'a whole card on HAMi reserves its compute (gpucores 100)', policy: upstream, pod: one(g('2'), { 'gpu-admission.io/pools': 'l20-hami' }),
    routed: { pools: ['l20-hami'], backend: 'hami', schedulerName: 'hami-scheduler',
      limits: { train: { 'hami.io/gpu': '2', 'hami.io/gpucores': '100' } } } },
  { name: 'gpu-cores 100 on HAMi is written, not dropped', policy: upstream, pod: one(g('1', '12Gi', '100'), { 'gpu-admission.io/pools': 'l20-hami' }),
    routed: { pools: ['l20-hami'], backend: 'hami', schedulerName: 'hami-scheduler',
      limits: { train: { 'hami.io/gpu': '1', 'hami.io/gpumem': '12288', 'hami.io/gpucores': '100' } } } },
  { name: 'time-slicing serves one GPU per container: a 2-GPU share goes elsewhere', policy: upstream,
    pod: one(g('2', '6Gi'), { 'gpu-admission.io/pools': 'l4-slices' }),
    denied: { code: 'no-pool', includes: ['pool l4-slices: time-slicing replicas of one container may all sit on one card'] } },
  { name: 'a labelled namespace needs memory isolation: ack-share is out, mps serves', policy: upstream,
    nsLabels: { team: 'inference' }, pod: one(g('1', '6Gi'), { 'gpu-admission.io/pools': 'a10-share,a10-mps' }),
    routed: { pools: ['a10-mps'], backend: 'ack-mps', limits: { train: { 'aliyun.com/gpu-mem': '6' } } } },
  // HAMi (l20-hami, first in order) takes placement per pod since #21; the A10 model leaves the ACK pools.
  { name: 'spread placement on the A10 model picks the spread pool', policy: upstream,
    pod: one(g('1', '6Gi'), { 'gpu-admission.io/placement': 'spread', 'gpu-admission.io/gpu-model': 'NVIDIA-A10' }),
    routed: { pools: ['a10-share'], backend: 'ack-share', limits: { train: { 'aliyun.com/gpu-mem': '6' } } } },
  { name: 'nvidia-mig uses the mixed-strategy profile', policy: upstream, pod: one(g('1', '30Gi'), { 'gpu-admission.io/gpu-model': 'H100' }),
    routed: { pools: ['h100-mig'], backend: 'nvidia-mig', limits: { train: { 'nvidia.com/mig-3g.40gb': '1' } } } },
  { name: 'whole GPUs on upstream go exclusive with the pool taint tolerated', policy: upstream, pod: one(g('4'), { 'gpu-admission.io/gpu-model': 'H20' }),
    routed: { pools: ['h20-exclusive'], backend: 'nvidia-exclusive', limits: { train: { 'nvidia.com/gpu': '4' } },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] } },

  { name: 'a card too small everywhere is denied with each pool\'s reason', pod: one(g('2', '90Gi')),
    denied: { code: 'no-pool', includes: ['container "train" asks 2 GPUs × 90Gi: pool t4-shared:', 'pool a10-core: card has 24Gi', 'pool h100: card has 80Gi'] } },
  { name: 'a namespace outside its pools is denied naming the namespace', pod: one(g('1'), { 'gpu-admission.io/gpu-model': 'H100' }), namespace: 'research',
    denied: { code: 'no-pool', includes: ['pool h100: not allowed in namespace research', 'pool t4-shared: not allowed in namespace research'] } },
  { name: 'the namespace GPU limit is enforced', pod: podWith([{ limits: g('8') }, { limits: g('4') }]), namespace: 'research',
    denied: { code: 'namespace-limit', includes: ['pod asks 12 GPUs, namespace research allows at most 8 per pod'] } },
  { name: 'compute on a memory-only backend is explained', pod: one(g('1', '8Gi', '20'), { 'gpu-admission.io/pools': 't4-shared' }),
    denied: { code: 'no-pool', includes: ['pool t4-shared: cannot limit compute'] } },
  { name: 'a fraction on an exclusive backend is explained', pod: one(g('1', '8Gi'), { 'gpu-admission.io/pools': 'h100' }),
    denied: { code: 'no-pool', includes: ['pool h100: takes whole GPUs only'] } },
  { name: 'no MIG profile fits', policy: smallMig, pod: one(g('1', '30Gi', '40'), { 'gpu-admission.io/pools': 'a100-mig' }),
    denied: { code: 'no-pool', includes: ['pool a100-mig: no MIG profile holds 30Gi + 40% compute (MIG profiles count decimal GB: 1g.10gb = 9.3Gi, 2g.20gb = 18.6Gi)'] } },
  { name: 'whole GPUs need a full-card MIG profile', policy: smallMig, pod: one(g('1'), { 'gpu-admission.io/pools': 'a100-mig' }),
    denied: { code: 'no-pool', includes: ['pool a100-mig: no full-card MIG profile (7g; 4g on 4-slice cards: A30, RTX PRO 6000) is listed for whole GPUs'] } },
  { name: 'SingleNUMANode above one NUMA node is refused', pod: one(g('8'), { 'gpu-admission.io/numa': 'SingleNUMANode' }, '16'),
    denied: { code: 'no-pool', includes: ['pool a100-topology: 8 GPUs exceed one NUMA node (4)', 'pool h100: has no NUMA topology'] } },
  { name: 'NUMA without whole CPUs is refused', pod: one(g('2'), { 'gpu-admission.io/numa': 'Restricted' }, '1500m'),
    denied: { code: 'numa-cpu', includes: ['NUMA binding needs whole CPUs', '1500m'] } },
  { name: 'RDMA is only where the pool has it', pod: one(g('1'), { 'gpu-admission.io/rdma': 'true', 'gpu-admission.io/pools': 'h100' }),
    denied: { code: 'no-pool', includes: ['pool h100: has no RDMA'] } },
  { name: 'a missing model is explained per pool', pod: one(g('1'), { 'gpu-admission.io/gpu-model': 'A10' }),
    denied: { code: 'no-pool', includes: ['pool a10-core: model NVIDIA-A10 is not A10'] } },
  { name: 'generic and native together are refused', pod: podWith([{ limits: g('1') }, { limits: { 'aliyun.com/gpu-mem': '4' } }]),
    denied: { code: 'mixed-resources', includes: ['aliyun.com/gpu-mem'] } },
  { name: 'a malformed quantity names the field', pod: one(g(undefined, '12GB')),
    denied: { code: 'invalid-request', includes: ['container "train": resources.limits["gpu-admission.io/gpu-memory"]', '12GB'] } },
  { name: 'a fractional GPU count is refused', pod: one(g('1.5')),
    denied: { code: 'invalid-request', includes: ['gpu-admission.io/gpu must be a whole number of GPUs'] } },
  { name: 'cores above 100 are refused', pod: one(g('1', undefined, '150')),
    denied: { code: 'invalid-request', includes: ['gpu-cores must be a whole percent of one GPU, 1 to 100'] } },
  { name: 'requests that differ from limits are refused', pod: (() => {
    const p = one(g('1'));
    (p.spec.containers[0] as Container).resources!.requests = { 'gpu-admission.io/gpu': '2' };
    return p;
  })(), denied: { code: 'invalid-request', includes: ['must equal the limit'] } },
  { name: 'a privileged container cannot share a GPU', pod: podWith([{ name: 'x', limits: g(undefined, '4Gi'), privileged: true }]),
    denied: { code: 'privileged-shared', includes: ['container "x": a privileged container'] } },
  { name: 'a forged ACK allocation annotation is refused', pod: one(g('1'), { ALIYUN_COM_GPU_MEM_IDX: '0' }),
    denied: { code: 'reserved-annotation', includes: ['ALIYUN_COM_GPU_MEM_IDX'] } },
  { name: 'a forged HAMi allocation annotation is refused', pod: one(g('1'), { 'hami.io/vgpu-devices-allocated': 'GPU-0,NVIDIA,1000,0:;' }),
    denied: { code: 'reserved-annotation', includes: ['hami.io/vgpu-devices-allocated'] } },
  { name: 'a decision annotation that is not ours is refused', pod: one(g('1'), { 'gpu-admission.io/decision': 'trust me' }),
    denied: { code: 'reserved-annotation', includes: ['gpu-admission.io/decision may only be written by gpu-admission'] } },
  { name: 'a forged decision beside generic requests is refused',
    pod: one(g('1'), { 'gpu-admission.io/decision': '{"pools":["h100"],"backend":"ack-exclusive","revision":"x","containers":{"train":{"gpu":1}}}' }),
    denied: { code: 'reserved-annotation', includes: ['container "train": carries gpu-admission.io resources and a recorded decision'] } },
  { name: 'a decision naming containers the pod lacks is refused', pod: podWith([{ name: 'web', limits: { cpu: '1' } }],
    { 'gpu-admission.io/decision': '{"pools":["h100"],"backend":"ack-exclusive","revision":"x","containers":{"train":{"gpu":1}}}' }),
    denied: { code: 'reserved-annotation', includes: ['names containers the pod does not have ("train")'] } },
  { name: 'an unknown annotation value names the annotation', pod: one(g('1'), { 'gpu-admission.io/numa': 'Single' }),
    denied: { code: 'invalid-request', includes: ['annotation gpu-admission.io/numa: "Single" is not one of'] } },
  { name: 'an unknown pool name in the pools annotation is refused', pod: one(g('1'), { 'gpu-admission.io/pools': 'nope' }),
    denied: { code: 'invalid-request', includes: ['no pool named "nope"'] } },
  { name: 'native ACK memory above every card is refused', pod: one({ 'aliyun.com/gpu-mem': '40', 'aliyun.com/gpu-core.percentage': '50' }),
    denied: { code: 'no-pool', includes: ['pool a10-core: card has 24Gi, aliyun.com/gpu-mem asks 40Gi per GPU'] } },
  { name: 'a native memory-only share is never routed to core_mem', pod: one({ 'aliyun.com/gpu-mem': '3' }, { 'gpu-admission.io/pools': 'a10-core' }),
    denied: { code: 'no-pool', includes: ['pool a10-core: ack-core-mem needs aliyun.com/gpu-core.percentage beside aliyun.com/gpu-mem'] } },
  { name: 'native compute not in steps of 5 is refused naming the field', pod: one({ 'aliyun.com/gpu-mem': '4', 'aliyun.com/gpu-core.percentage': '33' }),
    denied: { code: 'invalid-request', includes: ['container "train": resources.limits["aliyun.com/gpu-core.percentage"]: must be a multiple of 5 from 5 to 100 (got "33")'] } },
  { name: 'native compute without memory is refused', pod: one({ 'aliyun.com/gpu-core.percentage': '30' }),
    denied: { code: 'invalid-request', includes: ['needs aliyun.com/gpu-mem in the same container'] } },
  { name: 'native memory that does not divide over its cards is refused', pod: podWith([{ name: 'train', limits: { 'aliyun.com/gpu-mem': '7' } }], {}, { labels: { 'aliyun.com/gpu-count': '2' } }),
    denied: { code: 'invalid-request', includes: ['resources.limits["aliyun.com/gpu-mem"]: 7 is not divisible by aliyun.com/gpu-count 2'] } },
  { name: 'a gpu-count label that is not a number is refused', pod: podWith([{ name: 'train', limits: { 'aliyun.com/gpu-mem': '8' } }], {}, { labels: { 'aliyun.com/gpu-count': 'two' } }),
    denied: { code: 'invalid-request', includes: ['label aliyun.com/gpu-count: "two" is not a whole number of cards from 1'] } },
  { name: 'native HAMi cores above 100 are refused', policy: upstream, pod: one({ 'hami.io/gpu': '1', 'hami.io/gpucores': '150' }),
    denied: { code: 'invalid-request', includes: ['resources.limits["hami.io/gpucores"]: must be a whole percent from 0 to 100 (got "150")'] } },
  { name: 'a MIG resource that is no profile is refused', policy: upstream, pod: one({ 'nvidia.com/mig-big': '1' }),
    denied: { code: 'invalid-request', includes: ['resources.limits["nvidia.com/mig-big"]: not a MIG profile NVIDIA exposes'] } },
  { name: 'rounding deny refuses memory that is not whole GiB', policy: upstream, pod: one(g('1', '1500Mi'), { 'gpu-admission.io/pools': 'a10-mps' }),
    denied: { code: 'no-pool', includes: ['pool a10-mps: gpu-memory 1500Mi is not a whole Gi (policy rounding: deny)'] } },
  { name: 'time-slicing refuses whole GPUs', policy: upstream, pod: one(g('1'), { 'gpu-admission.io/pools': 'l4-slices' }),
    denied: { code: 'no-pool', includes: ['pool l4-slices: time-slicing only shares cards'] } },
];

function check(s: Scenario): void {
  const policy = s.policy ?? design;
  const decision = decide(s.pod, { policy, namespace: { name: s.namespace ?? 'ml', labels: s.nsLabels ?? {} } });
  if (s.denied) {
    assert.equal(decision.kind, 'deny', JSON.stringify(decision));
    if (decision.kind !== 'deny') return;
    assert.equal(decision.code, s.denied.code, decision.message);
    for (const text of s.denied.includes) assert.ok(decision.message.includes(text), `"${text}" not in: ${decision.message}`);
    return;
  }
  const want = s.routed as Routed;
  const out = applied(s.pod, decision);
  assert.ok(decision.kind === 'patch');
  assert.deepEqual(decision.record.pools, want.pools);
  assert.equal(decision.record.backend, want.backend);
  for (const [name, limits] of Object.entries(want.limits)) {
    assert.deepEqual(limitsOf(out, name), limits);
    const requests = [...(out.spec.initContainers ?? []), ...out.spec.containers].find((c) => c.name === name)?.resources?.requests ?? {};
    for (const [resource, value] of Object.entries(limits)) {
      if (resource !== 'cpu') assert.equal(requests[resource], value, `requests["${resource}"] equals the limit`);
    }
  }
  assert.deepEqual(decision.warnings, want.warnings ?? []);
  for (const [k, v] of Object.entries(want.labels ?? {})) assert.equal(out.metadata?.labels?.[k], v);
  for (const [k, v] of Object.entries(want.annotations ?? {})) assert.equal(out.metadata?.annotations?.[k], v);
  assert.deepEqual(out.spec.tolerations, want.tolerations);
  assert.equal(out.spec.schedulerName, want.schedulerName);
  const record = JSON.parse(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '{}');
  assert.equal(record.revision, policy.revision);
  const again = decide(out, { policy, namespace: { name: s.namespace ?? 'ml', labels: s.nsLabels ?? {} } });
  assert.deepEqual(again, { kind: 'allow', warnings: [] }, 'the webhook on its own output returns no patch');
}

describe('decide: routing and translation over the DESIGN policy and an upstream policy', () => {
  for (const s of scenarios) {
    it(`when ${s.name}, then it is ${s.denied ? `denied (${s.denied.code})` : `routed to ${s.routed?.pools.join(',')}`}`, () => check(s));
  }
});

describe('decide: what is left alone', () => {
  it('when a pod asks for no GPU, then it is not applicable', () => {
    assert.deepEqual(decide(podWith([{ limits: { cpu: '1' } }]), { policy: design, namespace: { name: 'ml', labels: {} } }), { kind: 'not-applicable' });
  });
  it('when a pod without GPUs carries gpu-admission annotations, then it is allowed with a warning', () => {
    const d = decide(podWith([{ limits: {} }], { 'gpu-admission.io/rdma': 'true' }), { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'allow');
    assert.match(d.kind === 'allow' ? d.warnings.join() : '', /no effect/);
  });
  it('when a native request fits pools, then its resources stay and it is routed to the pools that take them', () => {
    const pod = podWith([{ name: 'x', limits: { 'aliyun.com/gpu-mem': '8' } }]);
    const ctx = { policy: design, namespace: { name: 'ml', labels: {} } };
    const d = decide(pod, ctx);
    const out = applied(pod, d);
    assert.deepEqual(limitsOf(out, 'x'), { 'aliyun.com/gpu-mem': '8' });
    const record = d.kind === 'patch' ? d.record : undefined;
    assert.deepEqual({ ...record, nodes: undefined }, { pools: ['t4-shared'], backend: 'ack-cgpu', revision: design.revision, containers: {}, nodes: undefined });
    assert.deepEqual(record?.nodes, [
      ['ack.node.gpu.schedule In cgpu', 'ack.node.gpu.placement NotIn spread', 'aliyun.accelerator/nvidia_name In Tesla-T4'],
    ]);
    assert.deepEqual(decide(out, ctx), { kind: 'allow', warnings: [] });
  });
});

const team = parsePolicyOrThrow(`${DEFAULT_POLICY_YAML}  - names: [team]
    allowedPools: [t4-shared, a10-core]
    maxGpusPerPod: 2
    isolation: compute
`);
const inTeam = { policy: team, namespace: { name: 'team', labels: {} } };

describe('decide: namespace rules hold for every way of asking', () => {
  it('when native ACK memory spreads over more cards than the namespace allows, then it is denied', () => {
    const pod = podWith([{ limits: { 'aliyun.com/gpu-mem': '12' } }], {}, { labels: { 'aliyun.com/gpu-count': '4' } });
    const d = decide(pod, inTeam);
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.message : '', /pod asks 4 GPUs, namespace team allows at most 2 per pod/);
  });

  it('when a native request would fit a pool the namespace may not use, then it is routed only to allowed ones', () => {
    const pod = podWith([{ name: 'x', limits: { 'aliyun.com/gpu-mem': '8', 'aliyun.com/gpu-core.percentage': '30' } }]);
    const d = decide(pod, inTeam);
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['a10-core'], 't4-shared isolates memory only, the namespace needs compute');
  });

  it('when the pod asks for less isolation than its namespace, then the namespace floor holds', () => {
    const d = decide(podWith([{ limits: { 'gpu-admission.io/gpu-memory': '4Gi' } }], { 'gpu-admission.io/isolation': 'none' }), inTeam);
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['a10-core']);
  });

  it('when a forged record names one container, then a native request in another is still refused as a mix', () => {
    const record = '{"pools":["a100-mig"],"backend":"ack-mig","revision":"x","containers":{"a":{"gpu":1,"gpu-memory":"10Gi"}}}';
    const pod = podWith([{ name: 'a', limits: { 'nvidia.com/mig-1g.10gb': '1' } }, { name: 'b', limits: { 'aliyun.com/gpu-mem': '500' } }],
      { 'gpu-admission.io/decision': record });
    const d = decide(pod, { policy: design, namespace: { name: 'research', labels: {} } });
    assert.equal(d.kind === 'deny' ? d.code : d.kind, 'mixed-resources');
  });

  it('when a privileged container asks whole GPUs, then shared pools are ruled out with the reason', () => {
    const pod = podWith([{ name: 'x', limits: { 'gpu-admission.io/gpu': '1' }, privileged: true }], { 'gpu-admission.io/pools': 'a10-core,h100' });
    const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['h100']);
    const only = decide(podWith([{ name: 'x', limits: { 'gpu-admission.io/gpu': '1' }, privileged: true }], { 'gpu-admission.io/pools': 'a10-core' }),
      { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.match(only.kind === 'deny' ? only.message : '', /pool a10-core: container "x" is privileged and would see every shared card/);
  });

  it('when a privileged sidecar without GPUs shares the pod with a GPU share, then no shared pool takes the pod', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '4Gi' } }, { name: 'debug', limits: { cpu: '1' }, privileged: true }]);
    const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.message : '', /pool t4-shared: container "debug" is privileged/);
  });

  it('when HAMi asks natively with nvidia.com/gpu beside gpumem, then nvidia.com/gpu is native, not a generic request', () => {
    const pod = podWith([{ name: 'x', limits: { 'nvidia.com/gpu': '1', 'nvidia.com/gpumem': '4096' } }]);
    const d = decide(pod, { policy: hamiDefaults, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'patch', JSON.stringify(d));
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : [], ['l40s-hami']);
    assert.equal(applied(pod, d).spec.schedulerName, 'hami-scheduler');
    assert.deepEqual(limitsOf(applied(pod, d), 'x'), { 'nvidia.com/gpu': '1', 'nvidia.com/gpumem': '4096' });
  });

  it('when containers of one pod ask different GPU counts of a share, then ACK pools refuse (one gpu-count per pod)', () => {
    const pod = podWith([{ name: 'prep', limits: { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '4Gi' } },
      { name: 'main', limits: { 'gpu-admission.io/gpu-memory': '10Gi' } }], { 'gpu-admission.io/pools': 'a10-cgpu' });
    const d = decide(pod, { policy: ackWide, namespace: { name: 'ml', labels: {} } });
    assert.match(d.kind === 'deny' ? d.message : '', /pool a10-cgpu: ack-cgpu: the gpushare device plugin matches one container's GPU memory against the pod's total/);
  });

  it('when an init container asks a GPU share, then ACK shared pools refuse it (their device plugin counts app containers only)', () => {
    const init = { name: 'prep', image: 'busybox', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } };
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '10Gi' } }], { 'gpu-admission.io/pools': 'a10-cgpu' }, { initContainers: [init] });
    const d = decide(pod, { policy: ackWide, namespace: { name: 'ml', labels: {} } });
    assert.match(d.kind === 'deny' ? d.message : '', /pool a10-cgpu: ack-cgpu counts GPU memory of app containers only/);
  });

  it('when two app containers of a pod ask GPU memory, then ACK shared pools refuse: one container is matched against the pod\'s total', () => {
    const pod = podWith([{ name: 'a', limits: { 'gpu-admission.io/gpu-memory': '8Gi' } }, { name: 'b', limits: { 'gpu-admission.io/gpu-memory': '8Gi' } }],
      { 'gpu-admission.io/pools': 'a10-cgpu' });
    const d = decide(pod, { policy: ackWide, namespace: { name: 'ml', labels: {} } });
    assert.match(d.kind === 'deny' ? d.message : '', /pool a10-cgpu: ack-cgpu: the gpushare device plugin matches one container's GPU memory against the pod's total \(Allocate, getGPUMemoryFromPodResource\), so 2 app containers/);
  });

  it('when whole cards are written as the card\'s full memory, then they count against GPUs per node', () => {
    const pod = podWith([{ name: 'a', limits: { 'gpu-admission.io/gpu': '5', 'gpu-admission.io/gpu-memory': '80Gi' } },
      { name: 'b', limits: { 'gpu-admission.io/gpu': '5', 'gpu-admission.io/gpu-memory': '80Gi' } }], { 'gpu-admission.io/pools': 'h100' });
    const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.match(d.kind === 'deny' ? d.message : '', /pool h100: pod asks 10 GPUs, a node has 8/);
  });

  it('when native whole cards of two containers add up past a node, then the pool is ruled out', () => {
    const pod = podWith([{ name: 'a', limits: { 'aliyun.com/gpu': '5' } }, { name: 'b', limits: { 'aliyun.com/gpu': '5' } }]);
    const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.message : '', /pool a100-topology: pod asks 10 GPUs, a node has 8/);
  });

  it('when whole cards written as 100 % cores ask SingleNUMANode, then one NUMA node must hold them', () => {
    const pod = podWith([{ name: 'a', limits: { 'gpu-admission.io/gpu': '3', 'gpu-admission.io/gpu-cores': '100' }, cpu: '8' },
      { name: 'b', limits: { 'gpu-admission.io/gpu': '3', 'gpu-admission.io/gpu-cores': '100' }, cpu: '8' }],
    { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/pools': 'a100-topology' });
    const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.match(d.kind === 'deny' ? d.message : '', /pool a100-topology: 6 GPUs exceed one NUMA node \(4\)/);
  });

  it('when two containers ask ACK GPU memory natively, then the shared pool refuses: its device plugin serves one container of a pod', () => {
    const pod = podWith([{ name: 'a', limits: { 'aliyun.com/gpu-mem': '4' } }, { name: 'b', limits: { 'aliyun.com/gpu-mem': '4' } }],
      { 'gpu-admission.io/pools': 't4-shared' });
    const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.match(d.kind === 'deny' ? d.message : '', /pool t4-shared: ack-cgpu: the gpushare device plugin matches one container's GPU memory/);
  });

  it('when a native whole GPU fits HAMi and time-slicing pools, then it goes to HAMi with its scheduler', () => {
    const pod = podWith([{ name: 'x', limits: { 'nvidia.com/gpu': '1' } }]);
    const d = decide(pod, { policy: hamiDefaults, namespace: { name: 'ml', labels: {} } });
    assert.deepEqual(d.kind === 'patch' ? d.routes : d, [{ pool: 'l40s-hami', backend: 'hami' }]);
    assert.equal(applied(pod, d).spec.schedulerName, 'hami-scheduler');
  });

  it('when one container speaks HAMi and another asks plain nvidia.com/gpu, then the pod is HAMi, not a mix', () => {
    const pod = podWith([{ name: 'a', limits: { 'nvidia.com/gpu': '1', 'nvidia.com/gpumem': '4000' } }, { name: 'b', limits: { 'nvidia.com/gpu': '1' } }]);
    const d = decide(pod, { policy: hamiDefaults, namespace: { name: 'ml', labels: {} } });
    assert.deepEqual(d.kind === 'patch' ? d.record.pools : d, ['l40s-hami']);
  });

  it('when a chart asks nvidia.com/gpu: 0, then the pod asks no GPU', () => {
    const d = decide(podWith([{ limits: { 'nvidia.com/gpu': '0', cpu: '1' } }]), { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.deepEqual(d, { kind: 'not-applicable' });
  });

  it('when two containers share a name, then the pod is refused before anything is translated', () => {
    const init = { name: 'x', image: 'busybox', resources: { limits: { 'gpu-admission.io/gpu': '1' } } };
    const d = decide(podWith([{ name: 'x', limits: { 'gpu-admission.io/gpu-memory': '4Gi' } }], {}, { initContainers: [init] }),
      { policy: design, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind === 'deny' ? d.message : '', 'container names must be unique in a pod: "x" used more than once');
  });

  it('when a pod carries a stale gpu-count label and asks one shared card, then the label is removed', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi' } }], {}, { labels: { 'aliyun.com/gpu-count': '4', app: 'x' } });
    const out = applied(pod, decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } }));
    assert.deepEqual(out.metadata?.labels, { app: 'x' });
  });
});
