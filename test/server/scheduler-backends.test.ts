// POST /mutate with the example policies of clusters run by Volcano and by Koordinator: the answer
// the API server gets, applied to the pod, is the pod those schedulers take (their names, their
// scheduler, their annotations), and a pod they cannot run is refused with the reason.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { StaticPolicySource } from '../../src/policy/source.ts';
import { patchedPod, testApp } from './support.ts';

const example = (name: string) => new StaticPolicySource(parsePolicyOrThrow(readFileSync(new URL(`../../examples/policies/${name}.yaml`, import.meta.url), 'utf8')));

function review(pod: Pod, uid: string): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: pod.metadata?.namespace, operation: 'CREATE', userInfo: { username: 'alice' }, object: pod },
  };
}

/** A pod as the API server sends it: limits copied into requests. */
function pod(namespace: string, annotations: Record<string, string>, limits: Record<string, string>, spec: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace, annotations },
    spec: { containers: [{ name: 'main', image: 'pytorch', resources: { limits, requests: { ...limits } } }], ...spec },
  };
}

async function mutate(policy: string, p: Pod): Promise<AdmissionReview> {
  const res = await request(testApp({ policySource: example(policy) }).app).post('/mutate').send(review(p, 'u-1') as object);
  assert.equal(res.status, 200);
  return res.body as AdmissionReview;
}

describe('POST /mutate on a Volcano cluster (examples/policies/volcano.yaml)', () => {
  it('when a gang member asks 2 GPUs × 12Gi + 30%, then it gets Volcano\'s vGPU resources, scheduler and mode, and keeps its PodGroup', async () => {
    const input = pod('training', { 'scheduling.k8s.io/group-name': 'job-7' },
      { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '12Gi', 'gpu-admission.io/gpu-cores': '30' });
    const answer = await mutate('volcano', input);
    assert.equal(answer.response?.allowed, true);
    const out = patchedPod(input, answer);
    const want = { 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '12288', 'volcano.sh/vgpu-cores': '30' };
    assert.deepEqual(out.spec.containers[0]?.resources, { limits: want, requests: want });
    assert.equal(out.spec.schedulerName, 'volcano');
    assert.equal(out.metadata?.annotations?.['scheduling.k8s.io/group-name'], 'job-7');
    assert.equal(out.metadata?.annotations?.['volcano.sh/vgpu-mode'], 'hami-core');
    const again = await mutate('volcano', out);
    assert.equal(again.response?.patch, undefined, 'its own output needs no patch');
  });

  it('when a pod names another scheduler, then it is refused with each Volcano pool\'s reason', async () => {
    const answer = await mutate('volcano', pod('training', {}, { 'gpu-admission.io/gpu': '1' }, { schedulerName: 'kai-scheduler' }));
    assert.equal(answer.response?.allowed, false);
    assert.match(answer.response?.status?.message ?? '', /pool l40s-vgpu: the pod is scheduled by kai-scheduler; volcano-vgpu cards are allocated by volcano/);
  });
});

describe('POST /mutate on a Koordinator cluster (examples/policies/koordinator.yaml)', () => {
  it('when an LLM pod asks 4 GPUs on one NUMA node with RDMA, then it gets Koordinator\'s totals, NUMA spec, joint allocation and koord-scheduler', async () => {
    const input = pod('llm', { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/rdma': 'true' }, { 'gpu-admission.io/gpu': '4', cpu: '48' });
    const answer = await mutate('koordinator', input);
    assert.equal(answer.response?.allowed, true);
    const out = patchedPod(input, answer);
    const want = { cpu: '48', 'koordinator.sh/gpu.shared': '4', 'koordinator.sh/gpu-memory-ratio': '400', 'koordinator.sh/gpu-core': '400', 'koordinator.sh/rdma': '1' };
    assert.deepEqual(out.spec.containers[0]?.resources, { limits: want, requests: want });
    assert.equal(out.spec.schedulerName, 'koord-scheduler');
    assert.equal(out.metadata?.annotations?.['scheduling.koordinator.sh/numa-topology-spec'], '{"numaTopologyPolicy":"SingleNUMANode"}');
    assert.equal(out.metadata?.annotations?.['scheduling.koordinator.sh/device-joint-allocate'], '{"deviceTypes":["gpu","rdma"]}');
  });

  it('when an inference share is routed to HAMi-core nodes, then the pod carries the isolation label koordlet reads', async () => {
    const input = pod('inference', {}, { 'gpu-admission.io/gpu-memory': '6Gi', 'gpu-admission.io/gpu-cores': '25' });
    const out = patchedPod(input, await mutate('koordinator', input));
    assert.equal(out.metadata?.labels?.['koordinator.sh/gpu-isolation-provider'], 'HAMi-core');
    assert.equal(out.spec.containers[0]?.resources?.limits?.['koordinator.sh/gpu-memory'], String(6 * 2 ** 30));
  });

  it('when two containers ask GPUs, then the pod is refused: Koordinator gives every container all of the pod\'s cards', async () => {
    const input = pod('llm', {}, { 'gpu-admission.io/gpu': '1' });
    input.spec.containers.push({ name: 'second', image: 'pytorch', resources: { limits: { 'gpu-admission.io/gpu': '1' } } });
    const answer = await mutate('koordinator', input);
    assert.equal(answer.response?.allowed, false);
    assert.match(answer.response?.status?.message ?? '', /pool h800: Koordinator allocates GPUs per pod and gives every container all of them/);
  });
});
