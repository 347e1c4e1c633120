// policy init --from-cluster and policy check --cluster on GKE, EKS (Karpenter) and AKS nodes
// that carry their cloud's labels and no GPU feature discovery.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { draftPolicy } from '../../src/cluster/init.ts';
import { nodeCardCount, nodeCardMemoryGiB, poolUnits, toClusterNode, type ClusterNode } from '../../src/cluster/model.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { policyWarnings } from '../../src/policy/warnings.ts';

const node = (name: string, labels: Record<string, string>, allocatable: Record<string, string>): ClusterNode =>
  toClusterNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, status: { allocatable, conditions: [{ type: 'Ready', status: 'True' }] } });

const GKE = 'cloud.google.com/gke-';
const NODES = [
  node('gke-l4-mps-1', { [`${GKE}accelerator`]: 'nvidia-l4', [`${GKE}accelerator-count`]: '1', [`${GKE}gpu-sharing-strategy`]: 'mps', [`${GKE}max-shared-clients-per-gpu`]: '4' },
    { 'nvidia.com/gpu': '4' }),
  node('gke-h100-1', { [`${GKE}accelerator`]: 'nvidia-h100-80gb', [`${GKE}accelerator-count`]: '8' }, { 'nvidia.com/gpu': '8' }),
  node('gke-a100-mig-1', { [`${GKE}accelerator`]: 'nvidia-tesla-a100', [`${GKE}accelerator-count`]: '1', [`${GKE}gpu-partition-size`]: '1g.5gb' }, { 'nvidia.com/gpu': '7' }),
  node('eks-t4-1', { 'karpenter.k8s.aws/instance-gpu-name': 't4', 'karpenter.k8s.aws/instance-gpu-memory': '16384', 'karpenter.k8s.aws/instance-gpu-count': '1' },
    { 'nvidia.com/gpu': '1' }),
  node('aks-a100-1', { 'kubernetes.azure.com/accelerator': 'nvidia', 'node.kubernetes.io/instance-type': 'Standard_NC24ads_A100_v4' }, { 'nvidia.com/gpu': '1' }),
  node('cpu-1', {}, { cpu: '8' }),
];

describe('cloud nodes: what inspect and check read', () => {
  it('when GKE shares or partitions cards, then the card count is GKE\'s label, not nvidia.com/gpu', () => {
    assert.deepEqual(NODES.slice(0, 3).map(nodeCardCount), [1, 8, 1]);
  });
  it('when Karpenter publishes the GPU memory, then it is the card memory (MiB)', () => {
    assert.equal(nodeCardMemoryGiB(NODES[3]!), 16);
    assert.equal(nodeCardMemoryGiB(NODES[0]!), undefined);
  });
});

describe('policy init --from-cluster on cloud nodes', () => {
  const { yaml, notes } = draftPolicy(NODES);
  const draft = parse(yaml);
  const pools = draft.pools as { name: string; backend: string; gpu: Record<string, unknown>; gke?: unknown; mig?: unknown; nodeSelector?: unknown }[];

  it('when GKE, Karpenter and AKS nodes are read, then each becomes a pool on its cloud\'s labels', () => {
    assert.deepEqual(pools.map((p) => [p.name, p.backend]), [
      ['l4-mps', 'gke'], ['h100', 'gke'], ['a100-mig', 'gke'], ['t4', 'nvidia-exclusive'], ['a100', 'nvidia-exclusive'],
    ]);
    assert.deepEqual(pools[0]!.gke, { sharingStrategy: 'mps', maxSharedClientsPerGpu: 4 });
    assert.deepEqual(pools[0]!.gpu, { model: 'L4', product: 'nvidia-l4', memory: 'SET-ME', perNode: 1 });
    assert.deepEqual(pools[1]!.gpu, { model: 'H100', product: 'nvidia-h100-80gb', memory: '80Gi', perNode: 8 });
    assert.deepEqual(pools[2]!.mig, { profiles: ['1g.5gb'] });
    assert.deepEqual(pools[3]!.gpu, { model: 'T4', product: 't4', modelLabel: 'karpenter.k8s.aws/instance-gpu-name', memory: '16Gi', perNode: 1 });
    assert.deepEqual(pools[3]!.nodeSelector, { 'karpenter.k8s.aws/instance-gpu-memory': '16384' });
    assert.deepEqual(pools[4]!.gpu, { model: 'A100', product: 'Standard_NC24ads_A100_v4', modelLabel: 'node.kubernetes.io/instance-type', memory: 'SET-ME', perNode: 1 });
    assert.ok(notes.some((n) => n.startsWith('pool l4-mps: the nodes publish no card memory')), notes.join('\n'));
  });

  it('when the memory the nodes do not publish is set, then the draft is valid and check finds nothing on the same nodes', () => {
    const filled = yaml.replace(/memory: SET-ME(?=[\s\S]*?product: nvidia-tesla-a100)/, 'memory: 22Gi').replaceAll('SET-ME', '40Gi');
    const r = parsePolicy(filled);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(checkAgainstCluster(r.policy, NODES), []);
  });
});

describe('policy check --cluster on cloud nodes', () => {
  const policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: l4-mps, backend: gke, gpu: {model: L4, product: nvidia-l4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 8}}
  - {name: t4, backend: nvidia-exclusive, nodeSelector: {karpenter.k8s.aws/instance-gpu-memory: "16384"}, gpu: {model: T4, product: t4, modelLabel: karpenter.k8s.aws/instance-gpu-name, memory: 24Gi, perNode: 1}}
`);
  const findings = checkAgainstCluster(policy, NODES);
  it('when a GKE pool names another clients-per-GPU than its nodes, then it matches no node, and the node none', () => {
    assert.ok(findings.some((f) => f.startsWith('pool l4-mps: matches no node') && f.includes('cloud.google.com/gke-max-shared-clients-per-gpu In 8')), findings.join('\n'));
    assert.ok(findings.includes('node gke-l4-mps-1: has GPU resources (nvidia.com/gpu) but matches no pool'), findings.join('\n'));
  });
  it('when a Karpenter pool says more card memory than the label, then check names both; less than EC2\'s nominal size is fine', () => {
    assert.ok(findings.includes('pool t4: gpu.memory is 24Gi but node eks-t4-1 reports 16Gi per card'), findings.join('\n'));
    const usable = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: t4, backend: nvidia-exclusive, nodeSelector: {karpenter.k8s.aws/instance-gpu-memory: "16384"}, gpu: {model: T4, product: t4, modelLabel: karpenter.k8s.aws/instance-gpu-name, memory: 15Gi, perNode: 1}}
`);
    assert.deepEqual(checkAgainstCluster(usable, NODES.filter((n) => n.name.startsWith('eks-'))), []);
  });
  it('when inspect asks what a GKE pool hands out, then it is nvidia.com/gpu in its mode\'s unit', () => {
    assert.deepEqual(poolUnits(policy.pools[0]!), [{ resource: 'nvidia.com/gpu', what: 'MPS shares', unit: 'shares' }]);
  });
});

describe('policy init --from-cluster on DRA nodes of a cloud', () => {
  const dra = (name: string, labels: Record<string, string>, product: string): ClusterNode => ({
    ...node(name, labels, {}),
    devices: [{ driver: 'gpu.nvidia.com', pool: name, name: 'gpu-0', allocated: false, attributes: { type: 'gpu', productName: product }, memoryBytes: 24 * 2 ** 30 }],
  });
  it('when DRA nodes carry a cloud GPU label, then the dra pool selects its nodes by it rather than by the instance type', () => {
    const { yaml } = draftPolicy([
      dra('auto-l4-1', { 'eks.amazonaws.com/instance-gpu-name': 'l4', 'node.kubernetes.io/instance-type': 'g6.xlarge', team: 'a' }, 'NVIDIA L4'),
      dra('auto-a10-1', { 'eks.amazonaws.com/instance-gpu-name': 'a10g', 'node.kubernetes.io/instance-type': 'g5.xlarge', team: 'b' }, 'NVIDIA A10G'),
    ]);
    const pools = parse(yaml).pools as { name: string; nodeSelector: Record<string, string> }[];
    assert.deepEqual(pools.map((p) => [p.name, p.nodeSelector]), [
      ['l4-dra', { 'eks.amazonaws.com/instance-gpu-name': 'l4' }], ['a10g-dra', { 'eks.amazonaws.com/instance-gpu-name': 'a10g' }],
    ]);
  });
});

describe('EKS Auto Mode nodes: its own copies of Karpenter\'s GPU labels', () => {
  // "eks.amazonaws.com/instance-gpu-count | 1 | Number of GPUs on the instance", "eks.amazonaws.com/instance-gpu-memory | 16384 |
  // Number of mebibytes of memory on the GPU" ("Create a Node Pool for EKS Auto Mode", docs.aws.amazon.com/eks/latest/userguide/create-node-pool.html).
  const auto = node('auto-l40s-1', { 'eks.amazonaws.com/instance-gpu-name': 'l40s', 'eks.amazonaws.com/instance-gpu-count': '4',
    'eks.amazonaws.com/instance-gpu-memory': '46068' }, { 'nvidia.com/gpu': '4' });
  it('when an Auto Mode node publishes its GPU count and memory, then they are the card count and memory', () => {
    assert.equal(nodeCardCount(auto), 4);
    assert.equal(nodeCardMemoryGiB(auto), 46068 / 1024);
  });
  it('when init drafts an Auto Mode node, then the pool selects the card memory too, as on Karpenter (one name spans cards)', () => {
    const pools = parse(draftPolicy([auto]).yaml).pools as { gpu: Record<string, unknown>; nodeSelector?: Record<string, string> }[];
    assert.deepEqual(pools[0]!.nodeSelector, { 'eks.amazonaws.com/instance-gpu-memory': '46068' });
    assert.equal(pools[0]!.gpu.memory, '45Gi');
  });
  it('when an Auto Mode pool selects the GPU name alone, then check warns as it does for Karpenter\'s', () => {
    const w = policyWarnings(parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a100, backend: nvidia-exclusive, gpu: {model: A100, product: a100, modelLabel: eks.amazonaws.com/instance-gpu-name, memory: 40Gi, perNode: 8}}
`));
    assert.deepEqual(w, ['/pools/0/nodeSelector: add eks.amazonaws.com/instance-gpu-memory: one GPU name spans cards (a100: 40 and 80 GB)']);
  });
});

describe('policy init --from-cluster on GKE nodes that share MIG partitions', () => {
  // GKE runs time-sharing or MPS on partitions ("For each multi-instance GPU partition, use either time-sharing or NVIDIA MPS",
  // "About GPU sharing strategies in GKE"); a gke pool cannot say it (gke and mig together are refused).
  const both = node('gke-a100-mig-ts-1', { [`${GKE}accelerator`]: 'nvidia-a100-80gb', [`${GKE}accelerator-count`]: '1', [`${GKE}gpu-partition-size`]: '1g.10gb',
    [`${GKE}gpu-sharing-strategy`]: 'time-sharing', [`${GKE}max-shared-clients-per-gpu`]: '2' }, { 'nvidia.com/gpu': '14' });
  it('when a node shares its partitions, then no pool is drafted for it (one would select whole-card sharing nodes) and a note says why', () => {
    const { yaml, notes } = draftPolicy([both, NODES[1]!]);
    const pools = parse(yaml).pools as { name: string }[];
    assert.deepEqual(pools.map((p) => p.name), ['h100']);
    assert.ok(notes.some((n) => n.startsWith('left out gke-a100-mig-ts-1:') && n.includes('MIG partitions')), notes.join('\n'));
  });
});
