import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { fixture, patchedPod, podOf, testApp } from './support.ts';

const app = testApp().app;

const ANNOTATIONS = ['gpu-admission.io/pools', 'gpu-admission.io/gpu-model', 'gpu-admission.io/numa', 'gpu-admission.io/rdma',
  'gpu-admission.io/isolation', 'gpu-admission.io/placement', 'gpu-admission.io/numa-exclusive', 'gpu-admission.io/decision'];
const annotationValue = fc.oneof(
  fc.constantFrom('t4-shared', 'h100,a100-mig', 'a100-topology', 'SingleNUMANode', 'BestEffort', 'true', 'compute', 'memory',
    'spread', 'binpack', 'Required', 'Tesla-T4', 'H100', '{}', '{"pools":[]}'),
  fc.string({ maxLength: 12 }),
);
/** Mostly requests a pool can serve, in each vocabulary, and now and then garbage. */
const generic = fc.record({
  'gpu-admission.io/gpu': fc.option(fc.integer({ min: 1, max: 9 }).map(String), { nil: undefined }),
  'gpu-admission.io/gpu-memory': fc.option(fc.constantFrom('1Gi', '8Gi', '12Gi', '24Gi', '7500Mi', '80Gi', '100Gi'), { nil: undefined }),
  'gpu-admission.io/gpu-cores': fc.option(fc.integer({ min: 1, max: 100 }).map(String), { nil: undefined }),
  cpu: fc.option(fc.constantFrom('1', '4', '500m', '16'), { nil: undefined }),
}, { requiredKeys: [] });
const native = fc.oneof(
  fc.record({ 'nvidia.com/gpu': fc.integer({ min: 1, max: 9 }).map(String) }),
  fc.record({ 'aliyun.com/gpu-mem': fc.integer({ min: 1, max: 90 }).map(String) }),
);
const garbage = fc.dictionary(
  fc.constantFrom('gpu-admission.io/gpu', 'gpu-admission.io/gpu-memory', 'gpu-admission.io/gpu-cores', 'nvidia.com/gpu', 'cpu'),
  fc.oneof(fc.constantFrom('0', '-1', '0.5', '1e3', 'lots', ''), fc.integer({ min: -2, max: 200 }), fc.string({ maxLength: 6 })),
  { maxKeys: 3 },
);
const resourceMap = fc.oneof({ arbitrary: generic, weight: 6 }, { arbitrary: native, weight: 2 }, { arbitrary: garbage, weight: 1 })
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)));
/** Requests as the API server leaves them: copied from the limits, absent, or (rarely) different. */
const container = resourceMap.chain((limits) => fc.record({
  name: fc.constantFrom('a', 'b', 'c'),
  limits: fc.constant(limits),
  requests: fc.oneof({ arbitrary: fc.constant(limits), weight: 4 }, { arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: resourceMap, weight: 1 }),
}));

function podFrom(containers: { name: string; limits: Record<string, unknown>; requests: Record<string, unknown> | undefined }[],
  annotations: Record<string, string>): Pod {
  const pod = podOf(fixture('plain-pod'));
  const base = pod.spec.containers[0];
  pod.spec.containers = containers.map((c, i) => ({
    ...base, name: `${c.name}${i}`,
    resources: { limits: c.limits, ...(c.requests ? { requests: c.requests } : {}) },
  })) as Pod['spec']['containers'];
  pod.metadata = { ...pod.metadata, annotations };
  return pod;
}

describe('POST /mutate over generated pods', () => {
  it('when any pod shape is reviewed, then the answer is an AdmissionReview for its uid, never an internal error, and a patch always applies', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(container, { minLength: 1, maxLength: 2 }),
      fc.oneof({ arbitrary: fc.constant({}), weight: 2 }, { arbitrary: fc.dictionary(fc.constantFrom(...ANNOTATIONS), annotationValue, { maxKeys: 3 }), weight: 1 }),
      async (containers, annotations) => {
        const body = fixture('plain-pod');
        const pod = podFrom(containers, annotations);
        if (body.request) body.request.object = pod;
        const res = await request(app).post('/mutate').send(body);
        const review = res.body as AdmissionReview;
        // Every generated pod is well-formed JSON of a pod (quantities are strings or numbers), so
        // each is decided: allowed, patched or denied with 403, never refused as unreadable.
        assert.equal(res.status, 200, `HTTP ${res.status}: ${JSON.stringify(review.response?.status)}`);
        assert.equal(review.kind, 'AdmissionReview');
        assert.equal(review.response?.uid, body.request?.uid);
        if (review.response?.patch !== undefined) {
          const mutated = patchedPod(pod, review);
          const again = structuredClone(body);
          if (again.request) again.request.object = mutated;
          const second = (await request(app).post('/mutate').send(again)).body as AdmissionReview;
          assert.deepEqual(second.response, { uid: body.request?.uid, allowed: true }, 'the webhook on its own output changes nothing');
        }
        if (review.response?.allowed === false && res.status === 200) assert.equal(review.response.status?.code, 403);
      },
    ), { numRuns: 300 });
  });

  it('when the body is any JSON value, then the answer is HTTP 400 or a review, never a crash', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
      const res = await request(app).post('/mutate').set('Content-Type', 'application/json').send(JSON.stringify(value));
      assert.equal(res.status, 400);
      assert.equal((res.body as AdmissionReview).response?.allowed, false);
    }), { numRuns: 200 });
  });
});
