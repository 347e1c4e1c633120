// End to end: the workload webhooks against the real API server — templates refused at
// `kubectl apply` (built-in kinds and CRDs), updates that do not touch templates never sent,
// the vocabulary refused outside opted-in namespaces, and audit mode.
// Run: npm run test:e2e -- test/e2e/workloads.e2e.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT, namespace, startEnvironment, stopAfterSuite, type Environment } from './harness/cluster.ts';
import { eventually, type Kubectl } from './harness/kubectl.ts';
import { POOL_NODES } from './harness/nodes.ts';

type Obj = Record<string, any>;
let env: Environment;
let k: Kubectl;

const IMPOSSIBLE = { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '90Gi' };
const SHARED = { 'gpu-admission.io/gpu-memory': '10Gi', 'gpu-admission.io/gpu-cores': '30' };
const template = (name: string, limits: Record<string, string>, labels: Record<string, string> = { app: name }): Obj =>
  ({ metadata: { labels }, spec: { containers: [{ name, image: 'registry.k8s.io/pause:3.10', resources: { limits } }] } });
const deployment = (name: string, ns: string, limits: Record<string, string>, replicas = 1): Obj => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name, limits) },
});
const cronJob = (name: string, ns: string, limits: Record<string, string>): Obj => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: ns },
  spec: { schedule: '0 0 1 1 *', jobTemplate: { spec: { template: { ...template(name, limits), spec: { ...template(name, limits).spec, restartPolicy: 'Never' } } } } },
});
const pytorchJob = (name: string, ns: string, worker: Record<string, string>): Obj => ({
  apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name, namespace: ns },
  spec: { pytorchReplicaSpecs: {
    Master: { replicas: 1, restartPolicy: 'OnFailure', template: template('pytorch', { 'gpu-admission.io/gpu-memory': '4Gi' }) },
    Worker: { replicas: 2, restartPolicy: 'OnFailure', template: template('pytorch', worker) },
  } },
});
const rayCluster = (name: string, ns: string, worker: Record<string, string>): Obj => ({
  apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name, namespace: ns },
  spec: { headGroupSpec: { rayStartParams: {}, template: template('ray-head', {}) },
    workerGroupSpecs: [{ groupName: 'cpu', replicas: 1, rayStartParams: {}, template: template('ray-worker', {}) },
      { groupName: 'gpu', replicas: 1, rayStartParams: {}, template: template('ray-worker', worker) }] },
});
const pod = (name: string, ns: string, limits: Record<string, string>): Obj =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: template('main', limits).spec });

/** The webhook's count of reviews for one webhook and result, from its real /metrics. */
async function reviews(webhook: string, result: string): Promise<number> {
  const { body } = await env.webhook.get('/metrics');
  const line = body.split('\n').find((l) => l.startsWith(`gpu_admission_reviews_total{webhook="${webhook}",result="${result}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
const sent = async (webhook: string): Promise<number> =>
  (await Promise.all(['unchanged', 'denied', 'audit-patched', 'audit-denied', 'invalid', 'error'].map((r) => reviews(webhook, r)))).reduce((a, b) => a + b, 0);

before(async () => {
  env = await startEnvironment();
  k = env.kubectl;
  for (const crd of ['kubeflow.org_pytorchjobs.yaml', 'ray.io_rayclusters.yaml']) await k.ok(['apply', '-f', join(ROOT, 'test/e2e/crds', crd)]);
  await k.ok(['wait', '--for=condition=Established', 'crd/pytorchjobs.kubeflow.org', 'crd/rayclusters.ray.io', '--timeout=60s']);
  await Promise.all([namespace(k, 'ml', true), namespace(k, 'elsewhere', false)]);
  const audit = await k.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'trial', labels: { 'gpu-admission.io/enabled': 'audit' } } });
  assert.equal(audit.code, 0, audit.stderr);
  await eventually('ServiceAccount default in trial', async () => ((await k.run(['get', 'sa', 'default', '-n', 'trial'])).code === 0 ? true : undefined));
  env.log('environment ready');
}, { timeout: 30 * 60_000 });

stopAfterSuite(() => env);

describe('workload templates checked at kubectl apply', () => {
  it('when an impossible Deployment is applied, then kubectl fails with the template path and every pool\'s reason, and nothing is stored', async () => {
    const r = await k.apply(deployment('too-big', 'ml', IMPOSSIBLE));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /admission webhook "workloads\.gpu-admission\.io" denied the request: spec\.template: container "too-big" asks 2 GPUs × 90Gi: pool t4-shared: 2 GPUs, a node has 1; pool a10-core: card has 24Gi;/);
    assert.notEqual((await k.run(['get', 'deployment', 'too-big', '-n', 'ml'])).code, 0);
  });

  it('when an impossible CronJob is applied, then it is refused at spec.jobTemplate.spec.template', async () => {
    const r = await k.apply(cronJob('nightly', 'ml', IMPOSSIBLE));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: spec\.jobTemplate\.spec\.template: container "nightly" asks 2 GPUs × 90Gi/);
  });

  it('when a PyTorchJob\'s Worker is impossible, then kubectl apply fails naming spec.pytorchReplicaSpecs.Worker.template', async () => {
    const r = await k.apply(pytorchJob('finetune', 'ml', IMPOSSIBLE));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: spec\.pytorchReplicaSpecs\.Worker\.template: container "pytorch" asks 2 GPUs × 90Gi/);
    const ok = await k.apply(pytorchJob('finetune', 'ml', { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '80Gi' }));
    assert.equal(ok.code, 0, ok.stderr);
    const stored = await k.json(['get', 'pytorchjob', 'finetune', '-n', 'ml']);
    assert.deepEqual(stored.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].resources.limits,
      { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '80Gi' }, 'templates are never rewritten');
    // Replica specs are a map, which CEL walks in no fixed order: a replicas change is still never sent.
    const before = await sent('validate-workloads');
    for (let i = 3; i < 13; i++) {
      await k.ok(['patch', 'pytorchjob', 'finetune', '-n', 'ml', '--type=merge', '-p', JSON.stringify({ spec: { pytorchReplicaSpecs: { Worker: { replicas: i } } } })]);
    }
    assert.equal(await sent('validate-workloads'), before);
  });

  it('when a Deployment made by a controller outside the table (a KServe InferenceService, say) is impossible, then it is still refused', async () => {
    const owner = JSON.parse(await k.ok(['create', 'configmap', 'isvc-owner', '-n', 'ml', '-o', 'json']));
    const d = deployment('isvc-predictor', 'ml', IMPOSSIBLE);
    d.metadata.ownerReferences = [{ apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', name: 'isvc', uid: owner.metadata.uid, controller: true }];
    const r = await k.apply(d);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: spec\.template: container "isvc-predictor" asks 2 GPUs × 90Gi/);
  });

  it('when a RayCluster\'s GPU worker group is impossible, then the refusal names spec.workerGroupSpecs[1].template', async () => {
    const r = await k.apply(rayCluster('rc', 'ml', IMPOSSIBLE));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: spec\.workerGroupSpecs\[1\]\.template: container "ray-worker" asks 2 GPUs × 90Gi/);
  });

  it('when a possible Deployment is applied, then it is stored as written and its pods are still rewritten and bound', async () => {
    const before = await sent('validate-workloads');
    const r = await k.apply(deployment('train', 'ml', SHARED, 2));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sent('validate-workloads'), before + 1, 'the create was sent; the ReplicaSet the Deployment makes is not');
    const stored = await k.json(['get', 'deployment', 'train', '-n', 'ml']);
    assert.deepEqual(stored.spec.template.spec.containers[0].resources.limits, SHARED);
    const pods = await eventually('2 pods of train', async () => {
      const list = await k.json<{ items: Obj[] }>(['get', 'pods', '-n', 'ml', '-l', 'app=train']);
      return list.items.length >= 2 ? list.items : undefined;
    });
    for (const p of pods) {
      assert.deepEqual(p.spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '10', 'aliyun.com/gpu-core.percentage': '30' });
      const node = await eventually(`${p.metadata.name} bound`, async () => (await k.json(['get', 'pod', p.metadata.name, '-n', 'ml'])).spec.nodeName || undefined);
      assert.ok(POOL_NODES['a10-core']!.includes(node), node);
    }
  });

  it('when an UPDATE changes only replicas, then it is not sent; when it changes the template, it is', async () => {
    const before = await sent('validate-workloads');
    await k.ok(['patch', 'deployment', 'train', '-n', 'ml', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    await k.ok(['label', 'deployment', 'train', '-n', 'ml', 'team=vision']);
    assert.equal(await sent('validate-workloads'), before, 'replicas and labels are not the webhook\'s business');
    await k.ok(['patch', 'deployment', 'train', '-n', 'ml', '--type=merge', '-p', '{"spec":{"template":{"metadata":{"labels":{"rev":"2"}}}}}']);
    assert.equal(await sent('validate-workloads'), before + 1, 'the template change was sent, the new ReplicaSet was not');
    const bad = await k.run(['patch', 'deployment', 'train', '-n', 'ml', '--type=strategic', '-p',
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'train', resources: { limits: IMPOSSIBLE } }] } } } })]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.template: container "train" asks 2 GPUs × 90Gi/);
  });

  it('when a workload asks no GPU, then it is not sent at all', async () => {
    const before = await sent('validate-workloads');
    const r = await k.apply(deployment('web', 'ml', { cpu: '100m' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sent('validate-workloads'), before);
  });
});

describe('the vocabulary outside opted-in namespaces', () => {
  it('when a pod or a Job asks the portable vocabulary in a namespace that is not opted in, then it is refused with the fix', async () => {
    const p = await k.apply(pod('lost', 'elsewhere', SHARED));
    assert.notEqual(p.code, 0);
    assert.match(p.stderr, /admission webhook "not-opted-in\.gpu-admission\.io" denied the request: namespace elsewhere is not opted in to gpu-admission: label it gpu-admission\.io\/enabled=true, or ask your platform team \(container "main" asks gpu-admission\.io\/gpu-cores, gpu-admission\.io\/gpu-memory; no node has these resources\)/);
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'lost', namespace: 'elsewhere' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits: SHARED } }] } } } };
    const j = await k.apply(job);
    assert.notEqual(j.code, 0);
    assert.match(j.stderr, /namespace elsewhere is not opted in to gpu-admission: .*\(spec\.template: container "main" asks/);
  });

  it('when a pod there asks a native resource, then it is stored untouched', async () => {
    const r = await k.apply(pod('native', 'elsewhere', { 'nvidia.com/gpu': '1' }));
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('audit mode (gpu-admission.io/enabled=audit)', () => {
  it('when a GPU pod is created in an audit namespace, then it is stored untouched and kubectl shows what would have happened', async () => {
    const before = await reviews('audit', 'audit-patched');
    const r = await k.apply(pod('tried', 'trial', SHARED));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: would route to a10-core as aliyun\.com\/gpu-mem: 10, aliyun\.com\/gpu-core\.percentage: 30/);
    const stored = await k.json(['get', 'pod', 'tried', '-n', 'trial']);
    assert.deepEqual(stored.spec.containers[0].resources.limits, SHARED);
    assert.equal(stored.metadata.annotations?.['gpu-admission.io/decision'], undefined);
    assert.equal(await reviews('audit', 'audit-patched'), before + 1);
  });

  it('when an impossible pod and Deployment are created there, then both are stored with "would refuse" warnings, counted audit-denied', async () => {
    const before = await reviews('audit', 'audit-denied');
    const p = await k.apply(pod('too-big', 'trial', IMPOSSIBLE));
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /Warning: would refuse: container "main" asks 2 GPUs × 90Gi/);
    const d = await k.apply(deployment('too-big', 'trial', IMPOSSIBLE));
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /Warning: spec\.template: would refuse: container "too-big" asks 2 GPUs × 90Gi/);
    assert.ok(await reviews('audit', 'audit-denied') >= before + 2);
    const metrics = (await env.webhook.get('/metrics')).body;
    assert.match(metrics, /gpu_admission_reviews_total\{webhook="audit",result="audit-denied"\} \d+/);
  });

});

describe('pools without a Ready node', () => {
  it('when every node of the pool a pod is routed to is NotReady, then the pod is admitted and kubectl shows why it will wait', async () => {
    const ready = (status: 'True' | 'False'): Promise<string> => k.ok(['patch', 'node', 't4-1', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { conditions: [{ type: 'Ready', status, reason: 'e2e', message: 'set by the e2e test' }] } })]);
    await ready('False');
    try {
      const t4 = (name: string): Obj => ({ ...pod(name, 'ml', { 'gpu-admission.io/gpu-memory': '4Gi' }),
        metadata: { name, namespace: 'ml', annotations: { 'gpu-admission.io/gpu-model': 'Tesla-T4' } } });
      // The node watch sees the change within moments; each try is a server-side dry run.
      const stderr = await eventually('the no-Ready-node warning', async () => {
        const r = await k.run(['create', '--dry-run=server', '-f', '-'], JSON.stringify(t4('probe')));
        return r.stderr.includes('no Ready node') ? r.stderr : undefined;
      }, 20_000);
      assert.match(stderr, /Warning: pool t4-shared has no Ready node now \(1 in all\): the pod waits until one is Ready or added/);
      const r = await k.apply(t4('waits'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Warning: pool t4-shared has no Ready node now/);
      const metrics = (await env.webhook.get('/metrics')).body;
      assert.match(metrics, /gpu_admission_pool_nodes\{pool="t4-shared",ready="false"\} 1/);
      assert.match(metrics, /gpu_admission_pool_nodes\{pool="a10-core",ready="true"\} 1/);
    } finally {
      await ready('True');
    }
  });
});
