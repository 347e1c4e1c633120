// policy check --cluster on kai pools: gpu-admission's pod webhook must run before KAI's, which gates on
// schedulerName (the order is the API server's: configurations by name, then list order), and
// its gpu.memory must not exceed the nodes' nvidia.com/gpu.memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { toClusterNode, type ClusterNode } from '../../src/cluster/model.ts';
import { callOrder, checkWebhookOrder, type MutatingConfiguration } from '../../src/cluster/webhook-order.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';

const policy = (backend = 'kai', extra = ''): ReturnType<typeof parsePolicyOrThrow> => parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-kai, backend: ${backend}, nodeSelector: {pool: a10}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}${extra}}
`);
const KAI_CONDITION = { name: 'scheduler-name-match', expression: "object.spec.schedulerName == 'kai-scheduler'" };
const ours: MutatingConfiguration = { name: 'gpu-admission', webhooks: [{ name: 'pods.gpu-admission.io', matchConditions: [{ name: 'gpu-pods-only', expression: 'true' }] }] };
const kai = (name: string, condition = KAI_CONDITION): MutatingConfiguration => ({ name, webhooks: [{ name: 'pod-mutator.kai.scheduler', matchConditions: [condition] }] });

describe('policy check --cluster: the order of KAI\'s webhook and ours', () => {
  it('when configurations are listed, then the call order is by configuration name (byte order), then list order', () => {
    const order = callOrder([kai('mutating-kai-admission'), { name: 'Zeta', webhooks: [{ name: 'z1', matchConditions: [] }, { name: 'z0', matchConditions: [] }] }, ours]);
    assert.deepEqual(order.map((w) => w.webhook), ['z1', 'z0', 'pods.gpu-admission.io', 'pod-mutator.kai.scheduler']);
  });

  it("when KAI's configuration keeps its default name mutating-kai-admission, then there is no finding", () => {
    assert.deepEqual(checkWebhookOrder(policy(), [kai('mutating-kai-admission'), ours]), []);
  });

  it("when KAI's configuration sorts before gpu-admission, then the finding names both and the fix", () => {
    const [finding, ...rest] = checkWebhookOrder(policy(), [ours, kai('aaa-kai-admission')]);
    assert.equal(rest.length, 0);
    assert.match(finding ?? '', /calls pod-mutator.kai.scheduler \(MutatingWebhookConfiguration aaa-kai-admission\) before gpu-admission's pods.gpu-admission.io \(gpu-admission\)/);
    assert.match(finding ?? '', /sorts after "gpu-admission".*mutatingWebhookConfigurationName/);
  });

  it('when a webhook gates on the pool\'s own schedulerName in another spelling, then it is found too', () => {
    const renamed = policy('kai', ', schedulerName: kai-team-b');
    const condition = { name: 'x', expression: '"kai-team-b" == object.spec.schedulerName' };
    assert.match(checkWebhookOrder(renamed, [ours, kai('a-webhooks', condition)])[0] ?? '', /calls pod-mutator.kai.scheduler \(MutatingWebhookConfiguration a-webhooks\) before/);
    // A webhook for another scheduler's pods is not the pool's concern.
    assert.match(checkWebhookOrder(renamed, [ours, kai('a-webhooks')])[0] ?? '', /no mutating webhook gates on schedulerName kai-team-b/);
  });

  it('when no webhook gates on the kai scheduler, or ours is missing, then that is the finding', () => {
    assert.match(checkWebhookOrder(policy(), [ours])[0] ?? '', /no mutating webhook gates on schedulerName kai-scheduler/);
    assert.match(checkWebhookOrder(policy(), [kai('mutating-kai-admission')])[0] ?? '', /no MutatingWebhookConfiguration holds gpu-admission's pod webhook/);
  });

  it('when the policy has no kai pool, then the webhooks are not judged', () => {
    assert.deepEqual(checkWebhookOrder(policy('nvidia-exclusive'), [ours, kai('aaa-kai-admission')]), []);
  });
});

describe('policy check --cluster: a kai pool\'s card memory', () => {
  const gpuNode = (name: string, mib: string): ClusterNode => toClusterNode({ metadata: { name, labels: { pool: 'a10', 'nvidia.com/gpu.product': 'NVIDIA-A10', 'nvidia.com/gpu.memory': mib } },
    status: { allocatable: { 'nvidia.com/gpu': '4' }, conditions: [{ type: 'Ready', status: 'True' }] } });

  it('when gpu.memory is above what the nodes report, even within 1 GiB, then the finding names the MiB to set, as KAI shares the node\'s memory', () => {
    const p = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-kai, backend: kai, nodeSelector: {pool: a10}, gpu: {model: NVIDIA-A10, memory: 22.5Gi, perNode: 4}}
`);
    const findings = checkAgainstCluster(p, [gpuNode('a10-1', '23028')]);
    assert.deepEqual(findings, ['pool a10-kai: gpu.memory is 22.5Gi but node a10-1 reports 23028 MiB per card (nvidia.com/gpu.memory): '
      + 'KAI gives a share its gpu-fraction of that, less than asked; set gpu.memory: 23028Mi']);
  });

  it('when gpu.memory is the nodes\' MiB, then there is no finding', () => {
    assert.deepEqual(checkAgainstCluster(policy(), [gpuNode('a10-1', '23028')]), []);
  });
});

// A sharded KAI schedules nodes labelled kai.scheduler/node-pool=<v> only for PodGroups labelled so
// (kai-scheduler/KAI-Scheduler pkg/scheduler/conf/scheduler_conf.go GetLabelSelector), and the
// PodGroup takes the label from its pod (pkg/podgrouper/pod_controller.go addNodePoolLabel).
describe('policy check --cluster: a kai pool\'s KAI node pool', () => {
  const inPool = (name: string, nodePool: string): ClusterNode => toClusterNode({ metadata: { name, labels: {
    pool: 'a10', 'nvidia.com/gpu.product': 'NVIDIA-A10', 'nvidia.com/gpu.memory': '23028', 'kai.scheduler/node-pool': nodePool } },
  status: { allocatable: { 'nvidia.com/gpu': '4' }, conditions: [{ type: 'Ready', status: 'True' }] } });

  it('when the nodes are in a KAI node pool the nodeSelector does not name, then the finding says which label to add', () => {
    assert.deepEqual(checkAgainstCluster(policy(), [inPool('a10-1', 'a10')]), ['pool a10-kai: its nodes are in KAI node pool a10 (kai.scheduler/node-pool), '
      + 'which a sharded KAI schedules only for pods labelled so, and the pool\'s pods get no such label: add kai.scheduler/node-pool: a10 to its '
      + 'nodeSelector (the webhook then labels its pods)']);
  });

  it('when they are in two node pools, then the pool is to be split', () => {
    assert.match(checkAgainstCluster(policy(), [inPool('a10-1', 'a10'), inPool('a10-2', 'b')]).join('\n'), /node pools a10, b .*make one pool per node pool/);
  });

  it('when the nodeSelector names the node pool, then there is no finding', () => {
    const named = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-kai, backend: kai, nodeSelector: {pool: a10, kai.scheduler/node-pool: a10}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}}
`);
    assert.deepEqual(checkAgainstCluster(named, [inPool('a10-1', 'a10')]), []);
  });
});
