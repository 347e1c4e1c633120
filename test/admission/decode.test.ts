import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConfigMap, decodePod, decodeReview, isConfigMapReview, isPodReview } from '../../src/admission/decode.ts';
import { ReviewError, type ReviewErrorCode } from '../../src/admission/errors.ts';
import { fixture, type ReviewJson } from '../server/support.ts';

const UID = '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01';

function broken(edit: (r: ReviewJson) => unknown): unknown {
  const review = fixture('shared-gpu-pod');
  const replaced = edit(review);
  return replaced === undefined ? review : replaced;
}

describe('decodeReview', () => {
  const cases: { when: string; body: unknown; code: ReviewErrorCode; names: RegExp; uid?: string }[] = [
    { when: 'the body is an array', body: [], code: 'GA_REVIEW_NOT_AN_OBJECT', names: /JSON object/ },
    { when: 'the body is a string', body: 'AdmissionReview', code: 'GA_REVIEW_NOT_AN_OBJECT', names: /JSON object/ },
    { when: 'the body is null', body: null, code: 'GA_REVIEW_NOT_AN_OBJECT', names: /JSON object/ },
    {
      when: 'apiVersion is v1beta1', body: broken((r) => { r.apiVersion = 'admission.k8s.io/v1beta1'; }),
      code: 'GA_REVIEW_API_VERSION', names: /apiVersion must be admission\.k8s\.io\/v1, got "admission\.k8s\.io\/v1beta1"/, uid: UID,
    },
    { when: 'apiVersion is missing', body: broken((r) => { delete r.apiVersion; }), code: 'GA_REVIEW_API_VERSION', names: /got nothing/, uid: UID },
    { when: 'kind is not AdmissionReview', body: broken((r) => { r.kind = 'Pod'; }), code: 'GA_REVIEW_KIND', names: /kind must be AdmissionReview, got "Pod"/, uid: UID },
    {
      when: 'request.kind nests 10,000 levels deep', body: broken((r) => {
        let deep: unknown = 'Pod';
        for (let i = 0; i < 10_000; i += 1) deep = { kind: deep };
        if (r.request) r.request.kind = deep;
      }),
      code: 'GA_REVIEW_MALFORMED', names: /request\.kind must be a \{group, version, kind\} object, got a value nested too deep to show/, uid: UID,
    },
    { when: 'there is no request', body: broken((r) => { delete r.request; }), code: 'GA_REVIEW_NO_REQUEST', names: /no request/ },
    { when: 'request is a list', body: broken((r) => { (r as { request: unknown }).request = []; }), code: 'GA_REVIEW_NO_REQUEST', names: /no request/ },
    { when: 'the uid is missing', body: broken((r) => { delete r.request?.uid; }), code: 'GA_REVIEW_NO_UID', names: /request\.uid/ },
    { when: 'the uid is empty', body: broken((r) => { if (r.request) r.request.uid = ''; }), code: 'GA_REVIEW_NO_UID', names: /request\.uid/ },
    { when: 'the uid is a number', body: broken((r) => { if (r.request) r.request.uid = 7; }), code: 'GA_REVIEW_NO_UID', names: /request\.uid/ },
    {
      when: 'request.kind lacks its version', body: broken((r) => { if (r.request) r.request.kind = { group: '', kind: 'Pod' }; }),
      code: 'GA_REVIEW_MALFORMED', names: /request\.kind must be/, uid: UID,
    },
    {
      when: 'request.resource is missing', body: broken((r) => { delete r.request?.resource; }),
      code: 'GA_REVIEW_MALFORMED', names: /request\.resource must be/, uid: UID,
    },
    {
      when: 'the operation is unknown', body: broken((r) => { if (r.request) r.request.operation = 'PATCH'; }),
      code: 'GA_REVIEW_MALFORMED', names: /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/, uid: UID,
    },
    {
      when: 'dryRun is a string', body: broken((r) => { if (r.request) r.request.dryRun = 'true'; }),
      code: 'GA_REVIEW_MALFORMED', names: /request\.dryRun must be a boolean/, uid: UID,
    },
    {
      when: 'the namespace is not a string', body: broken((r) => { if (r.request) r.request.namespace = 3; }),
      code: 'GA_REVIEW_MALFORMED', names: /request\.namespace must be a string/, uid: UID,
    },
  ];
  for (const c of cases) {
    it(`when ${c.when}, then it throws ${c.code} naming the problem`, () => {
      assert.throws(() => decodeReview(c.body), (err: unknown) => {
        assert.ok(err instanceof ReviewError);
        assert.equal(err.code, c.code);
        assert.match(err.message, c.names);
        assert.equal(err.uid, c.uid);
        return true;
      });
    });
  }

  it('when the review is what the API server sends, then the request comes back with its fields', () => {
    const request = decodeReview(fixture('shared-gpu-pod'));
    assert.equal(request.uid, UID);
    assert.equal(request.operation, 'CREATE');
    assert.equal(request.namespace, 'ml');
    assert.deepEqual(request.kind, { group: '', version: 'v1', kind: 'Pod' });
    assert.equal(request.userInfo.username, 'system:serviceaccount:kube-system:replicaset-controller');
    assert.equal(isPodReview(request), true);
    assert.equal(isConfigMapReview(request), false);
  });

  it('when userInfo is absent, then the request has an empty userInfo', () => {
    const request = decodeReview(broken((r) => { delete r.request?.userInfo; }));
    assert.deepEqual(request.userInfo, {});
  });

  it('when the review is about the pod status subresource, then it is not a pod review', () => {
    const request = decodeReview(broken((r) => { if (r.request) r.request.subResource = 'status'; }));
    assert.equal(isPodReview(request), false);
  });
});

describe('decodePod', () => {
  const cases: { when: string; edit: (pod: Record<string, unknown> & { spec?: Record<string, unknown>; metadata?: Record<string, unknown> }) => unknown; names: RegExp }[] = [
    { when: 'the object is missing', edit: () => null, names: /it is null/ },
    { when: 'the object is a Deployment', edit: (p) => ({ ...p, kind: 'Deployment' }), names: /its kind is "Deployment"/ },
    { when: 'the spec is missing', edit: (p) => { delete p.spec; }, names: /spec is missing/ },
    { when: 'containers is not a list', edit: (p) => { if (p.spec) p.spec.containers = {}; }, names: /spec\.containers must be a list/ },
    { when: 'tolerations is a string', edit: (p) => { if (p.spec) p.spec.tolerations = 'x'; }, names: /spec\.tolerations must be a list/ },
    { when: 'nodeSelectorTerms is a string', edit: (p) => {
      if (p.spec) p.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: 'x' } } };
    }, names: /spec\.affinity\.nodeAffinity\.requiredDuringSchedulingIgnoredDuringExecution\.nodeSelectorTerms must be a list/ },
    { when: 'a match expression has no operator', edit: (p) => {
      if (p.spec) p.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k' }] }] } } };
    }, names: /nodeSelectorTerms\[0\]\.matchExpressions\[0\]\.operator is missing/ },
    { when: 'the nodeSelector maps to a number', edit: (p) => { if (p.spec) p.spec.nodeSelector = { zone: 1 }; }, names: /spec\.nodeSelector\.zone must be a string/ },
    { when: 'a container has no name', edit: (p) => { if (p.spec) p.spec.containers = [{ image: 'x' }]; }, names: /spec\.containers\[0\]\.name is missing/ },
    { when: 'initContainers is not a list', edit: (p) => { if (p.spec) p.spec.initContainers = 'x'; }, names: /spec\.initContainers must be a list/ },
    {
      when: 'a limit is an object', edit: (p) => { if (p.spec) p.spec.containers = [{ name: 'c', resources: { limits: { cpu: {} } } }]; },
      names: /spec\.containers\[0\]\.resources\.limits\.cpu must be a string or a number/,
    },
    { when: 'an annotation is a number', edit: (p) => { if (p.metadata) p.metadata.annotations = { a: 1 }; }, names: /metadata\.annotations\.a must be a string/ },
  ];
  for (const c of cases) {
    it(`when ${c.when}, then it throws GA_REVIEW_NOT_A_POD with the uid`, () => {
      const review = fixture('shared-gpu-pod');
      const request = decodeReview(review);
      const pod = request.object as Record<string, unknown>;
      const replaced = c.edit(pod);
      request.object = replaced === undefined ? pod : replaced;
      assert.throws(() => decodePod(request), (err: unknown) => {
        assert.ok(err instanceof ReviewError);
        assert.equal(err.code, 'GA_REVIEW_NOT_A_POD');
        assert.match(err.message, /^request\.object is not a Pod: /);
        assert.match(err.message, c.names);
        assert.equal(err.uid, UID);
        return true;
      });
    });
  }

  it('when the object is a pod, then it is returned as is', () => {
    const request = decodeReview(fixture('numa-pod'));
    assert.equal(decodePod(request), request.object);
  });
});

describe('decodeConfigMap', () => {
  it('when data maps a key to a number, then it throws GA_REVIEW_NOT_A_CONFIGMAP', () => {
    const request = decodeReview(fixture('policy-configmap-create'));
    (request.object as { data: unknown }).data = { 'policy.yaml': 3 };
    assert.throws(() => decodeConfigMap(request), { code: 'GA_REVIEW_NOT_A_CONFIGMAP', message: /data must map keys to strings/ });
  });

  it('when the review is about the policy ConfigMap, then its data is read', () => {
    const request = decodeReview(fixture('policy-configmap-create'));
    assert.equal(isConfigMapReview(request), true);
    assert.match(decodeConfigMap(request).data?.['policy.yaml'] ?? '', /kind: GpuAdmissionPolicy/);
  });
});
