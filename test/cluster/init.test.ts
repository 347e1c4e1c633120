// policy init --from-cluster on nodes the e2e does not have: NVIDIA MIG (mixed), time-slicing
// (renamed and not), ACK exclusive without published memory. Each draft must parse and have no
// finding against the same nodes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { draftPolicy } from '../../src/cluster/init.ts';
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
    assert.deepEqual(draft.pools[0].gpu, { model: 'NVIDIA-A100-SXM4-80GB', memory: '80Gi', perNode: 8 });
    assert.deepEqual(draft.pools[1].timeSlicing, { resource: 'nvidia.com/gpu', replicas: 4 });
    assert.equal(draft.pools[1].gpu.model, 'Tesla-T4', 'the -SHARED suffix GFD adds is not the model');
    assert.deepEqual(draft.pools[2].timeSlicing, { resource: 'nvidia.com/gpu.shared', replicas: 2 });
  });

  it('when a backend has no mode label of its own, then its pool gets the label that tells its nodes apart', () => {
    assert.deepEqual(draft.pools[1].nodeSelector, { team: 'infer' });
    assert.deepEqual(draft.pools[2].nodeSelector, { team: 'batch' });
  });

  it('when the nodes do not publish card memory, then the draft says so instead of guessing silently', () => {
    assert.deepEqual(notes, ['pool tesla-v100-sxm2-32gb: the nodes publish no card memory; gpu.memory is a placeholder (1Gi): set it']);
    assert.match(yaml, /# 1 node: v100-1 \(ack-exclusive, Tesla-V100-SXM2-32GB, memory unknown \(1Gi: set it\), × 8\)/);
  });

  it('when the draft is read back, then it is a valid policy with no finding against the same nodes', () => {
    const result = parsePolicy(yaml);
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    assert.deepEqual(checkAgainstCluster(result.policy, NODES), []);
  });
});
