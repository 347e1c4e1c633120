// policy init --from-cluster on nodes the e2e does not have: NVIDIA MIG (mixed), time-slicing
// (renamed and not), ACK exclusive and topology without published memory. A draft whose nodes
// publish everything (or whose model names its memory) must parse and have no finding against the
// same nodes; a value the nodes do not publish is a placeholder that fails the check until set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { PLACEHOLDER, draftPolicy } from '../../src/cluster/init.ts';
import { toClusterNode, type ClusterNode } from '../../src/cluster/model.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

const node = (name: string, labels: Record<string, string>, allocatable: Record<string, string>): ClusterNode =>
  toClusterNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, status: { allocatable, conditions: [{ type: 'Ready', status: 'True' }] } });

const NODES = [
  node('mig-1', { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB', 'nvidia.com/mig.strategy': 'mixed', 'nvidia.com/gpu.count': '8', 'nvidia.com/gpu.memory': '81920' },
    { 'nvidia.com/mig-1g.10gb': '14', 'nvidia.com/mig-3g.40gb': '4' }),
  node('ts-1', { 'nvidia.com/gpu.product': 'Tesla-T4-SHARED', 'nvidia.com/gpu.replicas': '4', 'nvidia.com/gpu.count': '1', 'nvidia.com/gpu.memory': '15360', 'team': 'infer' },
    { 'nvidia.com/gpu': '4' }),
  node('ts-2', { 'nvidia.com/gpu.product': 'NVIDIA-L4', 'nvidia.com/gpu.replicas': '2', 'nvidia.com/gpu.count': '2', 'nvidia.com/gpu.memory': '23034', 'team': 'batch' },
    { 'nvidia.com/gpu.shared': '4' }),
  node('v100-1', { 'aliyun.accelerator/nvidia_name': 'Tesla-V100-SXM2-32GB' }, { 'nvidia.com/gpu': '8' }),
  node('cpu-1', {}, { cpu: '8' }),
];

describe('policy init --from-cluster', () => {
  const { yaml, notes } = draftPolicy(NODES);
  const draft = parse(yaml);

  it('when MIG, time-slicing and ACK exclusive nodes are read, then each becomes a pool of the right backend', () => {
    assert.deepEqual(draft.pools.map((p: { name: string; backend: string }) => [p.name, p.backend]), [
      ['a100-sxm4-80gb-mig', 'nvidia-mig'], ['tesla-t4-shared', 'nvidia-time-slicing'], ['l4-shared', 'nvidia-time-slicing'], ['tesla-v100-sxm2-32gb', 'ack-exclusive'],
    ]);
    assert.deepEqual(draft.pools[0].mig, { profiles: ['1g.10gb', '3g.40gb'] });
    assert.deepEqual(draft.pools[0].gpu, { model: 'A100', product: 'NVIDIA-A100-SXM4-80GB', memory: '80Gi', perNode: 8 });
    assert.deepEqual(draft.pools[1].timeSlicing, { resource: 'nvidia.com/gpu', replicas: 4 });
    assert.equal(draft.pools[1].gpu.product, 'Tesla-T4', 'the -SHARED suffix GFD adds is not the model');
    assert.deepEqual(draft.pools[2].timeSlicing, { resource: 'nvidia.com/gpu.shared', replicas: 2 });
  });

  it('when a backend has no mode label of its own, then its pool gets the label that tells its nodes apart', () => {
    assert.deepEqual(draft.pools[1].nodeSelector, { team: 'infer' });
    assert.deepEqual(draft.pools[2].nodeSelector, { team: 'batch' });
  });

  it('when models are read from the nodes\' labels, then each pool names the portable model pods ask (A10, as README\'s examples) and the label value as product', () => {
    assert.deepEqual(draft.pools.map((p: { gpu: { model: string; product?: string } }) => [p.gpu.model, p.gpu.product]), [
      ['A100', 'NVIDIA-A100-SXM4-80GB'], ['T4', 'Tesla-T4'], ['L4', 'NVIDIA-L4'], ['V100', 'Tesla-V100-SXM2-32GB'],
    ]);
  });

  it('when the nodes do not publish card memory but the model name states it, then the draft takes it from the name and says so', () => {
    assert.equal(draft.pools[3].gpu.memory, '32Gi');
    assert.deepEqual(notes, ['pool tesla-v100-sxm2-32gb: the nodes publish no card memory; gpu.memory 32Gi is read from the model name Tesla-V100-SXM2-32GB: check it']);
    assert.match(yaml, /# 1 node: v100-1 \(ack-exclusive, Tesla-V100-SXM2-32GB, 32Gi \(from the name\), × 8\)/);
  });

  it('when neither the nodes nor the model name give card memory, then gpu.memory is a placeholder that fails policy check until it is set', () => {
    const topology = node('topo-1', { 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10', 'ack.node.gpu.schedule': 'topology' }, { 'aliyun.com/gpu': '4' });
    const out = draftPolicy([topology]);
    const pool = parse(out.yaml).pools[0];
    assert.deepEqual([pool.backend, pool.gpu], ['ack-topology', { model: 'A10', product: 'NVIDIA-A10', memory: PLACEHOLDER, perNode: 4 }]);
    assert.deepEqual(out.notes, [`pool a10-topology: the nodes publish no card memory; gpu.memory is ${PLACEHOLDER}: set it (policy check fails until you do)`]);
    const unset = parsePolicy(out.yaml);
    assert.ok(!unset.ok);
    assert.deepEqual(unset.errors, ['/pools/0/gpu/memory: must be a quantity such as 24Gi']);
    const set = parsePolicy(out.yaml.replace(`memory: ${PLACEHOLDER}`, 'memory: 24Gi'));
    assert.ok(set.ok, set.ok ? '' : set.errors.join('\n'));
    assert.deepEqual(checkAgainstCluster(set.policy, [topology]), []);
  });

  it('when the draft is read back, then it is a valid policy with no finding against the same nodes', () => {
    const result = parsePolicy(yaml);
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    assert.deepEqual(checkAgainstCluster(result.policy, NODES), []);
  });
});

describe('policy init --from-cluster on KAI node pools', () => {
  const kaiNodes = [
    node('a10-1', { 'nvidia.com/gpu.product': 'NVIDIA-A10', 'nvidia.com/gpu.count': '4', 'nvidia.com/gpu.memory': '23028', 'kai.scheduler/node-pool': 'a10' },
      { 'nvidia.com/gpu': '4' }),
    node('h100-mig-1', { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/mig.strategy': 'mixed', 'nvidia.com/gpu.count': '8',
      'nvidia.com/gpu.memory': '81559', 'kai.scheduler/node-pool': 'h100' }, { 'nvidia.com/mig-1g.10gb': '56' }),
    node('l4-1', { 'nvidia.com/gpu.product': 'NVIDIA-L4', 'nvidia.com/gpu.count': '1', 'nvidia.com/gpu.memory': '23034' }, { 'nvidia.com/gpu': '1' }),
  ];
  const { yaml, notes } = draftPolicy(kaiNodes);
  const draft = parse(yaml);

  it('when nodes carry KAI\'s node-pool label, then their pools are kai, with the card memory in GFD\'s exact MiB, and the others stay NVIDIA\'s', () => {
    assert.deepEqual(draft.pools.map((p: { name: string; backend: string; gpu: { memory: string } }) => [p.name, p.backend, p.gpu.memory]), [
      ['a10-kai', 'kai', '23028Mi'], ['h100-80gb-hbm3-kai-mig', 'kai', '81559Mi'], ['l4', 'nvidia-exclusive', '22Gi'],
    ]);
    assert.deepEqual(draft.pools[1].mig, { profiles: ['1g.10gb'] });
    // Their KAI node pool is in the nodeSelector, so that the webhook labels their pods for that shard.
    assert.equal(draft.pools[0].nodeSelector['kai.scheduler/node-pool'], 'a10');
    assert.equal(draft.pools[1].nodeSelector['kai.scheduler/node-pool'], 'h100');
    assert.ok(notes.some((n) => n.includes('pools a10-kai, h100-80gb-hbm3-kai-mig are kai') && n.includes('kai.queue')), notes.join('\n'));
  });

  it('when the KAI draft is checked against the same nodes, then it parses and has no finding', () => {
    const r = parsePolicy(yaml);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(checkAgainstCluster(r.policy, kaiNodes), []);
  });
});
