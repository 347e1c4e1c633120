// The rules of the real backends and of Kubernetes that routing must respect, each in both
// directions: what is now refused or sent elsewhere, and what still goes where it went.
// Sources for every rule: docs/backends.md.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod } from '../../src/engine/pod.ts';
import { runCase, type Case } from '../helpers/decide-cases.ts';
import { generic, limitsOf, podWith } from '../helpers/pods.ts';
import { hamiDefaults, upstream } from '../helpers/policies.ts';

const G = generic;
const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}, cpu?: string): Pod =>
  podWith([{ name: 'main', limits, ...(cpu ? { cpu } : {}) }], annotations, { spec });
const required = (...terms: Record<string, unknown>[]): Record<string, unknown> =>
  ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
const expr = (key: string, operator: string, ...values: string[]): Record<string, unknown> => ({ key, operator, ...(values.length ? { values } : {}) });
/** As the DaemonSet controller writes it: one node by name, the DaemonSet's own selector beside it. */
const daemonSetPod = (limits: Record<string, string>, nodeSelector?: Record<string, string>): Pod => one(limits, {}, {
  ...required({ matchFields: [expr('metadata.name', 'In', 'gpu-node-7')] }), ...(nodeSelector ? { nodeSelector } : {}),
});
const withCpu = (pod: Pod, name: string, requests: string | undefined, limits: string | undefined): Pod => {
  const c = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x) => x.name === name) as Container;
  c.resources = { limits: { ...c.resources?.limits, ...(limits ? { cpu: limits } : {}) }, requests: { ...(requests ? { cpu: requests } : {}) } };
  return pod;
};
const numa = { 'gpu-admission.io/numa': 'SingleNUMANode' };

const cases: Case[] = [
  // The pod's own nodeSelector and required node affinity.
  { name: 'a 1-GPU pod whose nodeSelector picks exclusive nodes goes to the exclusive pool, not the cGPU pool',
    pod: one(G('1'), {}, { nodeSelector: { 'ack.node.gpu.schedule': 'default' } }), pools: ['h100'] },
  { name: 'a pod whose nodeSelector names a mode no pool runs is refused with every pool\'s reason',
    pod: one(G(undefined, '4Gi'), {}, { nodeSelector: { 'ack.node.gpu.schedule': 'share' } }),
    denied: ['pool t4-shared: the pod\'s nodeSelector ack.node.gpu.schedule=share excludes it', 'pool a10-core: the pod\'s nodeSelector ack.node.gpu.schedule=share excludes it'] },
  { name: 'a nodeSelector on the GPU model excludes the pools of other models',
    pod: one(G(undefined, '4Gi'), {}, { nodeSelector: { 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' } }), pools: ['a10-core'] },
  { name: 'a nodeSelector on the GPU model says why the other model\'s pool is out',
    pod: one(G(undefined, '4Gi'), { 'gpu-admission.io/pools': 't4-shared' }, { nodeSelector: { 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' } }),
    denied: ['pool t4-shared: the pod\'s nodeSelector aliyun.accelerator/nvidia_name=NVIDIA-A10 excludes it'] },
  { name: 'a nodeSelector unrelated to the pools leaves them all', pod: one(G(undefined, '4Gi'), {}, { nodeSelector: { zone: 'a' } }), pools: ['t4-shared'] },
  { name: 'required affinity whose every term excludes a pool rules it out, and the pod keeps its own term on reinvocation',
    pod: one(G('1'), {}, required({ matchExpressions: [expr('ack.node.gpu.schedule', 'In', 'topology')] })), pools: ['a100-topology'],
    check: (out) => assert.deepEqual(out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      [{ matchExpressions: [{ key: 'ack.node.gpu.schedule', operator: 'In', values: ['topology'] },
        { key: 'aliyun.accelerator/nvidia_name', operator: 'In', values: ['A100-SXM4-80GB'] }] }]) },
  { name: 'required affinity with one term per mode keeps the pools of either',
    pod: one(G(undefined, '4Gi'), { 'gpu-admission.io/isolation': 'compute' }, required(
      { matchExpressions: [expr('ack.node.gpu.schedule', 'In', 'cgpu')] }, { matchExpressions: [expr('ack.node.gpu.schedule', 'In', 'core_mem')] })),
    pools: ['a10-core'] },
  { name: 'NotIn on the mode label rules out that mode only',
    pod: one(G(undefined, '4Gi'), {}, required({ matchExpressions: [expr('ack.node.gpu.schedule', 'NotIn', 'cgpu')] })),
    pools: ['a10-core'] },
  { name: 'DoesNotExist on the mode label leaves only the unlabelled exclusive nodes',
    pod: one(G('1'), {}, required({ matchExpressions: [expr('ack.node.gpu.schedule', 'DoesNotExist')] })), pools: ['h100'],
    check: (out) => assert.deepEqual(out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
      ?.map((t) => t.matchExpressions?.map((e) => `${e.key} ${e.operator}`)),
    [['ack.node.gpu.schedule DoesNotExist', 'ack.node.gpu.schedule In', 'aliyun.accelerator/nvidia_name In'],
      ['ack.node.gpu.schedule DoesNotExist', 'aliyun.accelerator/nvidia_name In']]) },
  { name: 'a pod whose affinity allows no pool is refused naming the affinity',
    pod: one(G('1'), { 'gpu-admission.io/pools': 'a100-topology' }, required({ matchExpressions: [expr('ack.node.gpu.schedule', 'In', 'mig')] })),
    denied: ['pool a100-topology: the pod\'s required node affinity excludes it'] },

  // The pod's own scheduler.
  { name: 'a gang-scheduled pod (volcano) keeps its scheduler: HAMi is ruled out, exclusive cards serve', policy: upstream,
    pod: one(G('1'), { 'gpu-admission.io/pools': 'l20-hami,h20-exclusive' }, { schedulerName: 'volcano' }), pools: ['h20-exclusive'],
    check: (out) => assert.equal(out.spec.schedulerName, 'volcano') },
  { name: 'a volcano pod cannot use HAMi shares', policy: upstream, pod: one(G('1', '8Gi', '30'), { 'gpu-admission.io/pools': 'l20-hami' }, { schedulerName: 'volcano' }),
    denied: ['pool l20-hami: the pod is scheduled by volcano; hami cards are allocated by hami-scheduler'] },
  { name: 'a volcano pod cannot use ACK GPU sharing, which ACK\'s own scheduler allocates',
    pod: one(G(undefined, '4Gi'), { 'gpu-admission.io/pools': 't4-shared,a10-core' }, { schedulerName: 'volcano' }),
    denied: ['pool t4-shared: the pod is scheduled by volcano; ack-cgpu cards are allocated by default-scheduler'] },
  { name: 'a volcano pod asking a share goes to MIG, which any scheduler can place', pod: one(G(undefined, '4Gi'), {}, { schedulerName: 'volcano' }),
    pools: ['a100-mig'], check: (out) => assert.equal(out.spec.schedulerName, 'volcano') },
  { name: 'a pod that names default-scheduler, as the API server defaults it, still goes to HAMi', policy: upstream,
    pod: one(G('1', '8Gi', '30'), { 'gpu-admission.io/pools': 'l20-hami' }, { schedulerName: 'default-scheduler' }), pools: ['l20-hami'],
    check: (out) => assert.equal(out.spec.schedulerName, 'hami-scheduler') },

  // Pods whose node is already chosen.
  { name: 'a pod created with spec.nodeName and a generic request is refused: no pool can be chosen', pod: one(G('1'), {}, { nodeName: 'gpu-node-1' }),
    denied: ['spec.nodeName is set (node "gpu-node-1"), so no scheduler places this pod'] },
  { name: 'a pod created with spec.nodeName and whole native GPUs passes untouched', pod: one({ 'nvidia.com/gpu': '2' }, {}, { nodeName: 'gpu-node-1' }), untouched: true },
  { name: 'a pod created with spec.nodeName and ACK shared memory is refused: ACK\'s scheduler picks the card',
    pod: one({ 'aliyun.com/gpu-mem': '4' }, {}, { nodeName: 'gpu-node-1' }), denied: ['spec.nodeName is set (node "gpu-node-1"): the cards of ack-cgpu (default-scheduler)'] },
  { name: 'a DaemonSet pod with plain nvidia.com/gpu keeps it as it is: it is not made a cGPU share',
    pod: daemonSetPod({ 'nvidia.com/gpu': '1' }), pools: ['h100'],
    check: (out) => {
      assert.deepEqual(limitsOf(out, 'main'), { 'nvidia.com/gpu': '1' });
      assert.deepEqual(out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
        [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-node-7'] }] }], 'no pool term is ANDed in');
    } },
  { name: 'a DaemonSet pod with a generic request and no pool nodeSelector is refused with the selector to add',
    pod: daemonSetPod(G(undefined, '4Gi')), denied: ['a DaemonSet pod', 'keeps it on pool t4-shared (ack.node.gpu.schedule=cgpu'] },
  { name: 'a DaemonSet pod held to one pool by its own nodeSelector is translated, its node terms untouched',
    pod: daemonSetPod(G(undefined, '4Gi'), { 'ack.node.gpu.schedule': 'cgpu', 'ack.node.gpu.placement': 'binpack', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }),
    pools: ['t4-shared'],
    check: (out) => {
      assert.deepEqual(limitsOf(out, 'main'), { 'aliyun.com/gpu-mem': '4' });
      assert.equal(out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.length, 1);
    } },

  { name: 'a DaemonSet pod with plain nvidia.com/gpu keeps its scheduler even where a HAMi pool comes first', policy: hamiDefaults,
    pod: daemonSetPod({ 'nvidia.com/gpu': '1' }), pools: ['l40s-hami'],
    check: (out) => assert.equal(out.spec.schedulerName, undefined, 'the node is chosen; hami-scheduler could strand it') },
  { name: 'a pod created with spec.nodeName and plain nvidia.com/gpu passes where an exclusive pool takes it, HAMi listed first', policy: upstream,
    pod: one({ 'nvidia.com/gpu': '1' }, {}, { nodeName: 'h20-node-1' }), untouched: true },
  { name: 'a DaemonSet held to a cGPU model by nodeSelector, without the placement label, is translated',
    pod: daemonSetPod(G(undefined, '4Gi'), { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }), pools: ['t4-shared'] },
  { name: 'a DaemonSet that cannot be confined is told which nodeSelector labels to add, without placement',
    pod: daemonSetPod(G(undefined, '4Gi')),
    denied: ["DaemonSet's pod template a nodeSelector that keeps it on pool t4-shared (ack.node.gpu.schedule=cgpu, aliyun.accelerator/nvidia_name=Tesla-T4)"] },
  { name: 'a pod that names hami-scheduler itself is decided the same on every pass', policy: upstream,
    pod: one(G('1', '8Gi', '30'), {}, { schedulerName: 'hami-scheduler' }), pools: ['l20-hami'],
    check: (out) => assert.equal(out.spec.schedulerName, 'hami-scheduler') },

  // core_mem: the pod's containers share one card's compute.
  // The gpushare device plugin matches one container's request against the pod's total (#21): one GPU app container per pod.
  { name: 'two app containers asking shares of a card are refused by core_mem, even when their compute fits one card',
    pod: podWith([{ name: 'a', limits: G(undefined, '4Gi', '40') }, { name: 'b', limits: G(undefined, '4Gi', '60') }], { 'gpu-admission.io/pools': 'a10-core' }),
    denied: ['pool a10-core: ack-core-mem: the gpushare device plugin matches one container\'s GPU memory against the pod\'s total'] },
  { name: 'one app container with a compute share is served by core_mem',
    pod: podWith([{ name: 'a', limits: G(undefined, '4Gi', '60') }], { 'gpu-admission.io/pools': 'a10-core' }), pools: ['a10-core'] },
  { name: 'a memory share that asks all of a card\'s compute is not sent where compute is not isolated',
    pod: one(G(undefined, '4Gi', '100'), { 'gpu-admission.io/pools': 't4-shared' }), denied: ['pool t4-shared: cannot limit compute'] },

  // HAMi.
  { name: 'a compute-only share on HAMi takes that part of the memory too, not the whole card', policy: upstream,
    pod: one(G('1', undefined, '30'), { 'gpu-admission.io/pools': 'l20-hami' }), pools: ['l20-hami'],
    check: (out) => assert.deepEqual(limitsOf(out, 'main'), { 'hami.io/gpu': '1', 'hami.io/gpucores': '30', 'hami.io/gpumem-percentage': '30' }) },

  // Native requests.
  { name: 'native time-slicing replicas are known without a timeSlicing block, so namespace isolation holds for them', policy: upstream,
    pod: one({ 'nvidia.com/gpu.shared': '1' }, { 'gpu-admission.io/isolation': 'memory' }), denied: ['pool l4-slices: nvidia-time-slicing isolates nothing'] },
  { name: 'a native request a pool cannot take is explained by the resource, before pod-level reasons', policy: upstream,
    pod: one({ 'aliyun.com/gpu-mem': '4' }, {}, { schedulerName: 'volcano' }), denied: ['pool l20-hami: hami does not take aliyun.com/gpu-mem'] },
  { name: 'HAMi memory percentage 0 is HAMi\'s "unset", not an error', policy: hamiDefaults,
    pod: one({ 'nvidia.com/gpu': '1', 'nvidia.com/gpumem-percentage': '0' }), pools: ['l40s-hami'] },

  // NUMA: ACK's CPU rules.
  { name: 'NUMA with whole CPUs equal in requests and limits is served', pod: withCpu(one(G('4'), numa), 'main', '32', '32'), pools: ['a100-topology'] },
  { name: 'NUMA with a CPU request and no limit (Burstable) is refused', pod: withCpu(one(G('4'), numa), 'main', '24', undefined),
    denied: ['container "main" has requests 24, limits none'] },
  { name: 'NUMA with an injected proxy at 500m in the app containers is refused, as ACK says of every container',
    pod: (() => {
      const p = podWith([{ name: 'main', limits: G('4'), cpu: '32' }, { name: 'istio-proxy', limits: {}, cpu: '500m' }], numa);
      return p;
    })(), denied: ['container "istio-proxy" has requests 500m, limits 500m'] },
  { name: 'NUMA with a container that asks no CPU at all is served (it asks 0)',
    pod: podWith([{ name: 'main', limits: G('4'), cpu: '32' }, { name: 'logger', limits: {} }], numa), pools: ['a100-topology'] },
  { name: 'NUMA with an init container of 500m is served: the pod binds its app containers\' 32 CPUs',
    pod: podWith([{ name: 'main', limits: G('4'), cpu: '32' }], numa, { initContainers: [{ name: 'setup', image: 'busybox', resources: { limits: { cpu: '500m' } } }] }),
    pools: ['a100-topology'] },
  { name: 'NUMA with a native sidecar of 500m is refused: the pod\'s effective CPUs are 32.5',
    pod: podWith([{ name: 'main', limits: G('4'), cpu: '32' }], numa,
      { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always', resources: { limits: { cpu: '500m' } } }] }),
    denied: ['the pod\'s CPU request, init containers and sidecars counted, is 32.5'] },

  // HAMi and init containers.
  { name: 'a GPU init container on HAMi is served (HAMi v2.10 accounts init containers as Kubernetes does)', policy: upstream,
    pod: podWith([{ name: 'main', limits: G('1', '8Gi') }], { 'gpu-admission.io/pools': 'l20-hami' },
      { initContainers: [{ name: 'warm', image: 'busybox', resources: { limits: G('1', '4Gi') } }] }), pools: ['l20-hami'] },
  { name: 'a GPU native sidecar on HAMi is refused', policy: upstream,
    pod: podWith([{ name: 'main', limits: G('1', '8Gi') }], { 'gpu-admission.io/pools': 'l20-hami' },
      { initContainers: [{ name: 'side', image: 'x', restartPolicy: 'Always', resources: { limits: G('1', '4Gi') } }] }),
    denied: ['pool l20-hami: HAMi does not account GPUs of native sidecar containers'] },
  { name: 'HAMi counts whole cards apart from shares: 2 whole + a 2-card share need 4 cards', policy: upstream,
    pod: podWith([{ name: 'a', limits: G('6') }, { name: 'b', limits: G('3', '8Gi') }], { 'gpu-admission.io/pools': 'l20-hami' }),
    denied: ['pool l20-hami: pod asks 9 GPUs, a node has 8'] },

  // Copies of decided pods and scheduler-written annotations.
  { name: 'a copy carrying ACK\'s allocation annotations is refused, saying to drop them',
    pod: one({ 'aliyun.com/gpu-mem': '4' }, { ALIYUN_COM_GPU_MEM_IDX: '1', ALIYUN_COM_GPU_MEM_POD: '4' }),
    denied: ['annotation ALIYUN_COM_GPU_MEM_IDX is written by the GPU scheduler or device plugin when it places a pod', 'remove every ALIYUN_COM_GPU_MEM_* annotation'] },
];

describe('backend rules: what the real backends and Kubernetes accept', () => {
  for (const c of cases) it(`when ${c.name}`, () => runCase(c));
});
