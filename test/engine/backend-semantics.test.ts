// Backend semantics, third pass (#21): what the vendors' code does that routing must follow.
// Sources for every rule: docs/backends.md. Each case failed before the rule it tests was in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { runCase, type Case } from '../helpers/decide-cases.ts';
import { decide } from '../../src/engine/decide.ts';
import { applied, generic as G, limitsOf, podWith } from '../helpers/pods.ts';
import { design, upstream } from '../helpers/policies.ts';

const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}): Pod =>
  podWith([{ name: 'main', limits }], annotations, { spec });
const onPool = (pool: string): Record<string, string> => ({ 'gpu-admission.io/pools': pool });

const MIG = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - name: ack-a100
    backend: ack-mig
    gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 8}
    mig: {profiles: [1g.10gb, 3g.40gb, 7g.80gb]}
  - name: mixed
    backend: nvidia-mig
    gpu: {model: H100, product: NVIDIA-H100-80GB-HBM3, memory: 80Gi, perNode: 8}
    mig: {profiles: [1g.10gb, 3g.40gb, 7g.80gb]}
  - name: single
    backend: nvidia-mig
    nodeSelector: {pool: single}
    gpu: {model: A100, product: NVIDIA-A100-SXM4-80GB, memory: 80Gi, perNode: 8}
    mig: {strategy: single, profiles: [3g.40gb]}
  - name: dra-mig
    backend: dra
    nodeSelector: {pool: dra}
    gpu: {model: A100, product: NVIDIA A100-SXM4-80GB, memory: 80Gi, perNode: 8}
    mig: {profiles: [3g.40gb, 7g.80gb]}
`);
const RTX = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - name: rtx
    backend: nvidia-mig
    gpu: {model: RTX PRO 6000, product: NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition, memory: 96Gi, perNode: 8}
    mig: {profiles: [1g.24gb, 2g.48gb, 4g.96gb]}
  - name: unknown
    backend: nvidia-mig
    gpu: {model: X1, memory: 96Gi, perNode: 8}
    mig: {profiles: [1g.24gb, 2g.48gb, 4g.96gb]}
  - name: variants
    backend: nvidia-mig
    nodeSelector: {pool: variants}
    gpu: {model: RTX PRO 6000, product: NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition, memory: 96Gi, perNode: 8}
    mig: {profiles: [1g.24gb+gfx, 1g.24gb+me.all, 2g.48gb-me, 4g.96gb+gfx]}
`);
/** The pod as the webhook left it (a template `mutate` produced). */
const decided = (pod: Pod): Pod => applied(pod, decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } }));
/** The pod with one container's GPU limits replaced by its author. */
const edited = (pod: Pod, name: string, limits: Record<string, string>): Pod => {
  const copy = structuredClone(pod);
  const c = copy.spec.containers.find((x) => x.name === name);
  if (c) c.resources = { limits };
  return copy;
};
const numaPod = (overhead: Record<string, string> | undefined): Pod => podWith([{ name: 'main', limits: G('4'), cpu: '8' }],
  { 'gpu-admission.io/numa': 'SingleNUMANode' }, overhead ? { spec: { overhead } } : {});
const PLACEMENT = 'gpu-admission.io/placement';
const HAMI_POLICY = 'hami.io/gpu-scheduler-policy';
const USE = 'nvidia.com/use-gputype';
const NOUSE = 'nvidia.com/nouse-gputype';
const ONE_MIG = 'a CUDA process enumerates one MIG device only';

const cases: Case[] = [
  // 1. One MIG device per CUDA process: N slices in one container are not N GPUs.
  ...['ack-a100', 'mixed', 'single', 'dra-mig'].flatMap((pool): Case[] => [
    { name: `a container asks 2 shares of 30Gi on ${pool}, then it is refused: one process sees one MIG device`,
      policy: MIG, pod: one(G('2', '30Gi'), onPool(pool)), denied: [`pool ${pool}: ${ONE_MIG}`], ruledOut: { [pool]: ONE_MIG } },
    { name: `a container asks 2 whole GPUs on ${pool}, then it is refused: two full-card slices are not two GPUs to one process`,
      policy: MIG, pod: one(G('2'), onPool(pool)), denied: [`pool ${pool}: ${ONE_MIG}`] },
  ]),
  { name: 'two containers ask one MIG slice each, then each gets its own slice (one process per container)',
    policy: MIG, pod: podWith([{ name: 'a', limits: G(undefined, '30Gi') }, { name: 'b', limits: G(undefined, '30Gi') }], onPool('mixed')),
    pools: ['mixed'], check: (out) => assert.deepEqual(limitsOf(out, 'b'), { 'nvidia.com/mig-3g.40gb': '1' }) },
  { name: 'a container asks 2 MIG slices natively, then they are routed as written: the author who pins one device per process says so in MIG\'s own dialect',
    policy: MIG, pod: one({ 'nvidia.com/mig-3g.40gb': '2' }), pools: ['ack-a100', 'mixed'] },
  { name: 'a container asks 2 shares on a pool that is not MIG, then it is still served there',
    policy: upstream, pod: one(G('2', '4Gi'), onPool('l20-hami')), pools: ['l20-hami'] },

  // 2. HAMi's card-type annotations are the author's constraint (HAMi CheckType), never overwritten.
  { name: 'a pod asks use-gputype H100, then the HAMi L20 pool is out by HAMi\'s rule',
    policy: upstream, pod: one(G(undefined, '4Gi'), { ...onPool('l20-hami'), [USE]: 'H100' }),
    denied: ['pool l20-hami: the pod\'s nvidia.com/use-gputype "H100" does not match card type L20 (HAMi CheckType'] },
  { name: 'a pod asks nouse-gputype of the HAMi pool\'s model, then that pool is out instead of a pod Pending for ever',
    policy: upstream, pod: one(G(undefined, '4Gi'), { ...onPool('l20-hami'), [NOUSE]: 'a10, l20' }),
    denied: ['pool l20-hami: the pod\'s nvidia.com/nouse-gputype "l20" excludes card type L20'] },
  { name: 'a pod asks use-gputype in another case, then HAMi\'s pool serves it and the annotation is kept as written',
    policy: upstream, pod: one(G(undefined, '4Gi'), { ...onPool('l20-hami'), [USE]: 'l20' }), pools: ['l20-hami'],
    check: (out) => assert.equal(out.metadata?.annotations?.[USE], 'l20') },
  { name: 'a pod asks use-gputype H100, then pools of other models are out too (by the pool\'s model) and the H100 pool serves it',
    policy: upstream, pod: one(G('1'), { [USE]: 'H100' }), pools: ['h100-mig'],
    ruledOut: { 'l20-hami': 'does not match card type L20', 'h20-exclusive': 'use-gputype "H100" does not match card type H20' },
    check: (out) => assert.equal(out.metadata?.annotations?.[USE], 'H100') },
  { name: 'a pod asks nouse-gputype H20, then the H20 pool is out by its model',
    policy: upstream, pod: one(G('1'), { ...onPool('h20-exclusive'), [NOUSE]: 'H20' }),
    denied: ['pool h20-exclusive: the pod\'s nvidia.com/nouse-gputype "H20" excludes card type H20'] },

  // 4. MIG catalogs: cards beyond the 7-slice ones, exact model names, profile variants.
  { name: 'an RTX PRO 6000 pool (4 slices) gets a whole GPU, then it takes the full-card 4g.96gb',
    policy: RTX, pod: one(G('1'), onPool('rtx')), pools: ['rtx'], check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/mig-4g.96gb': '1' }) },
  { name: 'an RTX PRO 6000 pool gets half a card\'s compute, then it takes 2g.48gb (2 of 4 slices), not the whole card',
    policy: RTX, pod: one(G(undefined, undefined, '50'), onPool('rtx')), pools: ['rtx'],
    check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/mig-2g.48gb': '1' }) },
  { name: 'a card the catalog does not know lists a 4-slice full-card profile, then its slices come from the policy\'s profiles',
    policy: RTX, pod: one(G('1'), onPool('unknown')), pools: ['unknown'], check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/mig-4g.96gb': '1' }) },
  { name: 'a profile variant is listed, then its resource is the device plugin\'s name (+ as .)',
    policy: RTX, pod: one(G(undefined, '20Gi'), onPool('variants')), pools: ['variants'],
    check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/mig-1g.24gb.gfx': '1' }) },
  ...['nvidia.com/mig-1g.24gb.me.all', 'nvidia.com/mig-2g.48gb-me', 'nvidia.com/mig-4g.96gb.gfx'].map((resource): Case => ({
    name: `a native ${resource} is asked, then it is read as that profile variant and routed to the pool that lists it`,
    policy: RTX, pod: one({ [resource]: '1' }), pools: ['variants'] })),

  // 5. A decision that outlives an edit: the edit is honoured or refused, never reverted.
  { name: 'a decided template\'s native memory is edited from 12 to 4, then the edit is honoured: 4 stays and is routed as native',
    pod: edited(decided(one(G(undefined, '12Gi'))), 'main', { 'aliyun.com/gpu-mem': '4' }), pools: ['t4-shared'],
    check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'aliyun.com/gpu-mem': '4' }) },
  { name: 'a decided template\'s native memory is replaced by a generic request, then the new request is translated',
    pod: edited(decided(one(G(undefined, '12Gi'))), 'main', G(undefined, '4Gi')), pools: ['t4-shared'],
    check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'aliyun.com/gpu-mem': '4' }) },
  { name: 'one of two decided containers is edited to a native value, then the pod is refused naming the edit',
    pod: edited(decided(podWith([{ name: 'a', limits: G(undefined, '4Gi') }, { name: 'b', limits: G(undefined, '4Gi') }])), 'b', { 'aliyun.com/gpu-mem': '2' }),
    denied: ['container "b" was edited after gpu-admission decided the pod (it holds aliyun.com/gpu-mem: 2; the decision wrote nvidia.com/mig-1g.10gb: 1)'] },
  { name: 'a decided pod is reinvoked unedited, then nothing changes', pod: decided(one(G(undefined, '12Gi'))), untouched: true },

  // 3. Placement on HAMi: per pod, hami.io/gpu-scheduler-policy (GetGPUSchedulerPolicyByPod).
  ...(['spread', 'binpack'] as const).map((placement): Case => ({
    name: `a pod asks placement ${placement} on HAMi, then it is served with HAMi's per-pod hami.io/gpu-scheduler-policy: ${placement}`,
    policy: upstream, pod: one(G(undefined, '4Gi'), { ...onPool('l20-hami'), [PLACEMENT]: placement }), pools: ['l20-hami'],
    check: (out) => assert.equal(out.metadata?.annotations?.[HAMI_POLICY], placement) })),
  { name: 'a pod writes HAMi\'s own gpu-scheduler-policy binpack and asks spread, then HAMi is out: the two say different things',
    policy: upstream, pod: one(G(undefined, '4Gi'), { ...onPool('l20-hami'), [PLACEMENT]: 'spread', [HAMI_POLICY]: 'binpack' }),
    denied: ['pool l20-hami: the pod\'s hami.io/gpu-scheduler-policy is binpack, not spread'] },
  { name: 'a pod writes HAMi\'s own gpu-scheduler-policy, then it is kept as written',
    policy: upstream, pod: one(G(undefined, '4Gi'), { ...onPool('l20-hami'), [HAMI_POLICY]: 'binpack' }), pools: ['l20-hami'],
    check: (out) => assert.equal(out.metadata?.annotations?.[HAMI_POLICY], 'binpack') },
  { name: 'a pod asks placement spread on an exclusive pool, then it is still out: placement is not configurable there',
    policy: upstream, pod: one(G('1'), { ...onPool('h20-exclusive'), [PLACEMENT]: 'spread' }), denied: ['pool h20-exclusive: placement is not configurable, not spread'] },

  // 6. NUMA CPUs whole with the pod's overhead (koordinator NodeNUMAResource: PodRequests counts it).
  { name: 'a NUMA pod of 8 whole CPUs has a RuntimeClass overhead of 250m, then it is refused: the pod asks 8.25 CPUs',
    pod: numaPod({ cpu: '250m' }), denied: ['the pod\'s CPU request, init containers, sidecars and the pod\'s overhead (spec.overhead cpu 0.25, from its RuntimeClass) counted, is 8.25'] },
  { name: 'a NUMA pod of 8 whole CPUs has a whole-CPU overhead, then it is bound on the topology pool',
    pod: numaPod({ cpu: '1' }), pools: ['a100-topology'] },
  { name: 'a NUMA pod of 8 whole CPUs has no overhead, then it is bound on the topology pool', pod: numaPod(undefined), pools: ['a100-topology'] },

  // 7. ACK's gpushare device plugin matches one container's memory against the pod's total: one GPU app container per pod.
  { name: 'two app containers ask GPU memory, then ACK\'s shared pools are out and a MIG pool gives each a slice',
    pod: podWith([{ name: 'a', limits: G(undefined, '4Gi') }, { name: 'b', limits: G(undefined, '4Gi') }]), pools: ['a100-mig'],
    ruledOut: { 't4-shared': 'the gpushare device plugin matches one container\'s GPU memory against the pod\'s total', 'a10-core': 'so 2 app containers' } },
  { name: 'two app containers ask ACK GPU memory natively, then the pod is refused with that reason',
    pod: podWith([{ name: 'a', limits: { 'aliyun.com/gpu-mem': '4' } }, { name: 'b', limits: { 'aliyun.com/gpu-mem': '4' } }]),
    denied: ['pool t4-shared: ack-cgpu: the gpushare device plugin matches one container\'s GPU memory against the pod\'s total'] },
  { name: 'one app container asks GPU memory beside a CPU sidecar, then ACK\'s shared pool still serves it',
    pod: podWith([{ name: 'a', limits: G(undefined, '4Gi') }, { name: 'b', limits: { cpu: '1' } }]), pools: ['t4-shared'] },
];

describe('backend semantics (#21): what the vendors\' code does', () => {
  for (const c of cases) it(`when ${c.name}`, () => runCase(c));
});

const migPool = (model: string, memory: string, profiles: string): ReturnType<typeof parsePolicy> => parsePolicy(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: m, backend: nvidia-mig, gpu: {model: ${model}, memory: ${memory}, perNode: 8}, mig: {profiles: [${profiles}]}}
`);

describe('MIG catalog (#21): the cards of mig-parted\'s default configuration, by exact model', () => {
  const valid: [string, string, string][] = [
    ['GB200', '186Gi', '1g.23gb, 1g.23gb+me, 1g.47gb, 2g.47gb, 3g.93gb, 4g.93gb, 7g.186gb'],
    ['NVIDIA-GB200', '186Gi', '2g.47gb, 3g.93gb, 7g.186gb'],
    ['B200', '180Gi', '1g.23gb, 2g.45gb, 3g.90gb, 7g.180gb'],
    ['H200', '141Gi', '1g.18gb, 1g.35gb, 2g.35gb, 3g.71gb, 4g.71gb, 7g.141gb'],
    ['GH200', '144Gi', '1g.18gb, 2g.36gb, 3g.72gb, 7g.144gb'],
    ['H20', '96Gi', '1g.12gb, 3g.48gb, 7g.96gb'],
    ['B300', '269Gi', '1g.34gb, 2g.67gb, 3g.135gb, 7g.269gb'],
    ['GB300', '278Gi', '1g.35gb, 2g.70gb, 3g.139gb, 7g.278gb'],
    ['NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition', '96Gi', '1g.24gb, 1g.24gb+gfx, 1g.24gb-me, 1g.24gb+me.all, 2g.48gb, 4g.96gb, 4g.96gb+gfx'],
  ];
  for (const [model, memory, profiles] of valid) {
    it(`when a ${model} pool lists ${profiles}, then the policy is accepted`, () => {
      const r = migPool(model, memory, profiles);
      assert.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
    });
  }
  it('when a B200 pool lists GB200\'s profiles, then they are refused: B200 is matched exactly, and GB200 is not it', () => {
    const r = migPool('B200', '180Gi', '2g.47gb');
    assert.ok(!r.ok && r.errors.some((e) => e.includes('2g.47gb is not a MIG profile of the B200 180GB')), JSON.stringify(r));
  });
  it('when a 4-slice card lists a 7g profile, then it is refused by the catalog', () => {
    const r = migPool('NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition', '96Gi', '1g.24gb, 7g.96gb');
    assert.ok(!r.ok && r.errors.some((e) => e.includes('7g.96gb is not a MIG profile of the RTX PRO 6000')), JSON.stringify(r));
  });
});
