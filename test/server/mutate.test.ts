import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { defaultPolicy } from '../../src/policy/default-policy.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.ts';
import { StaticPolicySource, type NamespaceSource, type PolicySource } from '../../src/policy/source.ts';
import type { Policy } from '../../src/policy/types.ts';
import { fixture, patchedPod, patchOf, podOf, testApp, type ReviewJson } from './support.ts';

async function post(body: unknown, app = testApp().app): Promise<{ status: number; review: AdmissionReview }> {
  const res = await request(app).post('/mutate').send(body as object);
  return { status: res.status, review: res.body as AdmissionReview };
}

const limitsOf = (pod: Pod, container: string) => pod.spec.containers.find((c) => c.name === container)?.resources;
const decisionOf = (pod: Pod) => JSON.parse(pod.metadata?.annotations?.['gpu-admission.io/decision'] ?? 'null') as { pools: string[]; backend: string };

describe('POST /mutate with reviews the API server sends', () => {
  const patched: { fixture: string; then: string; check: (pod: Pod) => void }[] = [
    {
      fixture: 'shared-gpu-pod', then: 'the container asks aliyun.com/gpu-mem 12 in limits and requests, routed to the cGPU pool (core_mem would add compute)',
      check: (pod) => {
        assert.deepEqual(limitsOf(pod, 'train'), {
          limits: { cpu: '4', memory: '16Gi', 'aliyun.com/gpu-mem': '12' },
          requests: { cpu: '4', memory: '16Gi', 'aliyun.com/gpu-mem': '12' },
        });
        assert.deepEqual(decisionOf(pod).pools, ['t4-shared']);
        const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
        assert.equal(terms.length, 1);
      },
    },
    {
      fixture: 'numa-pod', then: 'the pod gets whole topology GPUs, eRDMA, the cpuset annotations and the pool toleration',
      check: (pod) => {
        assert.equal(limitsOf(pod, 'pretrain')?.limits?.['aliyun.com/gpu'], '4');
        assert.equal(limitsOf(pod, 'pretrain')?.requests?.['aliyun.com/gpu'], '4');
        assert.equal(limitsOf(pod, 'pretrain')?.limits?.['aliyun/erdma'], '1');
        assert.equal(pod.metadata?.annotations?.['cpuset-scheduler'], 'required');
        assert.match(pod.metadata?.annotations?.['scheduling.alibabacloud.com/numa-topology-spec'] ?? '', /SingleNUMANode/);
        assert.ok(pod.spec.tolerations?.some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'));
        assert.equal(pod.spec.tolerations?.length, 3, 'the defaulted tolerations are kept');
        assert.deepEqual(decisionOf(pod), { ...decisionOf(pod), pools: ['a100-topology'], backend: 'ack-topology' });
      },
    },
  ];
  for (const c of patched) {
    it(`when the pod is ${c.fixture}, then ${c.then}`, async () => {
      const body = fixture(c.fixture);
      const { status, review } = await post(body);
      assert.equal(status, 200);
      assert.equal(review.apiVersion, 'admission.k8s.io/v1');
      assert.equal(review.kind, 'AdmissionReview');
      assert.equal(review.response?.uid, body.request?.uid);
      assert.equal(review.response?.allowed, true);
      assert.equal(review.response?.patchType, 'JSONPatch');
      assert.equal(review.response?.warnings, undefined);
      const pod = patchedPod(podOf(body), review);
      c.check(pod);
      const left = JSON.stringify(pod.spec).match(/gpu-admission\.io\/[a-z-]+/g);
      assert.equal(left, null, 'no generic resource is left');
    });
  }

  it('when a quantity is rounded, then the answer carries the warning, each within 120 characters', async () => {
    const body = fixture('rounded-pod');
    const { review } = await post(body);
    assert.deepEqual(review.response?.warnings, ['ask gpu-memory in whole Gi to avoid rounding: 7500Mi rounded up to 8Gi (container "notebook")']);
    assert.ok(review.response?.warnings?.every((w) => w.length <= 120));
    assert.equal(limitsOf(patchedPod(podOf(body), review), 'notebook')?.limits?.['aliyun.com/gpu-mem'], '8');
  });

  // The engine decides a demand's first pod afresh and keeps the answer from its second pod on,
  // shared (frozen) by the pods after it: every answer must be the same, and the server must never
  // change what it was given (a change to a kept answer would throw, or reach the next pod).
  it('when the same pods are created again and again (a Deployment\'s replicas), then every answer is the same as the first', async () => {
    // A policy of its own: no earlier test's pod has been kept under it.
    const { app } = testApp({ policySource: new StaticPolicySource(parsePolicyOrThrow(DEFAULT_POLICY_YAML, 'embedded')) });
    for (const name of ['shared-gpu-pod', 'rounded-pod', 'denied-pod', 'numa-pod']) {
      const body = fixture(name);
      const answers: { status: number; review: AdmissionReview }[] = [];
      for (let i = 0; i < 4; i++) answers.push(await post(body, app));
      for (const [i, answer] of answers.entries()) assert.deepEqual(answer, answers[0], `${name}, pod ${i + 1}`);
      assert.equal(answers[0]?.status, 200, name);
    }
  });

  it('when the pod asks for no GPU, then it is allowed with no patch, no patchType and no warnings', async () => {
    const body = fixture('plain-pod');
    const { status, review } = await post(body);
    assert.equal(status, 200);
    assert.deepEqual(review.response, { uid: body.request?.uid, allowed: true });
  });

  it('when no pool can serve the pod, then it is denied with 403 and a message naming each pool and why', async () => {
    const body = fixture('denied-pod');
    const { status, review } = await post(body);
    assert.equal(status, 200);
    assert.equal(review.response?.uid, body.request?.uid);
    assert.equal(review.response?.allowed, false);
    assert.equal(review.response?.status?.code, 403);
    assert.equal(review.response?.status?.reason, 'Forbidden');
    const message = review.response?.status?.message ?? '';
    assert.match(message, /container "huge" asks 1 GPU × 100Gi/);
    for (const pool of ['t4-shared', 'a10-core', 'a100-topology', 'a100-mig', 'h100']) assert.match(message, new RegExp(`pool ${pool}: card has`));
    assert.equal(review.response?.patch, undefined);
  });

  it('when the pod already carries the webhook\'s own output (reinvocation), then there is no patch', async () => {
    const body = fixture('shared-gpu-pod');
    const first = await post(body);
    const again = structuredClone(body);
    if (again.request) again.request.object = patchedPod(podOf(body), first.review);
    const { review } = await post(again);
    assert.deepEqual(review.response, { uid: body.request?.uid, allowed: true });
  });

  it('when the review is a dry run, then the answer is the same as for a real create', async () => {
    const real = await post(fixture('numa-pod'));
    const dry = fixture('numa-pod');
    if (dry.request) dry.request.dryRun = true;
    const { review } = await post(dry);
    assert.deepEqual(review, real.review);
    assert.ok(patchOf(review).length > 0);
  });
});

describe('POST /mutate with reviews the webhook leaves alone', () => {
  const untouched: { when: string; edit: (r: ReviewJson) => void }[] = [
    { when: 'the operation is UPDATE', edit: (r) => { if (r.request) { r.request.operation = 'UPDATE'; r.request.oldObject = r.request.object; } } },
    { when: 'the operation is DELETE', edit: (r) => { if (r.request) { r.request.operation = 'DELETE'; r.request.oldObject = r.request.object; delete r.request.object; } } },
    { when: 'the operation is CONNECT', edit: (r) => { if (r.request) { r.request.operation = 'CONNECT'; r.request.subResource = 'exec'; } } },
    { when: 'the review is for the pod status subresource', edit: (r) => { if (r.request) r.request.subResource = 'status'; } },
    {
      when: 'the kind is a Deployment', edit: (r) => {
        if (!r.request) return;
        r.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
        r.request.resource = { group: 'apps', version: 'v1', resource: 'deployments' };
        r.request.object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'train' }, spec: { template: {} } };
      },
    },
  ];
  for (const c of untouched) {
    it(`when ${c.when}, then it is allowed unchanged with the uid echoed`, async () => {
      const body = fixture('shared-gpu-pod');
      c.edit(body);
      const { status, review } = await post(body);
      assert.equal(status, 200);
      assert.deepEqual(review.response, { uid: body.request?.uid, allowed: true });
    });
  }
});

describe('POST /mutate with input it cannot read', () => {
  const send = (body: string, type: string | undefined) => {
    const req = request(testApp().app).post('/mutate');
    if (type !== undefined) req.set('Content-Type', type);
    return req.send(body);
  };
  const json = (edit: (r: ReviewJson) => void): string => {
    const r = fixture('shared-gpu-pod');
    edit(r);
    return JSON.stringify(r);
  };
  const uid = fixture('shared-gpu-pod').request?.uid;
  const cases: { when: string; body: string; type?: string; names: RegExp; uid?: unknown }[] = [
    { when: 'the body is not JSON', body: '{"apiVersion": admission', type: 'application/json', names: /the body is not valid JSON/ },
    { when: 'the content type is text/plain', body: json(() => {}), type: 'text/plain', names: /content-type must be application\/json, got text\/plain/ },
    { when: 'the content type is form data', body: 'a=b', type: 'application/x-www-form-urlencoded', names: /content-type must be application\/json, got application\/x-www-form-urlencoded/ },
    { when: 'the charset is not UTF', body: json(() => {}), type: 'application/json; charset=latin9', names: /unsupported charset "LATIN9"/ },
    { when: 'the apiVersion is v1beta1', body: json((r) => { r.apiVersion = 'admission.k8s.io/v1beta1'; }), type: 'application/json', names: /apiVersion must be admission\.k8s\.io\/v1/, uid },
    { when: 'the kind is wrong', body: json((r) => { r.kind = 'AdmissionRequest'; }), type: 'application/json', names: /kind must be AdmissionReview/, uid },
    { when: 'a toleration list is a string', body: json((r) => { ((r.request?.object as Pod).spec as unknown as Record<string, unknown>).tolerations = 'x'; }),
      type: 'application/json', names: /request\.object is not a Pod: spec\.tolerations must be a list/, uid },
    { when: 'the pod nests 10,000 levels deep', body: json(() => {}).replace('"containers":', `"extra":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"containers":`),
      type: 'application/json', names: /the body nests deeper than 256 levels/, uid },
    { when: 'the uid is 400 characters and the pod nests 10,000 levels deep', body: json((r) => { if (r.request) r.request.uid = 'u'.repeat(400); })
      .replace('"containers":', `"extra":${'[' .repeat(10_000)}${']'.repeat(10_000)},"containers":`), type: 'application/json', names: /the body nests deeper than 256 levels/, uid: 'u'.repeat(400) },
    { when: 'there is no request', body: json((r) => { delete r.request; }), type: 'application/json', names: /has no request object/ },
    { when: 'there is no uid', body: json((r) => { delete r.request?.uid; }), type: 'application/json', names: /request\.uid must be a non-empty string/ },
    { when: 'the body is a JSON list', body: '[]', type: 'application/json', names: /must be a JSON object/ },
    {
      when: 'the object is not a pod', body: json((r) => { if (r.request) r.request.object = { kind: 'Pod', metadata: { name: 'x' } }; }),
      type: 'application/json', names: /request\.object is not a Pod: spec is missing/, uid,
    },
    {
      when: 'the operation is unknown', body: json((r) => { if (r.request) r.request.operation = 'APPLY'; }),
      type: 'application/json', names: /request\.operation must be one of/, uid,
    },
  ];
  for (const c of cases) {
    it(`when ${c.when}, then HTTP 400 with a message that names the problem`, async () => {
      const res = await send(c.body, c.type);
      assert.equal(res.status, 400);
      const review = res.body as AdmissionReview;
      assert.equal(review.kind, 'AdmissionReview');
      assert.equal(review.response?.allowed, false);
      assert.equal(review.response?.status?.code, 400);
      assert.equal(review.response?.status?.reason, 'BadRequest');
      assert.match(review.response?.status?.message ?? '', c.names);
      assert.equal(review.response?.uid, c.uid ?? '');
    });
  }

  it('when the request has no body at all, then HTTP 400 says so', async () => {
    const res = await request(testApp().app).post('/mutate');
    assert.equal(res.status, 400);
    assert.match((res.body as AdmissionReview).response?.status?.message ?? '', /the request has no body/);
  });

  it('when the body is over the limit, then HTTP 400 names the size and the limit', async () => {
    const body = fixture('shared-gpu-pod');
    const pod = body.request?.object as Pod;
    pod.metadata = { ...pod.metadata, annotations: { padding: 'x'.repeat(8 * 1024 * 1024) } };
    const res = await request(testApp().app).post('/mutate').set('Content-Type', 'application/json').send(JSON.stringify(body));
    assert.equal(res.status, 400);
    assert.match((res.body as AdmissionReview).response?.status?.message ?? '', /the body is \d+ bytes, over the limit of 4194304 bytes \(4 MiB\)/);
  });

  it('when the body is large but within the limit, then it is decided', async () => {
    const body = fixture('shared-gpu-pod');
    const pod = body.request?.object as Pod;
    pod.metadata = { ...pod.metadata, annotations: { padding: 'x'.repeat(3 * 1024 * 1024) } };
    const { status, review } = await post(body);
    assert.equal(status, 200);
    assert.equal(review.response?.patchType, 'JSONPatch');
  });

  it('when the body is compressed in an encoding nobody supports, then HTTP 400 names the encoding', async () => {
    const res = await request(testApp().app).post('/mutate')
      .set('Content-Type', 'application/json').set('Content-Encoding', 'compress').send(JSON.stringify(fixture('plain-pod')));
    assert.equal(res.status, 400);
    assert.match((res.body as AdmissionReview).response?.status?.message ?? '', /unsupported content encoding "compress"/);
  });

  it('when the method is GET, then 404 names the route', async () => {
    const res = await request(testApp().app).get('/mutate');
    assert.equal(res.status, 404);
    assert.match((res.body as { error: string }).error, /no route for GET \/mutate/);
  });
});

describe('POST /mutate when the webhook itself cannot decide', () => {
  const noPolicy: PolicySource = {
    current: () => undefined, notReadyReason: () => 'waiting for ConfigMap gpu-admission/gpu-admission-policy',
    loadedAt: () => undefined, on: () => () => {}, start: async () => {}, stop: async () => {},
  };
  const fixed = (policy: Policy): PolicySource => ({ ...noPolicy, current: () => policy, notReadyReason: () => undefined, loadedAt: () => 0 });

  it('when no policy is in force, then the pod is refused (HTTP 200) with the reason, the uid echoed', async () => {
    const body = fixture('shared-gpu-pod');
    const { app, registry } = testApp({ policySource: noPolicy });
    const { status, review } = await post(body, app);
    assert.equal(status, 200);
    assert.equal(review.response?.uid, body.request?.uid);
    assert.equal(review.response?.allowed, false);
    assert.deepEqual(review.response?.status, {
      code: 503, reason: 'ServiceUnavailable',
      message: 'gpu-admission has no valid policy yet: waiting for ConfigMap gpu-admission/gpu-admission-policy; GPU pods are refused until it can decide',
    });
    assert.match(await registry.metrics(), /gpu_admission_reviews_total\{webhook="mutate",result="error"\} 1/, 'counted as an error, not a denial');
  });

  it('when no policy is in force and the webhook is told to answer unavailable (failurePolicy Ignore), then HTTP 503', async () => {
    const body = fixture('shared-gpu-pod');
    const { status, review } = await post(body, testApp({ policySource: noPolicy, notReadyAnswer: 'unavailable' }).app);
    assert.equal(status, 503);
    assert.equal(review.response?.uid, body.request?.uid);
    assert.equal(review.response?.status?.message, 'gpu-admission has no valid policy yet: waiting for ConfigMap gpu-admission/gpu-admission-policy');
  });

  it('when the engine throws, then HTTP 500 with the uid echoed, a message pointing at the log, and the error logged', async () => {
    const broken = { ...defaultPolicy(), pools: null } as unknown as Policy;
    const { app, lines } = testApp({ policySource: fixed(broken) });
    const body = fixture('shared-gpu-pod');
    const { status, review } = await post(body, app);
    assert.equal(status, 500);
    assert.equal(review.response?.uid, body.request?.uid);
    assert.equal(review.response?.allowed, false);
    assert.equal(review.response?.status?.code, 500);
    assert.equal(review.response?.status?.reason, 'InternalError');
    assert.match(review.response?.status?.message ?? '', new RegExp(`its log has the details under uid "${String(body.request?.uid)}"`));
    const logged = lines.find((l) => l.msg === 'internal error while deciding a review');
    assert.ok(logged, 'the error is logged');
    assert.equal(logged.uid, body.request?.uid);
    assert.ok((logged.err as { stack?: string }).stack);
  });

  const selectorPolicy = parsePolicyOrThrow(`${DEFAULT_POLICY_YAML}  - selector: {matchLabels: {team: vision}}
    allowedPools: [h100]
`);
  const labels = (known: Record<string, Record<string, string>>): NamespaceSource => ({
    labels: (name) => known[name], notReadyReason: () => undefined, start: async () => {}, stop: async () => {},
  });

  it('when the namespace is unknown and a policy rule selects namespaces by label, then the pod is refused naming the namespace', async () => {
    const { status, review } = await post(fixture('numa-pod'), testApp({ policySource: fixed(selectorPolicy), namespaceSource: labels({}) }).app);
    assert.equal(status, 200);
    assert.equal(review.response?.allowed, false);
    assert.match(review.response?.status?.message ?? '', /the labels of namespace "ml" are not known/);
  });

  it('when the namespace is unknown and no rule reads labels, then the pod is decided', async () => {
    const { status, review } = await post(fixture('numa-pod'), testApp({ namespaceSource: labels({}) }).app);
    assert.equal(status, 200);
    assert.equal(review.response?.patchType, 'JSONPatch');
  });

  it('when the namespace carries a label a rule selects, then the rule applies to the pod', async () => {
    const app = testApp({ policySource: fixed(selectorPolicy), namespaceSource: labels({ ml: { team: 'vision' } }) }).app;
    const body = fixture('numa-pod');
    const { review } = await post(body, app);
    assert.equal(review.response?.allowed, false);
    assert.match(review.response?.status?.message ?? '', /pool a100-topology: not allowed/);
  });
});
