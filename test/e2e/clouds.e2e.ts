// End to end on GKE, EKS and AKS nodes: planted nodes carry their cloud's labels and no GPU
// feature discovery (GKE's accelerator and sharing labels, Karpenter's GPU name and memory, AKS's
// VM size), the policy has gke pools and pools with their own model label, and the real
// kube-scheduler places the webhook's generic pods. Decoys of the same model in another mode or
// size must never receive them.
// Run: node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 test/e2e/clouds.e2e.ts
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT, namespace, startEnvironment, stopAfterSuite, type Environment } from './harness/cluster.ts';
import { eventually, runProcess, type Kubectl } from './harness/kubectl.ts';

let env: Environment;
let k: Kubectl;
type Obj = Record<string, any>;

const GKE = 'cloud.google.com/gke-';
const CLOUD_NODES: { name: string; labels: Record<string, string>; gpus: string; taints?: Obj[] }[] = [
  { name: 'gke-l4-mps-1', labels: { [`${GKE}accelerator`]: 'nvidia-l4', [`${GKE}accelerator-count`]: '1', [`${GKE}gpu-sharing-strategy`]: 'mps', [`${GKE}max-shared-clients-per-gpu`]: '4' }, gpus: '4' },
  // Decoy: the same L4, time-shared three ways.
  { name: 'gke-l4-ts-1', labels: { [`${GKE}accelerator`]: 'nvidia-l4', [`${GKE}accelerator-count`]: '1', [`${GKE}gpu-sharing-strategy`]: 'time-sharing', [`${GKE}max-shared-clients-per-gpu`]: '3' }, gpus: '3' },
  { name: 'gke-h100-1', labels: { [`${GKE}accelerator`]: 'nvidia-h100-80gb', [`${GKE}accelerator-count`]: '8' }, gpus: '8' },
  { name: 'eks-t4-1', labels: { 'karpenter.k8s.aws/instance-gpu-name': 't4', 'karpenter.k8s.aws/instance-gpu-memory': '16384', 'karpenter.k8s.aws/instance-gpu-count': '1' }, gpus: '1' },
  // Decoy: Karpenter names A100 40GB and 80GB alike; only the memory tells them apart.
  { name: 'eks-a100-40-1', labels: { 'karpenter.k8s.aws/instance-gpu-name': 'a100', 'karpenter.k8s.aws/instance-gpu-memory': '40960', 'karpenter.k8s.aws/instance-gpu-count': '8' }, gpus: '8' },
  { name: 'eks-a100-80-1', labels: { 'karpenter.k8s.aws/instance-gpu-name': 'a100', 'karpenter.k8s.aws/instance-gpu-memory': '81920', 'karpenter.k8s.aws/instance-gpu-count': '8' }, gpus: '8' },
  { name: 'aks-a100x4-1', labels: { 'kubernetes.azure.com/accelerator': 'nvidia', 'node.kubernetes.io/instance-type': 'Standard_NC96ads_A100_v4' }, gpus: '4',
    taints: [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }] },
  { name: 'aks-a100-1', labels: { 'kubernetes.azure.com/accelerator': 'nvidia', 'node.kubernetes.io/instance-type': 'Standard_NC24ads_A100_v4' }, gpus: '1',
    taints: [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }] },
];

const POLICY = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
defaults: {acceptNvidiaGpu: false}
pools:
  - {name: l4-mps, backend: gke, gpu: {model: L4, product: nvidia-l4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 4}}
  - {name: l4-shared, backend: gke, gpu: {model: L4, product: nvidia-l4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: time-sharing, maxSharedClientsPerGpu: 3}}
  - {name: h100, backend: gke, gpu: {model: H100, product: nvidia-h100-80gb, memory: 80Gi, perNode: 8}}
  - name: t4
    backend: nvidia-exclusive
    nodeSelector: {karpenter.k8s.aws/instance-gpu-memory: "16384"}
    gpu: {model: T4, product: t4, modelLabel: karpenter.k8s.aws/instance-gpu-name, memory: 15Gi, perNode: 1}
  - name: a100-80
    backend: nvidia-exclusive
    nodeSelector: {karpenter.k8s.aws/instance-gpu-memory: "81920"}
    gpu: {model: A100-80GB, product: a100, modelLabel: karpenter.k8s.aws/instance-gpu-name, memory: 80Gi, perNode: 8}
  - name: aks-a100x4
    backend: nvidia-exclusive
    gpu: {model: A100, product: Standard_NC96ads_A100_v4, modelLabel: node.kubernetes.io/instance-type, memory: 80Gi, perNode: 4}
    taints: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]
  - name: aks-a100
    backend: nvidia-exclusive
    gpu: {model: A100, product: Standard_NC24ads_A100_v4, modelLabel: node.kubernetes.io/instance-type, memory: 80Gi, perNode: 1}
    taints: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]
`;

const NS = 'cloud-team';
const g = (gpu?: string, memory?: string, cores?: string): Record<string, string> => ({
  ...(gpu ? { 'gpu-admission.io/gpu': gpu } : {}), ...(memory ? { 'gpu-admission.io/gpu-memory': memory } : {}), ...(cores ? { 'gpu-admission.io/gpu-cores': cores } : {}),
});
const pod = (name: string, limits: Record<string, string>, annotations: Record<string, string> = {}): Obj => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, annotations },
  spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits } }] },
});

function cloudNode(n: (typeof CLOUD_NODES)[number]): Obj {
  const capacity = { cpu: '64', memory: '512Gi', pods: '110', 'nvidia.com/gpu': n.gpus };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...n.labels } },
    spec: n.taints ? { taints: n.taints } : {},
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'e2e node without a kubelet' }] },
  };
}

async function revisionInForce(): Promise<string | undefined> {
  const out = await k.ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod('probe', g('1'), { 'gpu-admission.io/gpu-model': 'H100' })));
  const text = JSON.parse(out).metadata?.annotations?.['gpu-admission.io/decision'];
  return text ? JSON.parse(text).revision : undefined;
}

before(async () => {
  env = await startEnvironment({ name: 'clouds' });
  k = env.kubectl;
  const nodes = await k.apply({ apiVersion: 'v1', kind: 'List', items: CLOUD_NODES.map(cloudNode) });
  assert.equal(nodes.code, 0, nodes.stderr);
  await namespace(k, NS, true);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gpu-admission-policy', namespace: 'gpu-admission' }, data: { 'policy.yaml': POLICY } };
  const r = await k.apply(cm, ['--server-side', '--force-conflicts', '--field-manager=e2e', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rv = JSON.parse(r.stdout).metadata.resourceVersion as string;
  await eventually(`policy revision ${rv}-… in force`, async () => ((await revisionInForce())?.startsWith(`${rv}-`) ? true : undefined), 30_000);
  env.log('cloud nodes and policy ready');
}, { timeout: 30 * 60_000 });

stopAfterSuite(() => env);

async function createAndBind(p: Obj): Promise<{ stored: Obj; node: string }> {
  await k.ok(['create', '-f', '-'], JSON.stringify(p));
  const node = await eventually(`pod ${p.metadata.name} bound by the scheduler`, async () =>
    (await k.json(['get', 'pod', p.metadata.name, '-n', NS])).spec.nodeName || undefined, 60_000);
  return { stored: await k.json(['get', 'pod', p.metadata.name, '-n', NS]), node };
}

describe('generic pods on GKE, EKS and AKS nodes', () => {
  const cases: { name: string; pod: Obj; node: string; limits: Record<string, string>; tolerates?: boolean }[] = [
    { name: '10Gi + 40% of an L4 takes 2 of the 4 MPS shares on the GKE MPS node, never the time-shared L4',
      pod: pod('l4-infer', g('1', '10Gi', '40'), { 'gpu-admission.io/gpu-model': 'L4', 'gpu-admission.io/isolation': 'compute' }), node: 'gke-l4-mps-1', limits: { 'nvidia.com/gpu': '2' } },
    { name: 'two whole H100s land on the GKE H100 node by its accelerator label',
      pod: pod('h100-train', g('2'), { 'gpu-admission.io/gpu-model': 'H100' }), node: 'gke-h100-1', limits: { 'nvidia.com/gpu': '2' } },
    { name: 'a T4 lands on the Karpenter T4 node, by instance-gpu-name and no GFD label',
      pod: pod('t4-job', g('1'), { 'gpu-admission.io/gpu-model': 'T4' }), node: 'eks-t4-1', limits: { 'nvidia.com/gpu': '1' } },
    { name: 'an A100 80GB lands on the 80GB Karpenter node, never the 40GB one of the same GPU name',
      pod: pod('a100-job', g('8'), { 'gpu-admission.io/gpu-model': 'A100-80GB' }), node: 'eks-a100-80-1', limits: { 'nvidia.com/gpu': '8' } },
    { name: 'four A100s land on the AKS 4-card VM size, tolerating its sku taint',
      pod: pod('aks-job', g('4'), { 'gpu-admission.io/gpu-model': 'A100' }), node: 'aks-a100x4-1', limits: { 'nvidia.com/gpu': '4' }, tolerates: true },
  ];
  for (const c of cases) {
    it(`when ${c.name}`, async () => {
      const { stored, node } = await createAndBind(c.pod);
      assert.equal(node, c.node);
      assert.deepEqual(stored.spec.containers[0].resources.limits, c.limits);
      assert.deepEqual(stored.spec.containers[0].resources.requests, c.limits);
      assert.equal('gpu-admission.io/gpu' in stored.spec.containers[0].resources.limits, false);
      if (c.tolerates) assert.ok(stored.spec.tolerations.some((t: Obj) => t.key === 'sku' && t.value === 'gpu'), JSON.stringify(stored.spec.tolerations));
    });
  }

  it('when a compute share is asked of the time-shared L4, then the API server refuses it with the reason, and nothing is created', async () => {
    const r = await k.run(['create', '-f', '-'], JSON.stringify(pod('l4-cores', g('1', '3Gi', '30'), { 'gpu-admission.io/pools': 'l4-shared' })));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request/);
    assert.match(r.stderr, /pool l4-shared: GKE time-sharing cannot limit compute; gpu-cores needs GKE MPS or MIG/);
    assert.notEqual((await k.run(['get', 'pod', 'l4-cores', '-n', NS])).code, 0);
  });

  it('when a native nvidia.com/gpu: 2 is asked on the time-sharing pool, then it is refused before GKE\'s plugin would fail it', async () => {
    const r = await k.run(['create', '-f', '-'], JSON.stringify(pod('l4-native', { 'nvidia.com/gpu': '2' }, { 'gpu-admission.io/pools': 'l4-shared' })));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nvidia.com\/gpu: 2 time-sharing shares; GKE's device plugin gives a container at most 1/);
  });
});

const cli = (args: string[]) => runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args, '--kubeconfig', env.cp.kubeconfig], { cwd: ROOT });

describe('the CLI on the cloud nodes', () => {
  it('when inspect reads the GKE MPS node, then it counts MPS shares on one card, 2 of 4 held by the pod routed there', async () => {
    const r = await cli(['inspect', '-o', 'json', '--node', 'gke-l4-mps-1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).nodes, [{ name: 'gke-l4-mps-1', pools: ['l4-mps'], ready: true, cards: 1, usage: [
      { resource: 'nvidia.com/gpu', what: 'MPS shares', unit: 'shares', total: 4, allocated: 2 },
    ] }]);
  });

  it('when the policy in force is checked against the cluster, then only the 40GB A100 decoy is out of step among the cloud nodes', async () => {
    const file = join(env.workDir, 'clouds-policy.yaml');
    await writeFile(file, POLICY);
    const r = await cli(['policy', 'check', file, '--cluster']);
    assert.equal(r.code, 1, 'the harness\'s own GPU nodes match no pool of this policy');
    const findings = r.stderr.split('\n').filter((l) => /gke-|eks-|aks-|pool (l4-mps|l4-shared|h100|t4|a100-80|aks-a100x4|aks-a100):/.test(l));
    // Every cloud pool matches its node, Karpenter's nominal 16384 MiB for the 15Gi T4 is no finding, and the decoy no pool takes is named.
    assert.deepEqual(findings, [`${file}: node eks-a100-40-1: has GPU resources (nvidia.com/gpu) but matches no pool`], r.stderr);
    assert.match(r.stderr, /node v100-1: has GPU resources \(nvidia.com\/gpu\) but matches no pool/, 'the check did read the nodes');
  });

  it('when a policy is drafted from the cluster, then GKE, Karpenter and AKS nodes become pools on their own labels', async () => {
    const r = await cli(['policy', 'init', '--from-cluster']);
    assert.equal(r.code, 0, r.stderr);
    const pools = (parse(r.stdout).pools as Obj[]).filter((p) => ['gke', 'nvidia-exclusive'].includes(p.backend) && p.name !== 'h100-80gb-hbm3');
    const byName = Object.fromEntries(pools.map((p) => [p.name, p]));
    assert.deepEqual(byName['l4-mps'], { name: 'l4-mps', backend: 'gke', gpu: { model: 'L4', product: 'nvidia-l4', memory: 'SET-ME', perNode: 1 },
      gke: { sharingStrategy: 'mps', maxSharedClientsPerGpu: 4 } });
    assert.deepEqual(byName['l4-shared']?.gke, { sharingStrategy: 'time-sharing', maxSharedClientsPerGpu: 3 });
    assert.deepEqual(byName['h100']?.gpu, { model: 'H100', product: 'nvidia-h100-80gb', memory: '80Gi', perNode: 8 });
    assert.deepEqual(byName['t4'], { name: 't4', backend: 'nvidia-exclusive', nodeSelector: { 'karpenter.k8s.aws/instance-gpu-memory': '16384' },
      gpu: { model: 'T4', product: 't4', modelLabel: 'karpenter.k8s.aws/instance-gpu-name', memory: '16Gi', perNode: 1 } });
    // Karpenter's a100 names both cards: the draft tells them apart by their memory.
    assert.deepEqual(pools.filter((p) => p.gpu.product === 'a100').map((p) => [p.nodeSelector, p.gpu.memory]),
      [[{ 'karpenter.k8s.aws/instance-gpu-memory': '40960' }, '40Gi'], [{ 'karpenter.k8s.aws/instance-gpu-memory': '81920' }, '80Gi']]);
    assert.deepEqual(pools.filter((p) => p.gpu.modelLabel === 'node.kubernetes.io/instance-type').map((p) => [p.gpu.product, p.gpu.perNode]),
      [['Standard_NC24ads_A100_v4', 1], ['Standard_NC96ads_A100_v4', 4]]);
  });
});
