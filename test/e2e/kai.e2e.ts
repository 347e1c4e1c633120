// End to end: backend kai on the real API server. The webhook rewrites a generic share into KAI's
// gpu-fraction annotations and schedulerName; a KAI-like mutating webhook (a small HTTPS server
// registered as KAI's operator registers its own: a match condition on schedulerName,
// reinvocation IfNeeded) shows which order the API server really calls them in — by configuration
// name — and `policy check --cluster` reports the order that makes KAI's webhook miss our pods.
// KAI itself does not run. Run: node --test --test-concurrency=1 --test-timeout=900000 test/e2e/kai.e2e.ts
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, namespace, startEnvironment, stopAfterSuite, type Environment } from './harness/cluster.ts';
import { eventually, runProcess, type Kubectl } from './harness/kubectl.ts';
import { freePort } from './harness/webhook.ts';

type Obj = Record<string, any>;
let env: Environment;
let k: Kubectl;
let kaiLike: Server;
let kaiPort: number;
let policyFile: string;

const POLICY = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - name: a10-kai
    backend: kai
    nodeSelector: {kai.scheduler/node-pool: a10}
    gpu: {model: NVIDIA-A10, memory: 23028Mi, perNode: 4}
    kai: {queue: team-a}
`;
const NODE = {
  apiVersion: 'v1', kind: 'Node',
  metadata: { name: 'a10-kai-1', labels: { 'kubernetes.io/hostname': 'a10-kai-1', 'kai.scheduler/node-pool': 'a10', 'nvidia.com/gpu.product': 'NVIDIA-A10', 'nvidia.com/gpu.memory': '23028' } },
  status: { capacity: { cpu: '64', memory: '512Gi', pods: '110', 'nvidia.com/gpu': '4' }, allocatable: { cpu: '64', memory: '512Gi', pods: '110', 'nvidia.com/gpu': '4' } },
};

const share = (name: string, memory = '12Gi'): Obj => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kai-team' },
  spec: {
    containers: [
      { name: 'sidecar', image: 'registry.k8s.io/pause:3.10' },
      { name: 'train', image: 'registry.k8s.io/pause:3.10', resources: { limits: { 'gpu-admission.io/gpu-memory': memory } } },
    ],
  },
});
const getPod = (name: string): Promise<Obj> => k.json(['get', 'pod', name, '-n', 'kai-team']);
const cli = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args, '--kubeconfig', env.cp.kubeconfig], { cwd: ROOT });

/**
 * KAI's pod mutator as the operator registers it (pkg/operator/operands/admission/resources.go):
 * pods only, CREATE, `object.spec.schedulerName == 'kai-scheduler'`, reinvocation IfNeeded. Its
 * mutation marks the pod with the annotation kai-e2e/<configuration> (KAI's adds the share
 * container's environment; what matters here is whether it is called at all).
 */
function kaiConfiguration(name: string): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name },
    webhooks: [{
      name: 'pod-mutator.kai.scheduler', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', reinvocationPolicy: 'IfNeeded',
      clientConfig: { url: `https://127.0.0.1:${kaiPort}/${name}`, caBundle: Buffer.from(env.caPem).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kai-team' } },
      matchConditions: [{ name: 'scheduler-name-match', expression: "object.spec.schedulerName == 'kai-scheduler'" }],
    }],
  };
}

/** Registers KAI's webhook under `name` (and no other), and waits until the API server calls only it. */
async function registerKai(name: string, previous?: string): Promise<void> {
  if (previous) await k.ok(['delete', 'mutatingwebhookconfiguration', previous]);
  const r = await k.apply(kaiConfiguration(name));
  assert.equal(r.code, 0, r.stderr);
  const probe = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe', namespace: 'kai-team' },
    spec: { schedulerName: 'kai-scheduler', containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } };
  await eventually(`the API server calls ${name} only`, async () => {
    const out = await k.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(probe));
    if (out.code !== 0) throw new Error(out.stderr);
    const marks = Object.keys(JSON.parse(out.stdout).metadata?.annotations ?? {}).filter((a) => a.startsWith('kai-e2e/'));
    if (marks.length !== 1 || marks[0] !== `kai-e2e/${name}`) throw new Error(`marked by ${marks.join(', ') || 'nothing'}`);
    return true;
  }, 30_000);
}

before(async () => {
  env = await startEnvironment({ name: 'kai' });
  k = env.kubectl;
  await namespace(k, 'kai-team', true);
  assert.equal((await k.apply(NODE)).code, 0);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gpu-admission-policy', namespace: 'gpu-admission' }, data: { 'policy.yaml': POLICY } };
  const applied = await k.apply(cm, ['--server-side', '--force-conflicts', '--field-manager=e2e']);
  assert.equal(applied.code, 0, applied.stderr);
  await eventually('the kai policy in force', async () => {
    const out = await k.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(share('probe')));
    return out.code === 0 && JSON.parse(out.stdout).spec.schedulerName === 'kai-scheduler' ? true : undefined;
  }, 30_000);
  policyFile = join(env.workDir, 'kai-policy.yaml');
  await writeFile(policyFile, POLICY);
  const tls = { key: await readFile(join(env.workDir, 'webhook-tls/webhook.key')), cert: await readFile(join(env.workDir, 'webhook-tls/webhook.crt')) };
  kaiLike = createServer(tls, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const review = JSON.parse(body);
      const configuration = new URL(req.url ?? '/', 'https://kai.invalid').pathname.slice(1);
      const annotations = review.request.object.metadata?.annotations;
      const patch = annotations
        ? [{ op: 'add', path: `/metadata/annotations/kai-e2e~1${configuration}`, value: 'mutated' }]
        : [{ op: 'add', path: '/metadata/annotations', value: { [`kai-e2e/${configuration}`]: 'mutated' } }];
      const response = { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  kaiPort = await freePort();
  await new Promise<void>((r) => kaiLike.listen(kaiPort, '127.0.0.1', r));
  env.log('kai environment ready');
}, { timeout: 30 * 60_000 });

after(() => kaiLike?.close());
stopAfterSuite(() => env);

describe('kai on the real API server', () => {
  it("when KAI's webhook keeps its default name (mutating-kai-admission), then a generic share becomes gpu-fraction for kai-scheduler and KAI's webhook mutates it after ours", async () => {
    await registerKai('mutating-kai-admission');
    assert.equal((await k.apply(share('share-after'))).code, 0);
    const stored = await getPod('share-after');
    const annotations = stored.metadata.annotations;
    assert.equal(annotations['gpu-fraction'], '0.54');
    assert.equal(annotations['gpu-fraction-container-name'], 'train');
    assert.equal(stored.spec.schedulerName, 'kai-scheduler');
    assert.equal(stored.metadata.labels['kai.scheduler/queue'], 'team-a');
    assert.equal(stored.spec.containers[1].resources.limits, undefined, 'no GPU resource: KAI allocates the share from the annotation');
    assert.equal(annotations['kai-e2e/mutating-kai-admission'], 'mutated', "KAI's webhook saw the pod gpu-admission sent to kai-scheduler");

    const check = await cli(['policy', 'check', policyFile, '--cluster']);
    assert.doesNotMatch(check.stderr, /webhooks:/, check.stderr);
  });

  it("when KAI's configuration sorts before gpu-admission, then the API server skips it for our pods and policy check --cluster says so", async () => {
    await registerKai('aaa-kai-admission', 'mutating-kai-admission');
    assert.equal((await k.apply(share('share-before'))).code, 0);
    const stored = await getPod('share-before');
    assert.equal(stored.metadata.annotations['gpu-fraction'], '0.54');
    assert.equal(stored.spec.schedulerName, 'kai-scheduler');
    assert.equal(stored.metadata.annotations['kai-e2e/aaa-kai-admission'], undefined,
      'called first, it skipped the pod (schedulerName not yet kai-scheduler), and was not called on reinvocation');

    const check = await cli(['policy', 'check', policyFile, '--cluster']);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stderr, /webhooks: the API server calls pod-mutator\.kai\.scheduler \(MutatingWebhookConfiguration aaa-kai-admission\) before gpu-admission's pods\.gpu-admission\.io \(gpu-admission\)/);
  });

  it('when a pod asks KAI natively with gpu-fraction 1.5, then the API server refuses it with KAI\'s rule; gpu-fraction 0.5 is routed to kai-scheduler', async () => {
    const native = (name: string, fraction: string): Obj => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kai-team', annotations: { 'gpu-fraction': fraction } },
      spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
    });
    const refused = await k.apply(native('native-bad', '1.5'));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /annotation gpu-fraction: "1.5": must be a number between 0 and 1/);
    assert.equal((await k.apply(native('native-ok', '0.5'))).code, 0);
    const stored = await getPod('native-ok');
    assert.equal(stored.spec.schedulerName, 'kai-scheduler');
    assert.equal(stored.metadata.annotations['gpu-fraction'], '0.5');
    assert.equal(stored.metadata.labels['kai.scheduler/queue'], 'team-a');
  });
});
