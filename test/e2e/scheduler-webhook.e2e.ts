// End to end: the webhook in front of the real API server, with the pools of the Volcano and
// Koordinator example policies in force. Pods created in an opted-in namespace come back from the
// API server as Volcano's and koord-scheduler's pods — the API server accepts every field written
// (integer extended resources, requests = limits, labels, annotations, schedulerName) — and a pod
// those schedulers cannot run is refused at creation with the reason. Neither scheduler runs here
// (they need their own controllers and device plugins), so the pods stay Pending: what is checked
// is the pod each scheduler would receive.
// Run: node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 test/e2e/scheduler-webhook.e2e.ts
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ROOT, namespace, startEnvironment, stopAfterSuite, type Environment } from './harness/cluster.ts';
import { eventually, type Kubectl } from './harness/kubectl.ts';

type Obj = Record<string, any>;
let env: Environment;
let k: Kubectl;

stopAfterSuite(() => env);

async function servedRevision(): Promise<string | undefined> {
  const { body } = await env.webhook.get('/metrics');
  return /gpu_admission_policy_info\{revision="([^"]+)"\} 1/.exec(body)?.[1];
}

const pod = (name: string, ns: string, limits: Record<string, string>, annotations: Record<string, string> = {}, spec: Obj = {}): Obj => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, annotations },
  spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits } }], ...spec },
});

before(async () => {
  env = await startEnvironment({ name: 'scheduler-webhook' });
  k = env.kubectl;
  // The example policies' pools and namespace rules, in one policy.
  const docs = await Promise.all(['volcano', 'koordinator'].map(async (n) => parse(await readFile(join(ROOT, `examples/policies/${n}.yaml`), 'utf8')) as Obj));
  const policy = { apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy',
    pools: docs.flatMap((d) => d.pools), namespaces: docs.flatMap((d) => d.namespaces) };
  const file = join(env.workDir, 'schedulers-policy.yaml');
  await writeFile(file, stringify(policy));
  const before = await servedRevision();
  const cm = await k.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${file}`, '--dry-run=client', '-o', 'yaml']);
  await k.ok(['apply', '-f', '-'], cm);
  await eventually('the webhook serving the Volcano/Koordinator policy', async () => {
    const now = await servedRevision();
    return now !== undefined && now !== before ? now : undefined;
  });
  for (const ns of ['training', 'llm', 'inference']) await namespace(k, ns, true);
}, { timeout: 30 * 60_000 });

describe('pods for Volcano, through the real API server', () => {
  it('when a gang member asks 2 GPUs × 12Gi + 30%, then the stored pod asks Volcano\'s vGPUs of scheduler volcano, with its mode, card type and own PodGroup', async () => {
    const r = await k.apply(pod('gang-0', 'training', { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '12Gi', 'gpu-admission.io/gpu-cores': '30' },
      { 'scheduling.k8s.io/group-name': 'job-7', 'scheduling.volcano.sh/queue-name': 'research' }));
    assert.equal(r.code, 0, r.stderr);
    const p = await k.json(['get', 'pod', 'gang-0', '-n', 'training']);
    const want = { 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '12288', 'volcano.sh/vgpu-cores': '30' };
    assert.deepEqual(p.spec.containers[0].resources, { limits: want, requests: want });
    assert.equal(p.spec.schedulerName, 'volcano');
    assert.equal(p.metadata.annotations['volcano.sh/vgpu-mode'], 'hami-core');
    assert.equal(p.metadata.annotations['nvidia.com/use-gputype'], 'L40S');
    assert.equal(p.metadata.annotations['scheduling.k8s.io/group-name'], 'job-7');
    assert.equal(p.metadata.annotations['scheduling.volcano.sh/queue-name'], 'research');
    assert.deepEqual(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      [{ matchExpressions: [{ key: 'volcano.sh/nodegroup-name', operator: 'In', values: ['l40s'] }] }]);
  });

  it('when a pod asks a vGPU in an init container, then the API server refuses it with Volcano\'s reason', async () => {
    const r = await k.apply(pod('warm', 'training', { cpu: '1' }, {}, {
      initContainers: [{ name: 'init', image: 'registry.k8s.io/pause:3.10', resources: { limits: { 'gpu-admission.io/gpu': '1' } } }] }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pool l40s-vgpu: Volcano's vGPU reads the GPUs of app containers only/);
  });

  it('when a native vgpu-memory-percentage is asked, then it is refused: no node advertises it', async () => {
    const r = await k.apply(pod('pct', 'training', { 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory-percentage': '50' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no node advertises volcano\.sh\/vgpu-memory-percentage/);
  });
});

describe('pods for Koordinator, through the real API server', () => {
  it('when an LLM pod asks 4 GPUs on one NUMA node with RDMA, then the stored pod carries Koordinator\'s totals, NUMA spec and joint allocation for koord-scheduler', async () => {
    const r = await k.apply(pod('llm-0', 'llm', { 'gpu-admission.io/gpu': '4', cpu: '48' }, { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/rdma': 'true' }));
    assert.equal(r.code, 0, r.stderr);
    const p = await k.json(['get', 'pod', 'llm-0', '-n', 'llm']);
    const want = { cpu: '48', 'koordinator.sh/gpu.shared': '4', 'koordinator.sh/gpu-memory-ratio': '400', 'koordinator.sh/gpu-core': '400', 'koordinator.sh/rdma': '1' };
    assert.deepEqual(p.spec.containers[0].resources, { limits: want, requests: want });
    assert.equal(p.spec.schedulerName, 'koord-scheduler');
    assert.equal(p.metadata.annotations['scheduling.koordinator.sh/numa-topology-spec'], '{"numaTopologyPolicy":"SingleNUMANode"}');
    assert.equal(p.metadata.annotations['scheduling.koordinator.sh/device-joint-allocate'], '{"deviceTypes":["gpu","rdma"]}');
    assert.ok(p.spec.tolerations.some((t: Obj) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists' && t.effect === 'NoSchedule'));
  });

  it('when an inference share is created, then the stored pod asks bytes of memory and compute on HAMi-core nodes and carries koordlet\'s label', async () => {
    const r = await k.apply(pod('infer-0', 'inference', { 'gpu-admission.io/gpu-memory': '6Gi', 'gpu-admission.io/gpu-cores': '25' }));
    assert.equal(r.code, 0, r.stderr);
    const p = await k.json(['get', 'pod', 'infer-0', '-n', 'inference']);
    assert.deepEqual(p.spec.containers[0].resources.limits, { 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': String(6 * 2 ** 30), 'koordinator.sh/gpu-core': '25' });
    assert.equal(p.metadata.labels['koordinator.sh/gpu-isolation-provider'], 'HAMi-core');
    assert.deepEqual(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions.map((e: Obj) => e.key),
      ['koordinator.sh/gpu-isolation-provider', 'node.koordinator.sh/gpu-model', 'node.koordinator.sh/gpu-vendor']);
  });

  it('when a native gpu-core is not a multiple of gpu.shared, then the API server refuses it with koord-scheduler\'s rule', async () => {
    const r = await k.apply(pod('bad', 'llm', { 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': '8Gi', 'koordinator.sh/gpu-core': '25' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /must be a multiple of koordinator\.sh\/gpu\.shared 2/);
  });
});
