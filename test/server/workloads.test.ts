// POST /validate-workloads, /audit and /validate-not-opted-in, through the real app (supertest),
// with the embedded default policy (the design example).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import type { PolicySource } from '../../src/policy/source.ts';
import { testApp } from './support.ts';

type Obj = Record<string, any>;
const container = (name: string, limits: Record<string, string>): Obj => ({ name, image: 'x', resources: { limits } });
const template = (...containers: Obj[]): Obj => ({ metadata: { labels: { app: 'x' } }, spec: { containers } });
const deployment = (tpl: Obj, replicas = 1): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'train', namespace: 'ml' }, spec: { replicas, template: tpl } });
const pytorchJob = (worker: Obj): Obj => ({
  apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name: 'pt', namespace: 'ml' },
  spec: { pytorchReplicaSpecs: { Master: { replicas: 1, template: template(container('pytorch', { 'gpu-admission.io/gpu-memory': '12Gi' })) }, Worker: { replicas: 2, template: worker } } },
});
const pod = (limits: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ml' }, spec: { containers: [container('main', limits)] } });

const GROUPS: Record<string, [string, string]> = {
  Deployment: ['apps', 'deployments'], Job: ['batch', 'jobs'], PyTorchJob: ['kubeflow.org', 'pytorchjobs'], Pod: ['', 'pods'], CronJob: ['batch', 'cronjobs'],
};
function review(object: Obj, operation = 'CREATE', oldObject?: Obj): Obj {
  const [group, resource] = GROUPS[object.kind]!;
  const version = object.apiVersion.split('/').at(-1);
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'u-1', kind: { group, version, kind: object.kind }, resource: { group, version, resource }, operation,
      namespace: 'ml', name: object.metadata.name, object, ...(oldObject ? { oldObject } : {}), userInfo: { username: 'alice' },
    },
  };
}
async function post(path: string, body: Obj, app = testApp().app): Promise<NonNullable<AdmissionReview['response']>> {
  const res = await request(app).post(path).send(body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as AdmissionReview).response!;
}

const noPolicy: PolicySource = {
  current: () => undefined, notReadyReason: () => 'waiting for ConfigMap gpu-admission/gpu-admission-policy',
  loadedAt: () => undefined, on: () => () => {}, start: async () => {}, stop: async () => {},
};
const IMPOSSIBLE = { 'gpu-admission.io/gpu-memory': '200Gi' };
const T4 = { 'gpu-admission.io/gpu-memory': '12Gi' };

describe('POST /validate-workloads', () => {
  it('when a Deployment asks what no pool can serve, then it is refused with the template path in front of the engine\'s reasons', async () => {
    const r = await post('/validate-workloads', review(deployment(template(container('train', IMPOSSIBLE)))));
    assert.equal(r.allowed, false);
    assert.equal(r.status?.code, 403);
    assert.match(r.status?.message ?? '', /^spec\.template: container "train" asks 1 GPU × 200Gi: pool t4-shared: card has 15Gi; /);
  });

  it('when a Deployment can be served, then it is allowed and never patched', async () => {
    const r = await post('/validate-workloads', review(deployment(template(container('train', T4)))));
    assert.equal(r.allowed, true);
    assert.equal(r.patch, undefined);
    assert.equal(r.patchType, undefined);
  });

  it('when a PyTorchJob\'s Worker is impossible, then the refusal names spec.pytorchReplicaSpecs.Worker.template and not the Master', async () => {
    const r = await post('/validate-workloads', review(pytorchJob(template(container('pytorch', { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '90Gi' })))));
    assert.equal(r.allowed, false);
    assert.match(r.status?.message ?? '', /^spec\.pytorchReplicaSpecs\.Worker\.template: container "pytorch" asks 2 GPUs × 90Gi: /);
    assert.doesNotMatch(r.status?.message ?? '', /Master/);
  });

  it('when an UPDATE leaves the templates as they were, then nothing is decided again (even a template that would now be refused)', async () => {
    const old = deployment(template(container('train', IMPOSSIBLE)), 1);
    const r = await post('/validate-workloads', review(deployment(template(container('train', IMPOSSIBLE)), 5), 'UPDATE', old));
    assert.equal(r.allowed, true);
    const changed = await post('/validate-workloads', review(deployment(template(container('train', IMPOSSIBLE)), 5), 'UPDATE', deployment(template(container('train', T4)))));
    assert.equal(changed.allowed, false);
  });

  it('when the engine warns about a template, then the warning carries the template path', async () => {
    const r = await post('/validate-workloads', review(deployment(template(container('train', { 'gpu-admission.io/gpu-memory': '11.5Gi' })))));
    assert.equal(r.allowed, true);
    assert.ok((r.warnings ?? []).length > 0, JSON.stringify(r));
    for (const w of r.warnings ?? []) assert.match(w, /^spec\.template: /);
  });

  it('when the webhook has no policy, then the workload is allowed with a warning that it was not checked (the pod webhook still is)', async () => {
    const { app } = testApp({ policySource: noPolicy });
    const r = await post('/validate-workloads', review(deployment(template(container('train', IMPOSSIBLE)))), app);
    assert.equal(r.allowed, true);
    assert.match(r.warnings?.[0] ?? '', /did not check this object: gpu-admission has no valid policy yet/);
  });

  it('when a kind outside the table or a Pod is sent, then it is allowed untouched', async () => {
    const r = await post('/validate-workloads', review(pod(IMPOSSIBLE)));
    assert.equal(r.allowed, true);
    assert.equal(r.warnings, undefined);
  });
});

describe('POST /audit', () => {
  it('when a pod would be routed, then it is allowed untouched with the route as a warning, counted audit-patched', async () => {
    const { app, registry, lines } = testApp();
    const r = await post('/audit', review(pod(T4)), app);
    assert.equal(r.allowed, true);
    assert.equal(r.patch, undefined);
    assert.deepEqual(r.warnings, ['would route to t4-shared as aliyun.com/gpu-mem: 12',
      'stays Pending here: no node has gpu-admission.io/* (label the namespace gpu-admission.io/enabled=true to translate)']);
    assert.match(await registry.metrics(), /gpu_admission_reviews_total\{webhook="audit",result="audit-patched"\} 1/);
    assert.ok(lines.some((l) => Array.isArray(l.audit) && l.audit[0] === 'would route to t4-shared as aliyun.com/gpu-mem: 12'));
  });

  it('when a workload would be refused, then it is allowed with "would refuse" and the path, counted audit-denied', async () => {
    const { app, registry } = testApp();
    const r = await post('/audit', review(pytorchJob(template(container('pytorch', IMPOSSIBLE)))), app);
    assert.equal(r.allowed, true);
    const warnings = r.warnings ?? [];
    assert.equal(warnings[0], 'spec.pytorchReplicaSpecs.Master.template: would route to t4-shared as aliyun.com/gpu-mem: 12');
    const refusal = warnings.filter((w) => w.startsWith('spec.pytorchReplicaSpecs.Worker.template: '));
    assert.equal(refusal[0], 'spec.pytorchReplicaSpecs.Worker.template: would refuse: container "pytorch" asks 1 GPU × 200Gi:');
    assert.equal(refusal[1], 'spec.pytorchReplicaSpecs.Worker.template:   pool t4-shared: card has 15Gi');
    assert.ok(refusal.some((w) => w === 'spec.pytorchReplicaSpecs.Worker.template:   pool h100: card has 80Gi'), refusal.join('\n'));
    for (const w of warnings) assert.ok(w.length <= 120, `not cut: ${w}`);
    assert.match(await registry.metrics(), /gpu_admission_reviews_total\{webhook="audit",result="audit-denied"\} 1/);
  });
});

describe('POST /audit, a reason that holds "; "', () => {
  it('when a pool\'s reason has a semicolon of its own (cannot limit compute; …), then it stays on its pool\'s line', async () => {
    const p = pod({ 'gpu-admission.io/gpu-memory': '10Gi', 'gpu-admission.io/gpu-cores': '30' });
    p.metadata.annotations = { 'gpu-admission.io/pools': 't4-shared,h100' };
    const r = await post('/audit', review(p));
    assert.deepEqual(r.warnings?.slice(0, 3), [
      'would refuse: container "main" asks 1 GPU × 10Gi + 30% compute:',
      '  pool t4-shared: cannot limit compute; gpu-cores needs ack-core-mem, MIG or HAMi',
      '  pool a10-core: not in gpu-admission.io/pools',
    ]);
    assert.ok(r.warnings?.includes('  pool h100: takes whole GPUs only; a share of a card needs a sharing backend'), r.warnings?.join('\n'));
  });
});

describe('POST /audit, several containers and native requests', () => {
  it('when two containers would be rewritten, then each gets its own warning line, none cut', async () => {
    const p = pod(T4);
    p.spec.containers.push(container('sidecar', { 'gpu-admission.io/gpu-memory': '2Gi' }));
    const r = await post('/audit', review(p));
    // Two GPU app containers: ACK's shared pools serve one per pod (#21), so the A100 MIG pool takes both.
    assert.deepEqual(r.warnings?.slice(0, 3), ['would route to a100-mig:', '  container main: nvidia.com/mig-2g.20gb: 1', '  container sidecar: nvidia.com/mig-1g.10gb: 1']);
  });

  it('when a pod asks natively, then the audit says where it would go and nothing about staying Pending', async () => {
    const r = await post('/audit', review(pod({ 'nvidia.com/gpu': '1' })));
    assert.equal(r.allowed, true);
    assert.ok((r.warnings ?? []).every((w) => !w.includes('Pending')), JSON.stringify(r.warnings));
  });
});

describe('POST /audit, long template paths', () => {
  it('when a warning would pass 120 characters behind the template\'s path, then its head and its text are two lines, each whole', async () => {
    const worker = template(container('pytorch-worker-with-a-long-name', { 'gpu-admission.io/gpu-memory': '10Gi', 'gpu-admission.io/gpu-cores': '33' }));
    const r = await post('/audit', review(pytorchJob(worker)));
    const lines = r.warnings ?? [];
    for (const w of lines) assert.ok(w.length <= 120 && !w.endsWith('…'), `whole: ${w}`);
    const at = lines.indexOf('spec.pytorchReplicaSpecs.Worker.template: would route to a10-core');
    assert.ok(at >= 0, lines.join('\n'));
    assert.equal(lines[at + 1], '  as aliyun.com/gpu-mem: 10, aliyun.com/gpu-core.percentage: 35');
    const warn = lines.indexOf('spec.pytorchReplicaSpecs.Worker.template: would warn:');
    assert.equal(lines[warn + 1], '  ask gpu-cores in multiples of 5 to avoid rounding: 33 rounded up to 35 (container "pytorch-worker-with-a-long-name")');
    assert.ok(lines.includes('  no node has gpu-admission.io/* (label the namespace gpu-admission.io/enabled=true to translate)'), lines.join('\n'));
  });
});

describe('POST /validate-workloads, updates that move templates', () => {
  const job = (roles: Record<string, Obj>): Obj => ({ apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name: 'pt', namespace: 'ml' },
    spec: { pytorchReplicaSpecs: roles } });
  it('when an UPDATE only reorders roles or adds an empty template, then an impossible stored template is not decided again', async () => {
    const bad = { replicas: 2, template: template(container('w', IMPOSSIBLE)) };
    const old = job({ Worker: bad });
    const moved = job({ Extra: { replicas: 1, template: {} }, Worker: { ...bad, replicas: 5 } });
    const r = await post('/validate-workloads', review(moved, 'UPDATE', old));
    assert.equal(r.allowed, true, JSON.stringify(r));
  });

  it('when a template has no spec at all, then it is skipped and the other templates are still decided', async () => {
    const r = await post('/validate-workloads', review(job({ Empty: { template: {} }, Worker: { template: template(container('w', IMPOSSIBLE)) } })));
    assert.equal(r.allowed, false);
    assert.match(r.status?.message ?? '', /^spec\.pytorchReplicaSpecs\.Worker\.template: /);
  });
});

describe('POST /validate-not-opted-in', () => {
  it('when a pod asks the portable vocabulary outside opted-in namespaces, then it is refused with the fix', async () => {
    const r = await post('/validate-not-opted-in', review(pod(T4)));
    assert.equal(r.allowed, false);
    assert.equal(r.status?.message, 'namespace ml is not opted in to gpu-admission: label it gpu-admission.io/enabled=true, or ask your '
      + 'platform team (container "main" asks gpu-admission.io/gpu-memory; no node has these resources)');
  });

  it('when a workload template asks it, then the refusal names the template; native requests pass', async () => {
    const r = await post('/validate-not-opted-in', review(deployment(template(container('train', T4)))));
    assert.match(r.status?.message ?? '', /\(spec\.template: container "train" asks gpu-admission\.io\/gpu-memory; /);
    const native = await post('/validate-not-opted-in', review(pod({ 'nvidia.com/gpu': '1' })));
    assert.equal(native.allowed, true);
  });

  it('when the webhook has no policy, then it still refuses: it needs none', async () => {
    const { app } = testApp({ policySource: noPolicy });
    const r = await post('/validate-not-opted-in', review(pod(T4)), app);
    assert.equal(r.allowed, false);
  });
});

describe('POST /validate-workloads on Jobs Kueue queues', () => {
  const queued = (tpl: Obj, suspend = true): Obj => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'q', namespace: 'ml', labels: { 'kueue.x-k8s.io/queue-name': 'lq' } },
    spec: { suspend, template: tpl },
  });
  const T4_FLAVOR = { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' };
  // 40Gi: the route without a flavor would warn of a MIG profile (3g.40gb holds 37.3Gi, so 7g.80gb is given).
  const MIG_WARNED = { 'gpu-admission.io/gpu-memory': '40Gi', 'gpu-admission.io/gpu': '1' };

  it('when a queued Job is created, then the warning says its pool follows Kueue\'s flavor, not what a route without one would do', async () => {
    const r = await post('/validate-workloads', review(queued(template(container('main', MIG_WARNED)))));
    assert.equal(r.allowed, true);
    assert.deepEqual(r.warnings?.length, 1);
    assert.match(r.warnings?.[0] ?? '', /^spec\.template: queued in Kueue \(lq\): its pool follows the flavor Kueue admits it to, of /);
    assert.ok(!(r.warnings?.[0] ?? '').includes('3g.40gb'));
    const plain = await post('/validate-workloads', review(deployment(template(container('main', MIG_WARNED)))));
    assert.ok((plain.warnings ?? []).some((w) => w.includes('3g.40gb')), 'without Kueue, the route\'s own warning');
  });

  it('when Kueue admits a queued Job to a flavor whose labels leave no pool for it, then the unsuspend is let through with a warning (its pods are refused with the reason)', async () => {
    const compute = template(container('main', { 'gpu-admission.io/gpu-memory': '8Gi', 'gpu-admission.io/gpu-cores': '30' }));
    const admitted = queued({ ...compute, spec: { ...compute.spec, nodeSelector: T4_FLAVOR } }, false);
    const r = await post('/validate-workloads', review(admitted, 'UPDATE', queued(compute)));
    assert.equal(r.allowed, true);
    assert.match(r.warnings?.at(-1) ?? '', /^spec\.template: no pool serves this template on Kueue's flavor: its pods will be refused/);
    const unqueued = { ...admitted, metadata: { name: 'q', namespace: 'ml' } };
    const refused = await post('/validate-workloads', review(unqueued, 'UPDATE', { ...queued(compute), metadata: { name: 'q', namespace: 'ml' } }));
    assert.equal(refused.allowed, false, 'a Job no queue admits is still refused');
  });

  it('when a queued Job no pool can ever serve is created, then it is still refused at once', async () => {
    const r = await post('/validate-workloads', review(queued(template(container('main', IMPOSSIBLE)))));
    assert.equal(r.allowed, false);
  });
});
