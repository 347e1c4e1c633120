// The cluster view on nodes and pods in memory: the review's cases (sidecars, HAMi per vGPU,
// a node in two pools, NVIDIA's single MIG strategy, time-slicing replicas).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { draftPolicy } from '../../src/cluster/init.ts';
import { formatInspect, inspect } from '../../src/cluster/inspect.ts';
import { toClusterNode, toClusterPod, type ClusterNode } from '../../src/cluster/model.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';

const node = (name: string, labels: Record<string, string>, allocatable: Record<string, string>, annotations: Record<string, string> = {}): ClusterNode =>
  toClusterNode({ metadata: { name, labels, annotations }, status: { allocatable, conditions: [{ type: 'Ready', status: 'True' }] } });
const policy = (pools: unknown[]): Policy => {
  const r = parsePolicy(JSON.stringify({ apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', pools }));
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.policy;
};
const HAMI_REGISTER = JSON.stringify([0, 1].map((i) => ({ id: `GPU-${i}`, count: 10, devmem: 46068, devcore: 100, type: 'NVIDIA-NVIDIA L20', numa: 0, health: true })));

describe('what a pod holds', () => {
  it('when a pod has a sidecar (an init container that keeps running), then its request is added to the containers\'', () => {
    const pod = toClusterPod({ metadata: { name: 'p', namespace: 'ml' }, spec: {
      initContainers: [{ name: 'side', restartPolicy: 'Always', resources: { limits: { 'aliyun.com/gpu-mem': '2' } } },
        { name: 'setup', resources: { limits: { 'aliyun.com/gpu-mem': '5' } } }],
      containers: [{ name: 'main', resources: { limits: { 'aliyun.com/gpu-mem': '4' } } }] } });
    assert.equal(pod.requests['aliyun.com/gpu-mem'], 7, 'max(4 + 2, 5 + 2)');
  });
});

describe('inspect on HAMi nodes', () => {
  const p = policy([{ name: 'l20', backend: 'hami', nodeSelector: { gpu: 'on' }, gpu: { model: 'L20', memory: '45Gi', perNode: 2 },
    hami: { resourceName: 'hami.io/gpu', resourceMem: 'hami.io/gpumem', resourceMemPercentage: 'hami.io/gpumem-percentage', resourceCores: 'hami.io/gpucores' } }]);
  const n = node('l20-a', { gpu: 'on' }, { 'hami.io/gpu': '20' }, { 'hami.io/node-nvidia-register': HAMI_REGISTER });
  const pod = (name: string, annotations: Record<string, string>): unknown => ({ metadata: { name, namespace: 'ml', annotations },
    spec: { nodeName: 'l20-a', containers: [{ name: 'main', resources: { limits: { 'hami.io/gpu': '2', 'hami.io/gpumem': '8000', 'hami.io/gpucores': '30' } } }] } });

  it('when HAMi advertises only the vGPU count, then memory and cores totals come from its registration, and a pod holds its memory per vGPU', () => {
    const report = inspect(p, [n], [toClusterPod(pod('without-annotation', {}))]);
    assert.deepEqual(report.pools[0]!.usage.map((u) => [u.what, u.allocated, u.total]), [['vGPUs', 2, 20], ['GPU memory', 16000, 92136], ['cores', 60, 200]]);
  });

  it('when -d shows the cards one by one, then node, card, allocation and pods are columns, aligned whatever the widths', () => {
    const report = inspect(p, [n], [toClusterPod(pod('with', { 'hami.io/vgpu-devices-allocated': 'GPU-1,NVIDIA,8000,30:;' }))], { details: true });
    const text = formatInspect(report);
    assert.match(text, /\n\n {2}NODE {3}CARD {4}ALLOCATED\/TOTAL {7}PODS\n {2}l20-a {2}card 0 {2}0\/46068 MiB \(0%\)\n {2}l20-a {2}card 1 {2}8000\/46068 MiB \(17%\) {2}ml\/with\n/, text);
  });

  it('when HAMi\'s allocation annotation is there, then it is what the pod holds', () => {
    const report = inspect(p, [n], [toClusterPod(pod('with', { 'hami.io/vgpu-devices-allocated': 'GPU-0,NVIDIA,8000,30:GPU-1,NVIDIA,6000,20:;' }))]);
    assert.deepEqual(report.pools[0]!.usage.map((u) => u.allocated), [2, 14000, 50]);
  });
});

describe('inspect totals', () => {
  it('when a node matches two pools, then the cluster total counts it once', () => {
    const p = policy([
      { name: 'a', backend: 'nvidia-exclusive', nodeSelector: { team: 'x' }, gpu: { model: 'H100', memory: '80Gi', perNode: 8 } },
      { name: 'b', backend: 'nvidia-exclusive', nodeSelector: { zone: 'z' }, gpu: { model: 'H100', memory: '80Gi', perNode: 8 } },
    ]);
    const n = node('h-1', { team: 'x', zone: 'z', 'nvidia.com/gpu.product': 'H100' }, { 'nvidia.com/gpu': '8' });
    const report = inspect(p, [n], []);
    assert.deepEqual(report.totals.map((t) => [t.what, t.total]), [['cards', 8]]);
  });
});

describe('NVIDIA single MIG strategy', () => {
  // GFD under "single" relabels the node with the slices: gpu.product gets -MIG-<profile>,
  // gpu.count and gpu.memory describe slices (NVIDIA gpu-feature-discovery README).
  const n = node('mig-s', { 'nvidia.com/mig.strategy': 'single', 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-1g.5gb',
    'nvidia.com/gpu.count': '56', 'nvidia.com/gpu.memory': '4864' }, { 'nvidia.com/gpu': '56' });

  it('when the policy describes it, then policy check --cluster finds nothing (the slice labels are not card figures)', () => {
    const p = policy([{ name: 'a100-mig', backend: 'nvidia-mig', gpu: { model: 'NVIDIA-A100-SXM4-40GB', memory: '40Gi', perNode: 8 }, mig: { strategy: 'single', profiles: ['1g.5gb'] } }]);
    assert.deepEqual(checkAgainstCluster(p, [n]), []);
  });

  it('when drafted, then it is an nvidia-mig pool with the single strategy, the card model, memory and count', () => {
    const { yaml } = draftPolicy([n]);
    const r = parsePolicy(yaml);
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    const pool = r.policy.pools[0]!;
    assert.deepEqual([pool.backend, pool.gpu.model, pool.gpu.memory, pool.gpu.perNode, pool.mig?.strategy, pool.mig?.profiles], ['nvidia-mig', 'A100', '40Gi', 8, 'single', ['1g.5gb']]);
    assert.deepEqual(checkAgainstCluster(r.policy, [n]), []);
  });
});

describe('policy init with HAMi', () => {
  const h100 = node('h100-a', { 'node-pool': 'h100', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.count': '8', 'nvidia.com/gpu.memory': '81559' }, { 'nvidia.com/gpu': '8' });

  it('when HAMi keeps nvidia.com/gpu beside exclusive NVIDIA nodes, then its pool is left out with the reason, and the draft is valid', () => {
    const hami = node('l20-a', { gpu: 'on' }, { 'nvidia.com/gpu': '20' }, { 'hami.io/node-nvidia-register': HAMI_REGISTER });
    const { yaml, notes } = draftPolicy([h100, hami]);
    assert.ok(parsePolicy(yaml).ok);
    assert.match(notes.join('\n'), /left out l20-a \(HAMi\): HAMi uses nvidia\.com\/gpu beside nodes that advertise it as whole cards \(h100-a\)/);
  });

  it('when HAMi\'s chart renamed its resources, then the draft names them from the vGPU count it advertises', () => {
    const hami = node('l20-a', { gpu: 'on' }, { 'hami.io/gpu': '20' }, { 'hami.io/node-nvidia-register': HAMI_REGISTER });
    const { yaml } = draftPolicy([h100, hami]);
    const r = parsePolicy(yaml);
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.equal(r.policy.pools.find((p) => p.backend === 'hami')?.hami?.resourceName, 'hami.io/gpu');
    assert.deepEqual(checkAgainstCluster(r.policy, [h100, hami]), []);
  });
});

describe('policy check --cluster on time-slicing', () => {
  it('when the policy\'s replicas differ from the node\'s, then it says so', () => {
    const p = policy([{ name: 't4', backend: 'nvidia-time-slicing', nodeSelector: { team: 'i' }, gpu: { model: 'Tesla-T4', memory: '15Gi', perNode: 1 },
      timeSlicing: { resource: 'nvidia.com/gpu.shared', replicas: 2 } }]);
    const n = node('t4-a', { team: 'i', 'nvidia.com/gpu.product': 'Tesla-T4', 'nvidia.com/gpu.replicas': '4', 'nvidia.com/gpu.count': '1', 'nvidia.com/gpu.memory': '15360' },
      { 'nvidia.com/gpu.shared': '4' });
    assert.deepEqual(checkAgainstCluster(p, [n]), ['pool t4: timeSlicing.replicas is 2 but node t4-a has 4 (nvidia.com/gpu.replicas)']);
  });
});

describe('inspect on kai pools', () => {
  it('when KAI reserves a shared card with its reservation pod, then the card counts as used, beside whole cards of other pods', () => {
    const p = policy([{ name: 'a10-kai', backend: 'kai', nodeSelector: { 'kai.scheduler/node-pool': 'a10' }, gpu: { model: 'NVIDIA-A10', memory: '23028Mi', perNode: 4 } }]);
    const n = node('a10-a', { 'kai.scheduler/node-pool': 'a10', 'nvidia.com/gpu.product': 'NVIDIA-A10' }, { 'nvidia.com/gpu': '4' });
    const onNode = (name: string, namespace: string, limits: Record<string, string>, annotations: Record<string, string> = {}): ReturnType<typeof toClusterPod> =>
      toClusterPod({ metadata: { name, namespace, annotations }, spec: { nodeName: 'a10-a', containers: [{ name: 'main', resources: { limits } }] } });
    // The share itself asks no resource (gpu-fraction); KAI's binder holds its card with a reservation pod (resource_reservation.go).
    const pods = [onNode('share', 'ml', {}, { 'gpu-fraction': '0.5' }), onNode('gpu-reservation-a10-a-x', 'kai-resource-reservation', { 'nvidia.com/gpu': '1' }),
      onNode('train', 'ml', { 'nvidia.com/gpu': '2' })];
    const report = inspect(p, [n], pods);
    assert.deepEqual(report.pools[0]!.usage.map((u) => [u.what, u.allocated, u.total]), [['cards', 3, 4]]);
  });
});
