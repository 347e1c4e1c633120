// The cluster policies in examples/policies/ are valid, and pods go where those clusters run them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { policyWarnings } from '../../src/policy/warnings.ts';
import { applied, generic, limitsOf, podWith } from '../helpers/pods.ts';

function load(name: string): Policy {
  const r = parsePolicy(readFileSync(new URL(`../../examples/policies/${name}.yaml`, import.meta.url), 'utf8'));
  assert.ok(r.ok, JSON.stringify(r));
  return r.policy;
}

interface Case {
  name: string;
  pod: Pod;
  namespace?: string;
  labels?: Record<string, string>;
  pools?: string[];
  limits?: Record<string, string>;
  denied?: RegExp;
  check?: (out: Pod) => void;
}

const G = generic;
const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, cpu?: string): Pod =>
  podWith([{ name: 'main', limits, ...(cpu ? { cpu } : {}) }], annotations);

const tables: Record<string, Case[]> = {
  'ack-pro': [
    { name: 'a 4Gi share goes to the T4 cGPU pool', pod: one(G(undefined, '4Gi')), pools: ['t4-cgpu'], limits: { 'aliyun.com/gpu-mem': '4' } },
    { name: 'memory and compute go to the A10 core_mem pool, spread', pod: one(G(undefined, '8Gi', '30')), pools: ['a10-core'],
      limits: { 'aliyun.com/gpu-mem': '8', 'aliyun.com/gpu-core.percentage': '30' },
      check: (out) => assert.match(JSON.stringify(out.spec.affinity), /"ack.node.gpu.placement","operator":"In","values":\["spread"\]/) },
    { name: 'four plain GPUs take whole topology-aware A100 cards', pod: one({ 'nvidia.com/gpu': '4' }), pools: ['a100-topology'],
      limits: { 'aliyun.com/gpu': '4' } },
    { name: 'the V100 model takes the unlabelled exclusive nodes', pod: one(G('2'), { 'gpu-admission.io/gpu-model': 'V100' }), pools: ['v100'],
      limits: { 'nvidia.com/gpu': '2' } },
    { name: 'research takes a 3g.40gb slice for a 30Gi share', pod: one(G('1', '30Gi')), namespace: 'research', pools: ['a100-mig'],
      limits: { 'nvidia.com/mig-3g.40gb': '1' } },
    { name: 'research cannot take 8 slices in one container: a CUDA process sees one MIG device', pod: one(G('8', '30Gi')), namespace: 'research',
      denied: /pool a100-mig: a CUDA process enumerates one MIG device only/ },
    { name: 'research cannot take more than 8 GPUs', pod: one(G('9', '30Gi')), namespace: 'research', denied: /pod asks 9 GPUs, namespace research allows at most 8/ },
    { name: 'inference prefers the A10 pool, which adds the compute share its memory implies', pod: one(G(undefined, '4Gi')), namespace: 'inference',
      pools: ['a10-core'], limits: { 'aliyun.com/gpu-mem': '4', 'aliyun.com/gpu-core.percentage': '20' } },
    { name: 'a dev namespace gets one GPU at most', pod: one(G('2', '4Gi')), namespace: 'sandbox-1', labels: { tier: 'sandbox' },
      denied: /pod asks 2 GPUs, namespace sandbox-1 allows at most 1 per pod/ },
    { name: 'NUMA with eRDMA lands on the topology pool with both', pod: one(G('4'), { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/rdma': 'true' }, '32'),
      pools: ['a100-topology'], limits: { 'aliyun.com/gpu': '4', 'aliyun/erdma': '1', cpu: '32' } },
    { name: 'a native memory share goes to cGPU, never to core_mem', pod: one({ 'aliyun.com/gpu-mem': '3' }), pools: ['t4-cgpu'],
      limits: { 'aliyun.com/gpu-mem': '3' } },
  ],
  'self-managed': [
    { name: 'notebooks prefer HAMi, with its renamed resources', pod: one(G(undefined, '6Gi')), namespace: 'notebooks', pools: ['l40s-hami'],
      limits: { 'hami.io/gpu': '1', 'hami.io/gpumem': '6144' }, check: (out) => assert.equal(out.spec.schedulerName, 'hami-scheduler') },
    { name: 'a share that fits one of 4 replicas of an L4 is time-sliced', pod: one(G(undefined, '5Gi')), pools: ['l4-slices'],
      limits: { 'nvidia.com/gpu.shared': '1' } },
    { name: 'a share above one replica takes a 1g.10gb slice', pod: one(G(undefined, '8Gi')), pools: ['h100-mig'], limits: { 'nvidia.com/mig-1g.10gb': '1' } },
    { name: 'an LLM pod takes 8 tainted H20 cards with RDMA', pod: one(G('8'), { 'gpu-admission.io/rdma': 'true' }), namespace: 'llm', pools: ['h20'],
      limits: { 'nvidia.com/gpu': '8', 'rdma/hca_shared_devices_a': '1' },
      check: (out) => assert.deepEqual(out.spec.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'h20', effect: 'NoSchedule' }]) },
    { name: 'two native replicas are refused, as the device plugin would', pod: one({ 'nvidia.com/gpu.shared': '2' }),
      denied: /refuses more than one \(failRequestsGreaterThanOne\)/ },
    { name: '14 native 1g.10gb slices fit a node of 8 cards × 7', pod: one({ 'nvidia.com/mig-1g.10gb': '14' }), pools: ['h100-mig'] },
    { name: 'the LLM team cannot use HAMi', pod: one(G('1', '8Gi'), { 'gpu-admission.io/gpu-model': 'L40S' }), namespace: 'llm',
      denied: /pool l40s-hami: not allowed in namespace llm/ },
  ],
  volcano: [
    { name: 'a training pod of 2 GPUs × 12Gi + 30% goes to the L40S vGPU pool, keeping its PodGroup', namespace: 'training',
      pod: one(G('2', '12Gi', '30'), { 'scheduling.k8s.io/group-name': 'job-7' }), pools: ['l40s-vgpu'],
      limits: { 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '12288', 'volcano.sh/vgpu-cores': '30' },
      check: (out) => {
        assert.equal(out.spec.schedulerName, 'volcano');
        assert.equal(out.metadata?.annotations?.['scheduling.k8s.io/group-name'], 'job-7');
        assert.equal(out.metadata?.annotations?.['volcano.sh/vgpu-mode'], 'hami-core');
        assert.equal(out.metadata?.annotations?.['nvidia.com/use-gputype'], 'L40S');
      } },
    { name: 'a notebook share prefers a MIG slice of the A100', namespace: 'notebooks', pod: one(G(undefined, '9Gi')), pools: ['a100-mig'],
      limits: { 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '9216' },
      check: (out) => assert.equal(out.metadata?.annotations?.['volcano.sh/vgpu-mode'], 'mig') },
    { name: 'a notebook share with compute falls back to HAMi-core on the L40S', namespace: 'notebooks', pod: one(G(undefined, '9Gi', '20')),
      pools: ['l40s-vgpu'], limits: { 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '9216', 'volcano.sh/vgpu-cores': '20' } },
    { name: 'a GPU init container is refused: Volcano reads app containers only', namespace: 'training',
      pod: podWith([{ name: 'main', limits: {} }], {}, { initContainers: [{ name: 'warm', image: 'busybox', resources: { limits: G('1', '4Gi') } }] }),
      denied: /pool l40s-vgpu: Volcano's vGPU reads the GPUs of app containers only/ },
    { name: 'a pod of another scheduler cannot use Volcano\'s cards', namespace: 'training', pod: podWith([{ name: 'main', limits: G('1') }], {}, { spec: { schedulerName: 'kai-scheduler' } }),
      denied: /pool l40s-vgpu: the pod is scheduled by kai-scheduler; volcano-vgpu cards are allocated by volcano/ },
  ],
  koordinator: [
    { name: 'an inference share gets HAMi-core: memory and compute totals, the isolation label', namespace: 'inference', pod: one(G(undefined, '6Gi', '25')),
      pools: ['a10-hami-core'], limits: { 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': String(6 * 2 ** 30), 'koordinator.sh/gpu-core': '25' },
      check: (out) => {
        assert.equal(out.spec.schedulerName, 'koord-scheduler');
        assert.equal(out.metadata?.labels?.['koordinator.sh/gpu-isolation-provider'], 'HAMi-core');
      } },
    { name: 'inference needs compute isolation, so a memory share gets its proportional compute', namespace: 'inference', pod: one(G(undefined, '11Gi')),
      pools: ['a10-hami-core'], limits: { 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': String(11 * 2 ** 30), 'koordinator.sh/gpu-core': '50' } },
    { name: 'an LLM pod of 4 H800s on one NUMA node with RDMA gets Koordinator\'s NUMA spec and joint allocation', namespace: 'llm',
      pod: one(G('4'), { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/rdma': 'true' }, '48'), pools: ['h800'],
      limits: { 'koordinator.sh/gpu.shared': '4', 'koordinator.sh/gpu-memory-ratio': '400', 'koordinator.sh/gpu-core': '400', 'koordinator.sh/rdma': '1', cpu: '48' },
      check: (out) => {
        assert.equal(out.metadata?.annotations?.['scheduling.koordinator.sh/numa-topology-spec'], '{"numaTopologyPolicy":"SingleNUMANode"}');
        assert.equal(out.metadata?.annotations?.['scheduling.koordinator.sh/device-joint-allocate'], '{"deviceTypes":["gpu","rdma"]}');
        assert.deepEqual(out.spec.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      } },
    { name: '5 GPUs on one NUMA node are refused: a NUMA node has 4', namespace: 'llm', pod: one(G('5'), { 'gpu-admission.io/numa': 'SingleNUMANode' }),
      denied: /pool h800: 5 GPUs exceed one NUMA node \(4\)/ },
    { name: 'a native share whose core is not a multiple of gpu.shared is refused', namespace: 'llm',
      pod: one({ 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': '8Gi', 'koordinator.sh/gpu-core': '25' }),
      denied: /must be a multiple of koordinator.sh\/gpu.shared 2/ },
  ],
  gke: [
    { name: '10Gi + 40% takes 2 of the L4\'s 4 MPS shares', pod: one(G('1', '10Gi', '40')), pools: ['l4-mps'], limits: { 'nvidia.com/gpu': '2' },
      check: (out) => assert.match(JSON.stringify(out.spec.affinity), /"cloud.google.com\/gke-gpu-sharing-strategy","operator":"In","values":\["mps"\]/) },
    { name: 'a 4Gi share may land on any shared pool: one nvidia.com/gpu is a share (or partition) on each, MPS first',
      pod: one(G(undefined, '4Gi')), pools: ['l4-mps', 't4-shared', 'a100-mig'], limits: { 'nvidia.com/gpu': '1' } },
    { name: 'a T4 share goes to time-sharing', pod: one(G(undefined, '4Gi'), { 'gpu-admission.io/gpu-model': 'T4' }), pools: ['t4-shared'], limits: { 'nvidia.com/gpu': '1' } },
    { name: 'a 4Gi A100 share takes a 1g.5gb partition', pod: one(G(undefined, '4Gi'), { 'gpu-admission.io/gpu-model': 'A100' }), pools: ['a100-mig'],
      limits: { 'nvidia.com/gpu': '1' }, check: (out) => assert.match(JSON.stringify(out.spec.affinity), /gke-gpu-partition-size","operator":"In","values":\["1g.5gb"\]/) },
    { name: 'eight whole GPUs take an H100 node', pod: one(G('8')), pools: ['h100'], limits: { 'nvidia.com/gpu': '8' } },
    { name: 'native nvidia.com/gpu: 2 on the time-sharing pool is refused as GKE would fail it', pod: one({ 'nvidia.com/gpu': '2' }, { 'gpu-admission.io/pools': 't4-shared' }),
      denied: /pool t4-shared: nvidia.com\/gpu: 2 time-sharing shares; GKE's device plugin gives a container at most 1/ },
    { name: 'notebooks cannot take whole H100s', pod: one(G('1'), { 'gpu-admission.io/gpu-model': 'H100' }), namespace: 'notebooks', denied: /pool h100: not allowed in namespace notebooks/ },
  ],
  eks: [
    { name: 'a whole T4 lands on the Karpenter T4 nodes, by their GPU name and memory', pod: one(G('1')), pools: ['t4'], limits: { 'nvidia.com/gpu': '1' },
      check: (out) => assert.match(JSON.stringify(out.spec.affinity), /"karpenter.k8s.aws\/instance-gpu-name","operator":"In","values":\["t4"\]/) },
    { name: 'a 3Gi share is time-sliced', pod: one(G(undefined, '3Gi')), pools: ['t4-shared'], limits: { 'nvidia.com/gpu.shared': '1' } },
    { name: 'an L4 asks the DRA pool\'s DeviceClass', pod: one(G('1'), { 'gpu-admission.io/gpu-model': 'L4' }), pools: ['l4-dra'],
      limits: { 'deviceclass.resource.kubernetes.io/l4-dra.gpu-admission.io': '1' } },
    { name: 'two T4s fit no node of one card', pod: one(G('2'), { 'gpu-admission.io/gpu-model': 'T4' }), denied: /pool t4: 2 GPUs, a node has 1/ },
  ],
  aks: [
    { name: 'four A100s take the 4-card VM size', pod: one(G('4')), pools: ['a100x4'], limits: { 'nvidia.com/gpu': '4' },
      check: (out) => {
        assert.match(JSON.stringify(out.spec.affinity), /"node.kubernetes.io\/instance-type","operator":"In","values":\["Standard_NC96ads_A100_v4"\]/);
        assert.deepEqual(out.spec.tolerations, [{ key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }]);
      } },
    { name: 'one A100 may land on either A100 size, the 1-card size first', pod: one(G('1'), { 'gpu-admission.io/gpu-model': 'A100' }), pools: ['a100', 'a100x4'],
      limits: { 'nvidia.com/gpu': '1' } },
    { name: 'a share is refused: these pools take whole cards', pod: one(G(undefined, '4Gi')), denied: /pool t4: takes whole GPUs only/ },
  ],
  dra: [
    { name: 'two H100s ask the H100 DeviceClass by its implicit name', pod: one(G('2'), { 'gpu-admission.io/gpu-model': 'H100' }), pools: ['h100'],
      limits: { 'deviceclass.resource.kubernetes.io/h100.gpu-admission.io': '2' },
      check: (out) => assert.deepEqual(out.spec.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]) },
    { name: 'a whole A100 asks its class by the extendedResourceName the policy gives', pod: one(G('1'), { 'gpu-admission.io/gpu-model': 'A100-SXM4-80GB' }),
      pools: ['a100'], limits: { 'nvidia.com/a100': '1' } },
    { name: 'an 8Gi share takes a 1g.10gb MIG device', pod: one(G(undefined, '8Gi')), pools: ['a100-mig'],
      limits: { 'deviceclass.resource.kubernetes.io/a100-mig-1g-10gb.gpu-admission.io': '1' } },
    { name: 'an L4 goes to the device-plugin pool', pod: one(G('1'), { 'gpu-admission.io/gpu-model': 'L4' }), pools: ['l4'], limits: { 'nvidia.com/gpu': '1' } },
    { name: 'a 30Gi share with 50% compute fits no dra pool by count nor the L4', pod: one(G(undefined, '30Gi', '50')),
      denied: /pool h100: dra serves whole devices by count.*pool a100-mig: no MIG profile holds 30Gi \+ 50% compute.*pool l4: card has 24Gi/ },
  ],
  kai: [
    { name: 'a 12Gi share becomes gpu-fraction 0.54 of an A10 for kai-scheduler, in the pool\'s queue', pod: one(G(undefined, '12Gi')), pools: ['a10-shared'],
      limits: {}, check: (out) => {
        assert.deepEqual(Object.fromEntries(Object.entries(out.metadata?.annotations ?? {}).filter(([k]) => k.startsWith('gpu-fraction'))),
          { 'gpu-fraction': '0.54', 'gpu-fraction-container-name': 'main' });
        assert.equal(out.spec.schedulerName, 'kai-scheduler');
        assert.equal(out.metadata?.labels?.['kai.scheduler/queue'], 'inference');
      } },
    { name: 'the inference namespace needs memory isolation, which HAMi-core gives a10-shared (on nodes labelled nvidia.com/gpu.memory)',
      pod: one(G(undefined, '4Gi')), namespace: 'inference', pools: ['a10-shared'], limits: {},
      check: (out) => assert.match(JSON.stringify(out.spec.affinity), /"key":"nvidia.com\/gpu.memory","operator":"Exists"/) },
    { name: 'a share with compute goes to a MIG slice: a KAI fraction limits no compute', pod: one(G(undefined, '8Gi', '30')), pools: ['h100-mig'],
      limits: { 'nvidia.com/mig-3g.40gb': '1' } },
    { name: 'eight whole H100s take the tainted h100 pool in its queue', pod: one(G('8')), pools: ['h100'], limits: { 'nvidia.com/gpu': '8' },
      check: (out) => assert.equal(out.metadata?.labels?.['kai.scheduler/queue'], 'training') },
    { name: 'two shares in one pod are refused with KAI\'s reason', namespace: 'inference',
      pod: podWith([{ name: 'a', limits: G(undefined, '4Gi') }, { name: 'b', limits: G(undefined, '4Gi') }]),
      denied: /pool a10-shared: KAI gives a share to one container of a pod/ },
    // One queue and one KAI node pool (scheduling shard) per pod: the first kai pool that takes fractions, not h100 (queue training) too.
    { name: 'a pod that asks KAI natively (gpu-fraction 0.5) goes to the first kai pool that takes fractions, in its queue and node pool',
      pod: one({}, { 'gpu-fraction': '0.5' }), pools: ['a10-shared'], check: (out) => {
        assert.equal(out.spec.schedulerName, 'kai-scheduler');
        assert.deepEqual(out.metadata?.labels, { 'kai.scheduler/queue': 'inference', 'kai.scheduler/node-pool': 'a10' });
      } },
    // GPU feature discovery labels an H100 80GB nvidia.com/gpu.memory=81559 (MiB); KAI makes gpu-memory a fraction of that
    // (math.Ceil(81920 / 81559 * 100) / 100 = 1.01 of a card), which no card holds.
    { name: 'gpu-memory 81920 (80Gi) natively is ruled out on h100, whose cards report 81559 MiB', namespace: 'research',
      pod: one({}, { 'gpu-memory': '81920' }), denied: /pool h100: card has 81559Mi \(81559 MiB\), gpu-memory asks 81920 MiB/ },
    { name: 'gpu-memory with a unit is refused as KAI\'s admission refuses it', pod: one({}, { 'gpu-memory': '4Gi' }),
      denied: /annotation gpu-memory: "4Gi": must be a whole number of MiB from 1, without a unit/ },
  ],
};

for (const [name, cases] of Object.entries(tables)) {
  describe(`examples/policies/${name}.yaml`, () => {
    const policy = load(name);
    it('when it is checked, then it is valid and policy check has nothing to warn about', () => {
      assert.deepEqual(policyWarnings(policy), []);
    });
    for (const c of cases) {
      it(`when ${c.name}`, () => {
        const ctx = { policy, namespace: { name: c.namespace ?? 'ml', labels: c.labels ?? {} } };
        const d = decide(c.pod, ctx);
        if (c.denied) {
          assert.match(d.kind === 'deny' ? d.message : JSON.stringify(d), c.denied);
          return;
        }
        assert.equal(d.kind, 'patch', JSON.stringify(d));
        if (d.kind !== 'patch') return;
        assert.deepEqual(d.record.pools, c.pools);
        const out = applied(c.pod, d);
        if (c.limits) assert.deepEqual(limitsOf(out, 'main'), c.limits);
        c.check?.(out);
        assert.deepEqual(decide(out, ctx), { kind: 'allow', warnings: [] });
      });
    }
  });
}
