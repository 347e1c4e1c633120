import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { fixture, testApp, type ReviewJson } from './support.ts';

async function post(body: ReviewJson, app = testApp().app): Promise<{ status: number; review: AdmissionReview }> {
  const res = await request(app).post('/validate-policy').send(body);
  return { status: res.status, review: res.body as AdmissionReview };
}

describe('POST /validate-policy', () => {
  it('when the policy ConfigMap is created with a valid policy, then it is allowed untouched, with the policy\'s warnings', async () => {
    const body = fixture('policy-configmap-create');
    const { status, review } = await post(body);
    assert.equal(status, 200);
    assert.equal(review.response?.allowed, true);
    assert.equal(review.response?.uid, body.request?.uid);
    assert.ok(review.response?.warnings?.includes('/pools/4: set a nodeSelector: ack-exclusive without one takes every H100 node with no GPU mode label'));
  });

  it('when the policy has dra pools, then it is allowed without warnings; with a dra pool asking RDMA, refused naming the field', async () => {
    const body = fixture('policy-configmap-dra');
    const ok = await post(body);
    assert.deepEqual([ok.review.response?.allowed, ok.review.response?.warnings ?? []], [true, []]);
    const data = body.request?.object as { data: Record<string, string> };
    data.data['policy.yaml'] = (data.data['policy.yaml'] ?? '').replace('perNode: 8}\n    taints:', 'perNode: 8}\n    rdma: true\n    taints:');
    const bad = await post(body);
    assert.equal(bad.review.response?.allowed, false);
    assert.match(bad.review.response?.status?.message ?? '', /\/pools\/0\/rdma: a dra pool is asked by count \(the DeviceClass's extended resource\), which cannot align an RDMA device with the GPUs/);
  });

  it('when a valid policy is accepted, then the review counts as accepted, not unchanged', async () => {
    const { app, registry } = testApp();
    await request(app).post('/validate-policy').send(fixture('policy-configmap-create'));
    assert.match(await registry.metrics(), /gpu_admission_reviews_total\{webhook="validate-policy",result="accepted"\} 1/);
  });

  it('when an update makes the policy invalid, then it is denied with every error and its path', async () => {
    const body = fixture('policy-configmap-invalid-update');
    const { status, review } = await post(body);
    assert.equal(status, 200);
    assert.equal(review.response?.uid, body.request?.uid);
    assert.equal(review.response?.allowed, false);
    assert.equal(review.response?.status?.code, 403);
    const message = review.response?.status?.message ?? '';
    assert.match(message, /^ConfigMap gpu-admission\/gpu-admission-policy, key policy\.yaml: invalid GPU policy: /);
    assert.match(message, /\/pools\/0\/gpu\/memory: must be a quantity such as 24Gi/);
    assert.match(message, /\/pools\/1\/gpu: unknown field "speed"/);
  });

  it('when a valid policy probably does not mean what it says, then it is allowed with warnings', async () => {
    const body = fixture('policy-configmap-create');
    const object = body.request?.object as { data: Record<string, string> };
    object.data['policy.yaml'] = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: h100, backend: ack-exclusive, gpu: {model: H100, product: NVIDIA-H100, memory: 80Gi, perNode: 8}}
  - {name: t4, backend: ack-cgpu, gpu: {model: Tesla-T4, memory: 15Gi, perNode: 1}}
`;
    const { review } = await post(body);
    assert.equal(review.response?.allowed, true);
    assert.deepEqual(review.response?.warnings, ['/pools/0: set a nodeSelector: ack-exclusive without one takes every NVIDIA-H100 node with no GPU mode label']);
  });

  it('when the policy key is missing, then it is denied naming the key', async () => {
    const { review } = await post(fixture('policy-configmap-no-key'));
    assert.equal(review.response?.allowed, false);
    assert.equal(review.response?.status?.message,
      'ConfigMap gpu-admission/gpu-admission-policy has no data key "policy.yaml": the GPU policy must be there');
  });

  it('when the policy is under binaryData, then the denial says to move it to data', async () => {
    const body = fixture('policy-configmap-no-key');
    const object = body.request?.object as { data?: unknown; binaryData?: unknown };
    delete object.data;
    object.binaryData = { 'policy.yaml': Buffer.from('kind: GpuAdmissionPolicy').toString('base64') };
    const { review } = await post(body);
    assert.match(review.response?.status?.message ?? '', /has no data key "policy\.yaml" \(it is under binaryData; put it under data\)/);
  });

  it('when the YAML does not parse, then the denial gives the line', async () => {
    const body = fixture('policy-configmap-create');
    (body.request?.object as { data: Record<string, string> }).data['policy.yaml'] = 'pools: [\n  - name: a\n';
    const { review } = await post(body);
    assert.equal(review.response?.allowed, false);
    assert.match(review.response?.status?.message ?? '', /invalid GPU policy: line \d+:/);
  });

  const untouched: { when: string; body: () => ReviewJson }[] = [
    { when: 'another ConfigMap holds an invalid policy', body: () => fixture('other-configmap') },
    {
      when: 'a ConfigMap of the same name lives in another namespace', body: () => {
        const b = fixture('policy-configmap-invalid-update');
        if (b.request) b.request.namespace = 'default';
        (b.request?.object as { metadata: { namespace: string } }).metadata.namespace = 'default';
        return b;
      },
    },
    {
      when: 'the policy ConfigMap is deleted', body: () => {
        const b = fixture('policy-configmap-invalid-update');
        if (b.request) {
          b.request.operation = 'DELETE';
          delete b.request.object;
        }
        return b;
      },
    },
    {
      when: 'the review is about a Pod', body: () => fixture('denied-pod'),
    },
  ];
  for (const c of untouched) {
    it(`when ${c.when}, then it is allowed untouched`, async () => {
      const body = c.body();
      const { status, review } = await post(body);
      assert.equal(status, 200);
      assert.deepEqual(review.response, { uid: body.request?.uid, allowed: true });
    });
  }

  it('when the names are configured, then the configured ConfigMap is the one validated', async () => {
    const app = testApp({ policyConfigMap: { namespace: 'gpu-admission', name: 'unrelated', key: 'policy.yaml' } }).app;
    const { review } = await post(fixture('other-configmap'), app);
    assert.equal(review.response?.allowed, false);
    assert.match(review.response?.status?.message ?? '', /ConfigMap gpu-admission\/unrelated, key policy\.yaml: invalid GPU policy/);
  });

  it('when the object under review is not a ConfigMap, then HTTP 400 names the problem', async () => {
    const body = fixture('policy-configmap-create');
    if (body.request) body.request.object = { kind: 'ConfigMap', data: { 'policy.yaml': 42 } };
    const res = await request(testApp().app).post('/validate-policy').send(body);
    assert.equal(res.status, 400);
    assert.equal((res.body as AdmissionReview).response?.uid, body.request?.uid);
    assert.match((res.body as AdmissionReview).response?.status?.message ?? '', /request\.object is not a ConfigMap: data must map keys to strings/);
  });
});
