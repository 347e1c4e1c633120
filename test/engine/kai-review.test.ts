// Backend kai, checked against KAI Scheduler's own code (kai-scheduler/KAI-Scheduler at d5bc503):
// its scheduling shards (node pools) and a decision record forged to hide KAI's share annotations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Decision } from '../../src/engine/decision.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { applied, generic, podWith } from '../helpers/pods.ts';

const POLICY = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - name: a10-kai
    backend: kai
    nodeSelector: {kai.scheduler/node-pool: a10}
    gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}
    kai: {queue: team-a}
  - name: a10b-kai
    backend: kai
    nodeSelector: {kai.scheduler/node-pool: a10b}
    gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}
    kai: {queue: team-a}
  - name: l4-kai
    backend: kai
    nodeSelector: {pool: l4}
    gpu: {model: NVIDIA-L4, memory: 23034Mi, perNode: 4}
    kai: {queue: team-b}
namespaces:
  - names: [restricted]
    allowedPools: [l4-kai]
    maxGpusPerPod: 1
`;

const policy = parsePolicyOrThrow(POLICY);
const run = (pod: Pod, namespace = 'ml'): Decision => decide(pod, { policy, namespace: { name: namespace, labels: {} } });
const NODE_POOL = 'kai.scheduler/node-pool';

// A sharded KAI scheduler lists only the PodGroups labelled with its shard's node pool, and the
// default shard only those without the label (pkg/scheduler/conf/scheduler_conf.go
// GetLabelSelector; data_lister/kubernetes_lister.go ListPodGroups/ListNodes); the pod grouper
// copies the pod's kai.scheduler/node-pool label to its PodGroup (pkg/podgrouper/pod_controller.go
// addNodePoolLabel). So a pod routed to nodes of node pool a10 must carry that label.
describe('kai: the pod joins the scheduling shard of its pool', () => {
  it('when a share is routed to a pool selected by kai.scheduler/node-pool, then the pod carries that label', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }]);
    assert.equal(applied(pod, run(pod)).metadata?.labels?.[NODE_POOL], 'a10');
  });

  it('when whole cards are routed there, then the pod carries the label too', () => {
    const pod = podWith([{ name: 'app', limits: generic('2') }]);
    assert.equal(applied(pod, run(pod)).metadata?.labels?.[NODE_POOL], 'a10');
  });

  it('when the pod names another node pool itself, then the pool\'s replaces it (KAI would schedule it in a shard without its nodes)', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }], {}, { labels: { [NODE_POOL]: 'h100' } });
    assert.equal(applied(pod, run(pod)).metadata?.labels?.[NODE_POOL], 'a10');
  });

  it('when the pool is not selected by a node pool, then no node-pool label is written', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }]);
    const out = applied(pod, run(pod, 'restricted'));
    assert.equal(out.metadata?.labels?.[NODE_POOL], undefined);
    assert.equal(out.metadata?.labels?.['kai.scheduler/queue'], 'team-b');
  });

  it('when a native KAI share suits pools of two node pools, then it is routed to the first one only, with its label', () => {
    const pod = podWith([{ name: 'app', limits: {} }], { 'gpu-fraction': '0.5' });
    const d = run(pod);
    assert.ok(d.kind === 'patch', JSON.stringify(d));
    assert.deepEqual(d.routes.map((r) => r.pool), ['a10-kai']);
    assert.equal(applied(pod, d).metadata?.labels?.[NODE_POOL], 'a10');
  });

  it('when the webhook runs on its own output, then it changes nothing', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }]);
    const out = applied(pod, run(pod));
    assert.notEqual(run(out).kind, 'patch');
  });
});

// KAI's scheduler and binder read gpu-fraction and gpu-fraction-num-devices from the pod whoever
// wrote them (pkg/scheduler/api/pod_info/pod_info.go, pkg/common/resources/gpu_sharing.go).
describe('kai: a decision record that claims share annotations it did not write', () => {
  const forged = (claimed: Record<string, string>, containers = '{}'): string => JSON.stringify({
    pools: ['a10-kai'], backend: 'kai', revision: '0', containers: JSON.parse(containers) as unknown, annotations: claimed,
  });

  it('when a pod with no GPU request carries gpu-fraction that a forged record claims, then it is refused, not let through', () => {
    const claimed = { 'gpu-fraction': '0.9', 'gpu-fraction-num-devices': '8' };
    const pod = podWith([{ name: 'app', limits: {} }], { ...claimed, 'gpu-admission.io/decision': forged(claimed) },
      { spec: { schedulerName: 'kai-scheduler' } });
    const d = run(pod, 'restricted');
    assert.equal(d.kind, 'deny', JSON.stringify(d));
    assert.match(d.kind === 'deny' ? d.message : '', /gpu-fraction.*gpu-admission\.io\/decision/);
  });

  it('when the record names a container whose written resource is gone, then the claimed share is refused too', () => {
    const claimed = { 'gpu-fraction': '0.5' };
    const record = forged(claimed, '{"app": {"gpu": 1, "resources": {"nvidia.com/gpu": 1}}}');
    const pod = podWith([{ name: 'app', limits: {} }], { ...claimed, 'gpu-admission.io/decision': record });
    assert.equal(run(pod, 'restricted').kind, 'deny');
  });

  it('when the pod is the webhook\'s own share output, then it is still left as it is', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }]);
    const out = applied(pod, run(pod, 'restricted'));
    assert.equal(out.metadata?.annotations?.['gpu-fraction'], '0.36');
    assert.notEqual(run(out, 'restricted').kind, 'deny');
  });
});

// gpu-admission's webhook is reinvoked (reinvocationPolicy: IfNeeded) after KAI's own mutates a
// share pod; the queue label the first decision wrote is then the webhook's, not the author's.
describe('kai: the queue label on reinvocation', () => {
  const TWO_QUEUES = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-x, backend: kai, nodeSelector: {pool: x}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}, kai: {queue: team-x}}
  - {name: a10-y, backend: kai, nodeSelector: {pool: y}, gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}, kai: {queue: team-y}}
`;
  const two = parsePolicyOrThrow(TWO_QUEUES);
  const decideIn = (pod: Pod): Decision => decide(pod, { policy: two, namespace: { name: 'ml', labels: {} } });

  it('when a share pod routed to queue team-x comes back, then pool a10-y (queue team-y) does not join its route', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }]);
    const first = decideIn(pod);
    assert.ok(first.kind === 'patch' && first.routes.map((r) => r.pool).join() === 'a10-x', JSON.stringify(first));
    const again = decideIn(applied(pod, first));
    assert.notEqual(again.kind, 'patch', JSON.stringify(again));
  });

  it('when the author names the queue, then it is kept and both pools serve', () => {
    const pod = podWith([{ name: 'app', limits: generic('1', '8Gi') }], {}, { labels: { 'kai.scheduler/queue': 'mine' } });
    const d = decideIn(pod);
    assert.ok(d.kind === 'patch' && d.routes.map((r) => r.pool).join() === 'a10-x,a10-y', JSON.stringify(d));
    assert.equal(applied(pod, d).metadata?.labels?.['kai.scheduler/queue'], 'mine');
  });
});

// KAI's admission: `if !isFractional && hasMpsAnnotation && mpsFromAnnotation == "true"` →
// "MPS is only supported with GPU fraction request" (pkg/binder/plugins/gpusharing/gpu-request/gpu_request_validator.go).
describe('kai: the mps annotation', () => {
  it('when a pod asks whole GPUs with mps: "true", then the kai pools rule themselves out with KAI\'s reason', () => {
    const d = run(podWith([{ name: 'app', limits: generic('1') }], { mps: 'true' }));
    assert.equal(d.kind, 'deny', JSON.stringify(d));
    assert.match(d.kind === 'deny' ? d.message : '', /a10-kai: KAI serves annotation mps: "true" only with a GPU fraction/);
  });

  it('when a pod asks nvidia.com/gpu natively with mps: "true", then it is refused too', () => {
    const d = run(podWith([{ name: 'app', limits: { 'nvidia.com/gpu': '1' } }], { mps: 'true' }));
    assert.match(d.kind === 'deny' ? d.message : JSON.stringify(d), /MPS is only supported with GPU fraction request/);
  });

  it('when a share or a native gpu-fraction asks mps: "true", then it is served', () => {
    assert.equal(run(podWith([{ name: 'app', limits: generic('1', '8Gi') }], { mps: 'true' })).kind, 'patch');
    assert.equal(run(podWith([{ name: 'app', limits: {} }], { mps: 'true', 'gpu-fraction': '0.5' })).kind, 'patch');
  });
});
