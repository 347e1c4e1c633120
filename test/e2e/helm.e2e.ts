// The Helm chart (charts/gpu-admission) with a real Helm built from helm.sh/helm/v3: lint, every
// option rendered, the same objects as manifests/base, and install / upgrade / uninstall on the
// real control plane (the webhook served by the local process through the chart's URL override,
// as the rest of the suite serves it: there is no kubelet to run the Deployment).
// Run: npm run test:e2e -- test/e2e/helm.e2e.ts
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createServingCert, startControlPlane, type ControlPlane } from './control-plane/control-plane.ts';
import { ROOT, buildWebhook, ensureBinaries, namespace, serviceAccountKubeconfig } from './harness/cluster.ts';
import { Helm, startRegistry, type Obj } from './harness/helm.ts';
import { Kubectl, eventually, runProcess, type KubectlResult } from './harness/kubectl.ts';
import { CLUSTER_NODES, nodeObjects } from './harness/cluster-nodes.ts';
import { POOL_NODES, gpuNodes } from './harness/nodes.ts';
import { freePort, startWebhook, type Webhook } from './harness/webhook.ts';

const CHART = join(ROOT, 'charts/gpu-admission');
const log = (m: string): void => console.log(`[helm] ${m}`);

let helm: Helm;
let kubectl: Kubectl;
let home: string;

const find = (objects: Obj[], kind: string, name?: string): Obj | undefined =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const kinds = (objects: Obj[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const env = (deployment: Obj): Record<string, string> =>
  Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
const webhookOf = (objects: Obj[], kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration'): Obj =>
  find(objects, kind, kind === 'MutatingWebhookConfiguration' ? 'gpu-admission' : 'gpu-admission-policy')!.webhooks[0];
const workloadHooks = (objects: Obj[]): Obj[] => find(objects, 'ValidatingWebhookConfiguration', 'gpu-admission-workloads')!.webhooks;

/** A values file in the work directory; returns its path. */
async function values(name: string, content: Obj): Promise<string> {
  const path = join(home, `${name}.values.yaml`);
  await writeFile(path, stringify(content));
  return path;
}

/** The e2e policy's pools by name, so a test's policy is a real one. */
async function pools(...names: string[]): Promise<Obj[]> {
  const all = parse(await readFile(join(ROOT, 'test/e2e/policy.yaml'), 'utf8')).pools as Obj[];
  return names.map((n) => all.find((p) => p.name === n)!);
}
const policyOf = (poolList: Obj[], extra: Obj = {}): Obj => ({ apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', pools: poolList, ...extra });

/** What only Helm adds (its labels) and what only an installation sets (the caBundle). */
function withoutHelm(o: Obj): Obj {
  const copy = structuredClone(o);
  for (const label of ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart']) {
    delete copy.metadata.labels?.[label];
  }
  for (const w of copy.webhooks ?? []) delete w.clientConfig.caBundle;
  return copy;
}

before(async () => {
  const bins = await ensureBinaries(log);
  home = await mkdtemp(join(tmpdir(), 'gpu-admission-helm-'));
  helm = new Helm(bins.helm, home);
  kubectl = new Kubectl(bins.kubectl, '/dev/null');
  log(await helm.ok(['version', '--short']));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('the chart, rendered by helm', () => {
  it('when linted with --strict, with and without a policy, then helm finds nothing', async () => {
    assert.match(await helm.ok(['lint', '--strict', CHART]), /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const withPolicy = await values('lint', { policy: parse(await readFile(join(ROOT, 'test/e2e/policy.yaml'), 'utf8')) });
    assert.match(await helm.ok(['lint', '--strict', CHART, '-f', withPolicy]), /0 chart\(s\) failed/);
  });

  it('when the policy value breaks the policy schema, then helm template, lint and install refuse it naming the field', async () => {
    const bad = await values('bad', { policy: parse(await readFile(join(ROOT, 'examples/policies/bad-policy.yaml'), 'utf8')) });
    const template = await helm.run(['template', 'gpu-admission', CHART, '-f', bad]);
    assert.notEqual(template.code, 0);
    assert.match(template.stderr, /policy\/pools\/0\/gpu\/memory/);
    assert.match(template.stderr, /24GB/);
    const lint = await helm.run(['lint', '--strict', CHART, '-f', bad]);
    assert.notEqual(lint.code, 0);
    assert.match(lint.stdout + lint.stderr, /policy\/pools\/0\/gpu\/memory/);
    const typo = await values('typo', { policy: policyOf([{ ...(await pools('t4-shared'))[0], nodeSelecter: {} }]) });
    const r = await helm.run(['template', 'gpu-admission', CHART, '-f', typo]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nodeSelecter/);
  });

  it('when a value name is misspelt, then helm refuses it instead of ignoring it', async () => {
    const r = await helm.run(['template', 'gpu-admission', CHART, '--set', 'replica=3']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /replica/);
  });

  it('when rendered with default values, then it is the base plus a generated certificate whose CA is both caBundles', async () => {
    const objects = await helm.template(CHART);
    assert.deepEqual(kinds(objects), [
      'ClusterRole/gpu-admission', 'ClusterRoleBinding/gpu-admission', 'Deployment/gpu-admission',
      'MutatingWebhookConfiguration/gpu-admission', 'PodDisruptionBudget/gpu-admission', 'PriorityClass/gpu-admission',
      'Role/gpu-admission', 'RoleBinding/gpu-admission', 'Secret/gpu-admission-tls', 'Service/gpu-admission',
      'ServiceAccount/gpu-admission', 'ValidatingWebhookConfiguration/gpu-admission-policy',
      'ValidatingWebhookConfiguration/gpu-admission-workloads',
    ]);
    const secret = find(objects, 'Secret')!;
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
    const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    assert.ok(cert.verify(ca.publicKey), 'the serving certificate is signed by the CA');
    assert.equal(cert.checkHost('gpu-admission.gpu-admission.svc'), 'gpu-admission.gpu-admission.svc');
    assert.ok(ca.ca);
    assert.equal(webhookOf(objects, 'MutatingWebhookConfiguration').clientConfig.caBundle, secret.data['ca.crt']);
    assert.equal(webhookOf(objects, 'ValidatingWebhookConfiguration').clientConfig.caBundle, secret.data['ca.crt']);
    for (const w of workloadHooks(objects)) assert.equal(w.clientConfig.caBundle, secret.data['ca.crt'], w.name);
    assert.equal(find(objects, 'ConfigMap'), undefined, 'no policy value, no policy ConfigMap');
  });

  it('when rendered into gpu-admission, then every object equals manifests/base object by object (less Helm labels, caBundle and the Namespace)', async () => {
    const chart = (await helm.template(CHART, ['--set', 'certificates.source=secret', '--set', 'certificates.secret.caBundle=Y2E='])).map(withoutHelm);
    const base = parseAllDocuments(await kubectl.ok(['kustomize', join(ROOT, 'manifests/base')])).map((d) => d.toJS() as Obj)
      // helm install --create-namespace makes the namespace; the chart does not own it.
      .filter((o) => o.kind !== 'Namespace');
    assert.deepEqual(kinds(chart), kinds(base));
    for (const b of base) assert.deepEqual(find(chart, b.kind, b.metadata.name), b, `${b.kind}/${b.metadata.name}`);
  });

  it('when rendered into another namespace, then the Service, webhooks, policy namespace and exclusions follow it', async () => {
    const objects = await helm.template(CHART, ['--namespace', 'platform']);
    const pods = webhookOf(objects, 'MutatingWebhookConfiguration');
    assert.equal(pods.clientConfig.service.namespace, 'platform');
    assert.deepEqual(pods.namespaceSelector.matchExpressions[1].values, ['kube-system', 'kube-node-lease', 'platform']);
    assert.deepEqual(webhookOf(objects, 'ValidatingWebhookConfiguration').namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': 'platform' });
    for (const h of workloadHooks(objects)) {
      assert.equal(h.clientConfig.service.namespace, 'platform');
      assert.deepEqual(h.namespaceSelector.matchExpressions.at(-1).values, ['kube-system', 'kube-node-lease', 'platform']);
    }
    assert.equal(env(find(objects, 'Deployment')!).GPU_ADMISSION_POLICY_NAMESPACE, 'platform');
    assert.ok(new X509Certificate(Buffer.from(find(objects, 'Secret')!.data['tls.crt'], 'base64')).checkHost('gpu-admission.platform.svc'));
  });

  it('when certificates come from cert-manager, then the objects are those of manifests/cert-manager and no Secret or caBundle is rendered', async () => {
    const chart = (await helm.template(CHART, ['--set', 'certificates.source=certManager'])).map(withoutHelm);
    const overlay = parseAllDocuments(await kubectl.ok(['kustomize', join(ROOT, 'manifests/cert-manager')])).map((d) => d.toJS() as Obj)
      .filter((o) => o.kind !== 'Namespace');
    assert.deepEqual(kinds(chart), kinds(overlay));
    for (const o of overlay) assert.deepEqual(find(chart, o.kind, o.metadata.name), o, `${o.kind}/${o.metadata.name}`);
    const raw = await helm.template(CHART, ['--set', 'certificates.source=certManager']);
    assert.equal(webhookOf(raw, 'MutatingWebhookConfiguration').clientConfig.caBundle, undefined);

    const own = await helm.template(CHART, ['--set', 'certificates.source=certManager', '--set', 'certificates.certManager.issuerRef.name=corp-ca', '--set', 'certificates.certManager.issuerRef.kind=ClusterIssuer']);
    assert.deepEqual(kinds(own).filter((k) => k.startsWith('Issuer') || k.startsWith('Certificate')), ['Certificate/gpu-admission-tls']);
    assert.deepEqual(find(own, 'Certificate')!.spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer' });
  });

  it('when certificates are an existing Secret, then it is mounted, its CA is the caBundle, and a missing CA is refused by name', async () => {
    const objects = await helm.template(CHART, ['--set', 'certificates.source=secret', '--set', 'certificates.secret.name=corp-tls', '--set', 'certificates.secret.caBundle=Y29ycA==']);
    assert.equal(find(objects, 'Secret'), undefined);
    assert.equal(find(objects, 'Deployment')!.spec.template.spec.volumes[0].secret.secretName, 'corp-tls');
    assert.equal(webhookOf(objects, 'MutatingWebhookConfiguration').clientConfig.caBundle, 'Y29ycA==');
    const r = await helm.run(['template', 'gpu-admission', CHART, '--set', 'certificates.source=secret']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /certificates\.secret\.caBundle is required/);
  });

  it('when the NetworkPolicy is turned on, then only the API server CIDRs and the metrics peers reach the port; without CIDRs it is refused by name; off by default', async () => {
    assert.equal(find(await helm.template(CHART), 'NetworkPolicy'), undefined);
    const objects = await helm.template(CHART, ['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiServerCIDRs={10.0.0.5/32,10.0.0.6/32}',
      '--set', 'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring']);
    const policy = find(objects, 'NetworkPolicy', 'gpu-admission')!;
    assert.deepEqual(policy.spec.podSelector, { matchLabels: { app: 'gpu-admission' } });
    assert.deepEqual(policy.spec.ingress, [{
      from: [{ ipBlock: { cidr: '10.0.0.5/32' } }, { ipBlock: { cidr: '10.0.0.6/32' } }, { namespaceSelector: { matchLabels: { team: 'monitoring' } } }],
      ports: [{ port: 'https', protocol: 'TCP' }],
    }]);
    const r = await helm.run(['template', 'gpu-admission', CHART, '--set', 'networkPolicy.enabled=true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /networkPolicy\/apiServerCIDRs/);
  });

  it('when the webhook URL is overridden, then both webhooks call it and nothing that runs the server in the cluster is rendered', async () => {
    const objects = await helm.template(CHART, ['--set', 'webhook.url=https://10.0.0.5:8443/', '--set', 'webhook.caBundle=Y2E=']);
    assert.deepEqual(kinds(objects).filter((k) => /^(Deployment|Service|PodDisruptionBudget|PriorityClass|Secret)\//.test(k)), []);
    assert.deepEqual(webhookOf(objects, 'MutatingWebhookConfiguration').clientConfig, { url: 'https://10.0.0.5:8443/mutate', caBundle: 'Y2E=' });
    assert.deepEqual(webhookOf(objects, 'ValidatingWebhookConfiguration').clientConfig, { url: 'https://10.0.0.5:8443/validate-policy', caBundle: 'Y2E=' });
    assert.deepEqual(workloadHooks(objects).map((h: Obj) => h.clientConfig.url),
      ['https://10.0.0.5:8443/validate-workloads', 'https://10.0.0.5:8443/audit', 'https://10.0.0.5:8443/validate-not-opted-in']);
    const r = await helm.run(['template', 'gpu-admission', CHART, '--set', 'webhook.url=https://10.0.0.5:8443']);
    assert.match(r.stderr, /webhook\.caBundle is required with webhook\.url/);
    const http = await helm.run(['template', 'gpu-admission', CHART, '--set', 'webhook.url=http://10.0.0.5:8443', '--set', 'webhook.caBundle=Y2E=']);
    assert.notEqual(http.code, 0, 'the API server calls webhooks over HTTPS only');
  });

  it('when failurePolicy is Ignore, then the server answers 503 while it has no policy (not-ready-answer follows failurePolicy)', async () => {
    const open = await helm.template(CHART, ['--set', 'webhook.failurePolicy=Ignore']);
    assert.equal(webhookOf(open, 'MutatingWebhookConfiguration').failurePolicy, 'Ignore');
    assert.equal(env(find(open, 'Deployment')!).GPU_ADMISSION_NOT_READY_ANSWER, 'unavailable');
    const closed = await helm.template(CHART);
    assert.equal(webhookOf(closed, 'MutatingWebhookConfiguration').failurePolicy, 'Fail');
    assert.equal(env(find(closed, 'Deployment')!).GPU_ADMISSION_NOT_READY_ANSWER, undefined, 'the default answer, deny with the reason');
  });

  it('when pod and webhook values are set, then the Deployment and the pod webhook carry them', async () => {
    const file = await values('options', {
      image: { repository: 'corp.example/gpu-admission', tag: '9.9.9', pullPolicy: 'Always' },
      imagePullSecrets: [{ name: 'corp' }], replicas: 3, logLevel: 'debug', maxInFlight: 16, maxHeapMiB: 384, maxSemiSpaceMiB: 4,
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      priorityClass: { create: false, name: 'system-cluster-critical' },
      nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
      podAnnotations: { 'sidecar.istio.io/inject': 'false' }, podLabels: { team: 'ml' },
      extraArgs: ['--process-metrics=false'],
      extraEnv: [{ name: 'HTTPS_PROXY', value: 'http://proxy:3128' }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
      webhook: {
        timeoutSeconds: 10,
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['ml'] }] },
        objectSelector: { matchExpressions: [{ key: 'skip-gpu-admission', operator: 'DoesNotExist' }] },
      },
    });
    const objects = await helm.template(CHART, ['-f', file]);
    assert.equal(find(objects, 'PriorityClass'), undefined);
    const d = find(objects, 'Deployment')!;
    const spec = d.spec.template.spec;
    assert.equal(d.spec.replicas, 3);
    assert.equal(spec.priorityClassName, 'system-cluster-critical');
    assert.deepEqual(spec.imagePullSecrets, [{ name: 'corp' }]);
    assert.deepEqual(spec.nodeSelector, { 'node-role.kubernetes.io/control-plane': '' });
    assert.equal(spec.tolerations[0].key, 'node-role.kubernetes.io/control-plane');
    assert.deepEqual(Object.keys(spec.affinity), ['nodeAffinity'], 'an affinity value replaces the default anti-affinity');
    assert.deepEqual(d.spec.template.metadata.annotations, { 'sidecar.istio.io/inject': 'false' });
    assert.deepEqual(d.spec.template.metadata.labels, { team: 'ml', app: 'gpu-admission' });
    assert.deepEqual(d.spec.selector.matchLabels, { app: 'gpu-admission' }, 'pod labels leave the selector alone');
    const c = spec.containers[0];
    assert.deepEqual(c.args, ['--process-metrics=false']);
    assert.deepEqual(c.env.slice(-2), [{ name: 'HTTPS_PROXY', value: 'http://proxy:3128' }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], 'after the chart\'s own');
    assert.equal(c.image, 'corp.example/gpu-admission:9.9.9');
    assert.equal(c.imagePullPolicy, 'Always');
    assert.deepEqual(c.resources, { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    const e = env(d);
    assert.equal(e.GPU_ADMISSION_LOG_LEVEL, 'debug');
    assert.equal(e.GPU_ADMISSION_MAX_IN_FLIGHT, '16');
    assert.equal(e.NODE_OPTIONS, '--max-old-space-size=384 --max-semi-space-size=4');
    const w = webhookOf(objects, 'MutatingWebhookConfiguration');
    assert.equal(w.timeoutSeconds, 10);
    assert.deepEqual(w.namespaceSelector.matchExpressions.map((m: Obj) => m.key), ['gpu-admission.io/enabled', 'kubernetes.io/metadata.name', 'team']);
    assert.deepEqual(w.objectSelector, { matchExpressions: [{ key: 'skip-gpu-admission', operator: 'DoesNotExist' }] });
    // The opt-in narrows the workload and audit webhooks alike; outside it, the vocabulary is still refused everywhere.
    const selected = Object.fromEntries(workloadHooks(objects).map((h: Obj) => [h.name, h.namespaceSelector.matchExpressions.map((m: Obj) => m.key)]));
    assert.deepEqual(selected, {
      'workloads.gpu-admission.io': ['gpu-admission.io/enabled', 'kubernetes.io/metadata.name', 'team'],
      'audit.gpu-admission.io': ['gpu-admission.io/enabled', 'kubernetes.io/metadata.name', 'team'],
      'not-opted-in.gpu-admission.io': ['gpu-admission.io/enabled', 'kubernetes.io/metadata.name'],
    });
  });

  it('when a policy is given, then it is the ConfigMap gpu-admission-policy, kept on uninstall unless told otherwise', async () => {
    const policy = policyOf(await pools('t4-shared', 'a10-core'), { defaults: { rounding: 'up' } });
    const objects = await helm.template(CHART, ['-f', await values('policy', { policy })]);
    const cm = find(objects, 'ConfigMap', 'gpu-admission-policy')!;
    assert.equal(cm.metadata.namespace, 'gpu-admission');
    assert.equal(cm.metadata.annotations['helm.sh/resource-policy'], 'keep');
    assert.deepEqual(parse(cm.data['policy.yaml']), policy);
    const unkept = await helm.template(CHART, ['-f', await values('policy', { policy, keepPolicy: false })]);
    assert.equal(find(unkept, 'ConfigMap', 'gpu-admission-policy')!.metadata.annotations['helm.sh/resource-policy'], undefined);
    // The hash of the value, by which an upgrade tells a changed value from a live edit to keep.
    const hash = (o: Obj[]): string => find(o, 'ConfigMap', 'gpu-admission-policy')!.metadata.annotations['gpu-admission.io/policy-value-sha256'];
    assert.match(hash(objects), /^[0-9a-f]{64}$/);
    assert.equal(hash(unkept), hash(objects), 'the same value, the same hash');
    const other = await helm.template(CHART, ['-f', await values('policy', { policy: { ...policy, defaults: { rounding: 'deny' } } })]);
    assert.notEqual(hash(other), hash(objects));
  });

  // The e2e cannot run pods (no kubelet): the `helm test` pod is rendered, and its script is run
  // here by node against a server holding the chart's generated certificate.
  it('when rendered for helm test, then a hook pod calls /readyz through the Service trusting the chart\'s CA, and its script passes on 200 and fails on 503', async () => {
    const all = async (args: string[]): Promise<Obj[]> => helm.template(CHART, ['--skip-tests=false', ...args]);
    const objects = await all([]);
    const pod = find(objects, 'Pod', 'gpu-admission-test-readyz')!;
    assert.equal(pod.metadata.annotations['helm.sh/hook'], 'test');
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    const c = pod.spec.containers[0];
    assert.equal(c.image, find(objects, 'Deployment')!.spec.template.spec.containers[0].image, 'the webhook image: no other image needed');
    assert.deepEqual(pod.spec.volumes, [{ name: 'ca', secret: { secretName: 'gpu-admission-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }]);
    const script: string = c.command[2];
    assert.match(script, /https:\/\/gpu-admission\.gpu-admission\.svc:443\/readyz/);
    assert.equal(find(await helm.template(CHART), 'Pod'), undefined, 'not an object helm install creates');
    assert.equal(find(await all(['--set', 'webhook.url=https://10.0.0.5:8443', '--set', 'webhook.caBundle=Y2E=']), 'Pod'), undefined);
    const secretCa = find(await all(['--set', 'certificates.source=secret', '--set', 'certificates.secret.caBundle=Y2E=']), 'Pod')!;
    assert.deepEqual(secretCa.spec.containers[0].env, [{ name: 'CA_PEM', value: 'ca' }]);
    assert.equal(secretCa.spec.volumes, undefined);

    // The script against a server with the generated certificate for gpu-admission.gpu-admission.svc,
    // reached on loopback (the name resolved to 127.0.0.1, the port replaced).
    const tls = find(objects, 'Secret')!.data;
    const pem = (k: string): string => Buffer.from(tls[k], 'base64').toString();
    let status = 200;
    const server = createServer({ cert: pem('tls.crt'), key: pem('tls.key') }, (_req, res) => { res.writeHead(status).end('ready'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const loopback = `require('node:dns').lookup = (_h, o, cb) => (cb ?? o)(null, o?.all ? [{ address: '127.0.0.1', family: 4 }] : '127.0.0.1', 4);\n`;
      const runScript = (ca: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
        runProcess(process.execPath, ['-e', loopback + script.replace(':443/', `:${port}/`)], { env: { CA_PEM: ca } });
      const ok = await runScript(pem('ca.crt'));
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /readyz 200 ready/);
      status = 503;
      assert.equal((await runScript(pem('ca.crt'))).code, 1, 'not ready: the test fails');
      status = 200;
      const untrusted = await runScript(pem('tls.crt'));
      assert.equal(untrusted.code, 1, 'another CA: refused');
    } finally {
      server.close();
    }
  });

  it('when each monitoring object is turned on, then it is the object of manifests/monitoring; all are off by default', async () => {
    const plain = await helm.template(CHART);
    assert.deepEqual(plain.filter((o) => ['PodMonitor', 'PrometheusRule'].includes(o.kind) || o.metadata.name === 'gpu-admission-dashboard'), []);
    const kustomized = parseAllDocuments(await kubectl.ok(['kustomize', join(ROOT, 'manifests/monitoring')])).map((d) => d.toJS() as Obj);
    for (const [flag, kind] of [['podMonitor', 'PodMonitor'], ['prometheusRule', 'PrometheusRule'], ['dashboard', 'ConfigMap']] as const) {
      const objects = (await helm.template(CHART, ['--set', `monitoring.${flag}.enabled=true`])).map(withoutHelm);
      const extra = objects.filter((o) => o.kind === kind);
      assert.equal(extra.length, 1, flag);
      assert.deepEqual(extra[0], find(kustomized, kind), flag);
    }
  });
});

describe('the chart on the real API server (helm install, upgrade, uninstall)', () => {
  let cp: ControlPlane;
  let k: Kubectl;
  let work: string;
  let cluster: Helm;
  let webhook: Webhook | undefined;
  let registryBin: string;
  const ns = ['-n', 'gpu-admission'];

  before(async () => {
    const bins = await ensureBinaries(log);
    registryBin = bins.registry;
    await buildWebhook(log);
    work = await mkdtemp(join(tmpdir(), 'gpu-admission-helm-e2e-'));
    cp = await startControlPlane({ workDir: work, log });
    k = new Kubectl(bins.kubectl, cp.kubeconfig);
    cluster = new Helm(bins.helm, join(work, 'helm'), cp.kubeconfig);
    const nodes = await k.apply({ apiVersion: 'v1', kind: 'List', items: gpuNodes() });
    assert.equal(nodes.code, 0, nodes.stderr);
  });
  after(async () => {
    await webhook?.stop().catch(() => {});
    await cp?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const webhookConfigs = async (): Promise<string[]> => [
    ...(await k.json<{ items: Obj[] }>(['get', 'mutatingwebhookconfigurations'])).items,
    ...(await k.json<{ items: Obj[] }>(['get', 'validatingwebhookconfigurations'])).items,
  ].map((o) => o.metadata.name);

  it('when installed with a malformed policy, then nothing is installed; with a generated certificate, every object is accepted; an upgrade keeps the certificate and caBundle; uninstall removes all but the kept policy', async () => {
    const bad = await values('bad-install', { policy: parse(await readFile(join(ROOT, 'examples/policies/bad-policy.yaml'), 'utf8')) });
    const refused = await cluster.run(['install', 'gpu-admission', CHART, ...ns, '--create-namespace', '-f', bad]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /policy\/pools\/0\/gpu\/memory/);
    assert.equal((await cluster.ok(['list', '-A', '-q'])).trim(), '', 'nothing was installed');
    // NOTES read the cluster (--dry-run=server, as an install does): with no policy anywhere, the webhook is not ready.
    const fresh = await cluster.ok(['install', 'gpu-admission', CHART, ...ns, '--create-namespace', '--dry-run=server']);
    assert.match(fresh, /The webhook is NOT READY until a policy exists/);

    const file = await values('in-cluster', { policy: policyOf(await pools('t4-shared')), networkPolicy: { enabled: true, apiServerCIDRs: ['127.0.0.1/32'] } });
    await cluster.ok(['install', 'gpu-admission', CHART, ...ns, '--create-namespace', '-f', file]);
    const objects = await k.json<{ items: Obj[] }>(['get', 'deployment,service,pdb,serviceaccount,role,rolebinding,secret,configmap,networkpolicy', ...ns, '-l', 'app.kubernetes.io/name=gpu-admission']);
    assert.deepEqual(objects.items.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/gpu-admission-policy', 'Deployment/gpu-admission', 'NetworkPolicy/gpu-admission', 'PodDisruptionBudget/gpu-admission', 'Role/gpu-admission',
      'RoleBinding/gpu-admission', 'Secret/gpu-admission-tls', 'Service/gpu-admission', 'ServiceAccount/gpu-admission',
    ]);
    const secret = await k.json(['get', 'secret', 'gpu-admission-tls', ...ns]);
    const caBundle = async (): Promise<string> => (await k.json(['get', 'mutatingwebhookconfiguration', 'gpu-admission'])).webhooks[0].clientConfig.caBundle;
    assert.equal(await caBundle(), secret.data['ca.crt']);

    await cluster.ok(['upgrade', 'gpu-admission', CHART, ...ns, '-f', file, '--set', 'replicas=3']);
    assert.equal((await k.json(['get', 'deployment', 'gpu-admission', ...ns])).spec.replicas, 3, 'the upgrade was applied');
    const after = await k.json(['get', 'secret', 'gpu-admission-tls', ...ns]);
    assert.deepEqual(after.data, secret.data, 'the certificate and key are not regenerated');
    assert.equal(await caBundle(), secret.data['ca.crt']);
    assert.equal((await k.json(['get', 'validatingwebhookconfiguration', 'gpu-admission-policy'])).webhooks[0].clientConfig.caBundle, secret.data['ca.crt']);

    await cluster.ok(['uninstall', 'gpu-admission', ...ns, '--wait']);
    assert.deepEqual((await webhookConfigs()).filter((n) => n.startsWith('gpu-admission')), []);
    const left = await k.json<{ items: Obj[] }>(['get', 'deployment,service,pdb,serviceaccount,role,rolebinding,secret,configmap', ...ns, '-l', 'app.kubernetes.io/name=gpu-admission']);
    assert.deepEqual(left.items.map((o) => `${o.kind}/${o.metadata.name}`), ['ConfigMap/gpu-admission-policy'], 'only the policy is kept');
    // Installed again without a policy value, the kept policy is in force: NOTES say so, not "NOT READY".
    const again = await cluster.ok(['install', 'gpu-admission', CHART, ...ns, '--dry-run=server']);
    assert.doesNotMatch(again, /NOT READY/);
    assert.match(again, /the ConfigMap gpu-admission-policy already in\s+gpu-admission \(kept by an earlier release, or made by hand\) is the policy in force/);
    for (const kind of ['clusterrole', 'clusterrolebinding', 'priorityclass']) {
      assert.notEqual((await k.run(['get', kind, 'gpu-admission'])).code, 0, `${kind} removed`);
    }
  });

  it('when installed with the URL override and a policy, then GPU pods are rewritten and bound; an upgrade puts a new policy in force within seconds; uninstall leaves no webhook', async () => {
    const port = await freePort();
    const cert = await createServingCert({ caCertPath: cp.caCertPath, caKeyPath: cp.caKeyPath, outDir: join(work, 'webhook-tls'), name: 'webhook', hosts: ['localhost', '127.0.0.1'] });
    const caPem = await readFile(cp.caCertPath, 'utf8');
    const url = { webhook: { url: `https://127.0.0.1:${port}`, caBundle: Buffer.from(caPem).toString('base64') } };
    const v1 = await values('v1', { ...url, policy: policyOf(await pools('t4-shared')) });
    // The policy kept by the previous uninstall is adopted by this release (same name and namespace).
    await cluster.ok(['install', 'gpu-admission', CHART, ...ns, '--create-namespace', '-f', v1]);
    assert.deepEqual(parse((await k.json(['get', 'configmap', 'gpu-admission-policy', ...ns])).data['policy.yaml']).pools.map((p: Obj) => p.name), ['t4-shared']);

    // The server runs with the chart's ServiceAccount: the chart's RBAC is what it gets.
    webhook = await startWebhook({
      root: ROOT, port, kubeconfig: await serviceAccountKubeconfig(k, cp, work), certPath: cert.certPath, keyPath: cert.keyPath, caPem,
      logPath: join(work, 'webhook.log'),
    });
    await namespace(k, 'ml', true);
    const gpuPod = (name: string): Obj => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ml' },
      spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } }] },
    });
    const routed = async (name: string): Promise<{ pool: string; node: string; limits: Obj; revision: string }> => {
      const r = await k.apply(gpuPod(name));
      assert.equal(r.code, 0, r.stderr);
      const node = await eventually(`${name} bound`, async () => (await k.json(['get', 'pod', name, '-n', 'ml'])).spec.nodeName || undefined);
      const stored = await k.json(['get', 'pod', name, '-n', 'ml']);
      const decision = JSON.parse(stored.metadata.annotations['gpu-admission.io/decision']);
      return { pool: decision.pools[0], node, limits: stored.spec.containers[0].resources.limits, revision: decision.revision };
    };
    const first = await routed('before-upgrade');
    assert.equal(first.pool, 't4-shared');
    assert.ok(POOL_NODES['t4-shared']!.includes(first.node), first.node);
    assert.deepEqual(first.limits, { 'aliyun.com/gpu-mem': '4' });
    // The operator's own file of that policy (a comment, their key order): the revision in force ends with the content hash policy check prints.
    const own = join(home, 'v1-policy.yaml');
    await writeFile(own, `# only the T4 pool\n${stringify(policyOf(await pools('t4-shared')))}`);
    const check = await runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'policy', 'check', own], { cwd: ROOT });
    const hash = /content hash ([0-9a-f]{12}),/.exec(check.stdout)?.[1];
    assert.ok(hash !== undefined && first.revision.endsWith(`-${hash}`), `revision ${first.revision}, policy check: ${check.stdout}${check.stderr}`);

    const v2 = await values('v2', { ...url, policy: policyOf(await pools('a10-cgpu')) });
    const started = Date.now();
    await cluster.ok(['upgrade', 'gpu-admission', CHART, ...ns, '-f', v2]);
    const second = await eventually('the upgraded policy in force', async () => {
      const name = `after-upgrade-${Date.now()}`;
      const r = await routed(name);
      if (r.pool === 'a10-cgpu') return r;
      await k.run(['delete', 'pod', name, '-n', 'ml', '--wait=false']);
      return undefined;
    }, 20_000);
    log(`new policy in force ${((Date.now() - started) / 1000).toFixed(1)} s after helm upgrade began`);
    assert.ok(POOL_NODES['a10-cgpu']!.includes(second.node), second.node);

    // A live edit stays through an upgrade that changes only something else (docs/operators.md: it "stays
    // until a helm upgrade changes the policy value"), and goes when the policy value changes.
    const inForce = async (pool: string): Promise<void> => {
      await eventually(`pool ${pool} chosen`, async () => {
        const name = `in-force-${Date.now()}`;
        const r = await routed(name);
        await k.run(['delete', 'pod', name, '-n', 'ml', '--wait=false']);
        return r.pool === pool || undefined;
      }, 60_000);
    };
    const policyText = async (): Promise<string> => (await k.json(['get', 'configmap', 'gpu-admission-policy', ...ns])).data['policy.yaml'];
    const live = stringify(policyOf(await pools('t4-shared'), { defaults: { rounding: 'up' } }));
    const edited = await k.run(['patch', 'configmap', 'gpu-admission-policy', ...ns, '--type', 'merge', '-p', JSON.stringify({ data: { 'policy.yaml': live } })]);
    assert.equal(edited.code, 0, edited.stderr);
    await inForce('t4-shared');
    await cluster.ok(['upgrade', 'gpu-admission', CHART, ...ns, '-f', v2, '--set', 'webhook.timeoutSeconds=7']);
    assert.equal((await k.json(['get', 'mutatingwebhookconfiguration', 'gpu-admission'])).webhooks[0].timeoutSeconds, 7, 'the upgrade was applied');
    assert.equal(await policyText(), live, 'an upgrade that changed only webhook.timeoutSeconds keeps the live edit');
    await inForce('t4-shared');
    const v2b = { ...url, policy: policyOf(await pools('a10-cgpu'), { defaults: { rounding: 'deny' } }) };
    await cluster.ok(['upgrade', 'gpu-admission', CHART, ...ns, '-f', await values('v2b', v2b), '--set', 'webhook.timeoutSeconds=7']);
    assert.deepEqual(parse(await policyText()), v2b.policy, 'an upgrade that changed the policy value replaces the live edit');
    await inForce('a10-cgpu');

    // What the schema cannot see (a rule naming a pool that does not exist), the running
    // webhook's /validate-policy refuses, so the upgrade fails and the policy in force stays.
    const v3 = await values('v3', { ...url, policy: policyOf(await pools('a10-cgpu'), { namespaces: [{ names: ['ml'], allowedPools: ['a100-nowhere'] }] }) });
    const refused = await cluster.run(['upgrade', 'gpu-admission', CHART, ...ns, '-f', v3]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /a100-nowhere/);
    assert.deepEqual(parse((await k.json(['get', 'configmap', 'gpu-admission-policy', ...ns])).data['policy.yaml']).pools.map((p: Obj) => p.name), ['a10-cgpu']);

    await cluster.ok(['uninstall', 'gpu-admission', ...ns, '--wait']);
    assert.deepEqual((await webhookConfigs()).filter((n) => n.startsWith('gpu-admission')), []);
    // With no webhook configuration left, the API server no longer calls the (still running)
    // server: a generic pod is stored untouched.
    await webhook.stop();
    webhook = undefined;
    const r = await k.apply(gpuPod('after-uninstall'));
    assert.equal(r.code, 0, r.stderr);
    const untouched = await k.json(['get', 'pod', 'after-uninstall', '-n', 'ml']);
    assert.equal(untouched.metadata.annotations?.['gpu-admission.io/decision'], undefined);
  });

  // As a release is installed (HAMi, the GPU operator and Kyverno publish their charts so): the
  // packaged chart pushed to an OCI registry and installed from it by reference and version.
  it('when the packaged chart is pushed to an OCI registry, then helm installs it from oci:// at its version and every object is on the API server', async () => {
    const registry = await startRegistry(registryBin);
    try {
      const version = parse(await readFile(join(CHART, 'Chart.yaml'), 'utf8')).version as string;
      const out = join(work, 'packaged');
      await cluster.ok(['package', CHART, '-d', out]);
      const pushed = await cluster.run(['push', join(out, `gpu-admission-${version}.tgz`), `oci://${registry.host}/charts`, '--plain-http']);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stdout + pushed.stderr, new RegExp(`Pushed: ${registry.host}/charts/gpu-admission:${version.replaceAll('.', '\\.')}`));
      const ref = `oci://${registry.host}/charts/gpu-admission`;
      assert.equal(parse(await cluster.ok(['show', 'chart', ref, '--version', version, '--plain-http'])).version, version);

      // The earlier tests uninstalled their release; the chart's cluster-scoped objects have fixed
      // names, so one release at a time. Generated certificate, no policy: nothing to serve it here.
      await cluster.ok(['install', 'gpu-admission-oci', ref, '--version', version, '--plain-http', ...ns, '--create-namespace']);
      const [release] = await cluster.ok(['list', ...ns, '-o', 'json']).then((j) => (JSON.parse(j) as Obj[]).filter((r) => r.name === 'gpu-admission-oci'));
      assert.equal(release?.chart, `gpu-admission-${version}`);
      assert.equal(release?.status, 'deployed');
      const manifest = parseAllDocuments(await cluster.ok(['get', 'manifest', 'gpu-admission-oci', ...ns])).map((d) => d.toJS() as Obj).filter((o) => o !== null);
      assert.ok(manifest.length >= 10, kinds(manifest).join(', '));
      for (const o of manifest) {
        const got = await k.json(['get', o.kind, o.metadata.name, ...ns]);
        assert.equal(got.metadata.annotations?.['meta.helm.sh/release-name'], 'gpu-admission-oci', `${o.kind}/${o.metadata.name}`);
      }
      await cluster.ok(['uninstall', 'gpu-admission-oci', ...ns, '--wait']);
      assert.deepEqual((await webhookConfigs()).filter((n) => n.startsWith('gpu-admission')), []);
    } finally {
      await registry.stop();
    }
  });
});

/**
 * The sh blocks of docs/operators.md marked `<!-- e2e:NAME … -->`, as written: the operator's
 * steps are run by bash, line for line, not a paraphrase of them.
 */
async function documentedBlocks(): Promise<Map<string, string>> {
  const doc = await readFile(join(ROOT, 'docs/operators.md'), 'utf8');
  return new Map([...doc.matchAll(/^<!-- e2e:([a-z-]+) [^\n]*-->\n```sh\n([\s\S]*?)\n```$/gm)].map((m) => [m[1]!, m[2]!]));
}

interface Operator { readonly cp: ControlPlane; readonly k: Kubectl; readonly dir: string; readonly work: string; sh(script: string): Promise<KubectlResult> }

/**
 * A fresh control plane with GPU nodes as ACK's device plugin and GPU feature discovery publish
 * them (`policy init` drafts each pool whole, so the steps run through as written), and the
 * operator's directory: what the steps name of a checkout (the CLI, the chart, the manifests, a
 * copy of certs/gen-certs.sh), with kubectl and helm on PATH.
 */
async function operator(name: string): Promise<Operator> {
  const bins = await ensureBinaries(log);
  const work = await mkdtemp(join(tmpdir(), `gpu-admission-${name}-`));
  const cp = await startControlPlane({ workDir: join(work, 'cluster'), log });
  const k = new Kubectl(bins.kubectl, cp.kubeconfig);
  for (const { node, status } of nodeObjects(CLUSTER_NODES.filter((n) => ['t4-a', 'a10-a', 'h100-a'].includes(n.name)))) {
    await k.ok(['create', '-f', '-'], JSON.stringify(node));
    await k.ok(['patch', 'node', (node.metadata as Obj).name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }
  const dir = join(work, 'checkout');
  await mkdir(join(dir, 'certs'), { recursive: true });
  for (const entry of ['package.json', 'node_modules', 'src', 'charts', 'manifests']) await symlink(join(ROOT, entry), join(dir, entry));
  await copyFile(join(ROOT, 'certs/gen-certs.sh'), join(dir, 'certs/gen-certs.sh'));
  const home = join(work, 'home');
  await mkdir(home);
  const env = {
    PATH: `${dirname(bins.kubectl)}:${dirname(bins.helm)}:${process.env.PATH ?? ''}`,
    HOME: home, KUBECONFIG: cp.kubeconfig,
    HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data'),
  };
  return { cp, k, dir, work, sh: (script) => runProcess('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env }) };
}

const HOOKS = [['mutatingwebhookconfiguration', 'gpu-admission'], ['validatingwebhookconfiguration', 'gpu-admission-policy'], ['validatingwebhookconfiguration', 'gpu-admission-workloads']] as const;
/** Every webhook of the three configurations, by name, with its clientConfig. */
async function clientConfigs(k: Kubectl): Promise<Record<string, Obj>> {
  const all: Record<string, Obj> = {};
  for (const [kind, name] of HOOKS) for (const w of (await k.json(['get', kind, name])).webhooks as Obj[]) all[w.name] = w.clientConfig;
  return all;
}
const gpuPod = (name: string): Obj => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ml' },
  spec: { containers: [{ name: 'main', image: 'registry.example.com/train:1', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } }] },
});

describe('docs/operators.md: install, upgrade and uninstall with Helm, as the operator types them', () => {
  let op: Operator;
  const ns = ['-n', 'gpu-admission'];
  before(async () => { op = await operator('helm-docs'); });
  after(async () => {
    await op?.cp.stop();
    if (op) await rm(op.work, { recursive: true, force: true });
  });

  it('when the install, upgrade and uninstall blocks run as written, then the release is installed with the drafted policy, upgraded, and removed after the namespaces were taken out', async () => {
    const { k, sh } = op;
    const blocks = await documentedBlocks();
    const installed = await sh(blocks.get('helm-install')!);
    assert.equal(installed.code, 0, `the install steps:\n${installed.stdout}\n${installed.stderr}`);
    const drafted = parse(await readFile(join(op.dir, 'my-policy.yaml'), 'utf8'));
    assert.deepEqual(drafted.pools.map((p: Obj) => p.backend).sort(), ['ack-cgpu', 'ack-core-mem', 'nvidia-exclusive']);
    const inForce = async (): Promise<Obj> => parse((await k.json(['get', 'configmap', 'gpu-admission-policy', ...ns])).data['policy.yaml']);
    assert.deepEqual(await inForce(), drafted, 'the ConfigMap holds the drafted policy');
    const { appVersion } = parse(await readFile(join(CHART, 'Chart.yaml'), 'utf8'));
    assert.equal((await k.json(['get', 'deployment', 'gpu-admission', ...ns])).spec.template.spec.containers[0].image, `registry.mine.example/gpu-admission:${appVersion}`);
    assert.equal((await k.json(['get', 'namespace', 'ml'])).metadata.labels['gpu-admission.io/enabled'], 'true');
    const secret = await k.json(['get', 'secret', 'gpu-admission-tls', ...ns]);
    for (const [hook, config] of Object.entries(await clientConfigs(k))) assert.equal(config.caBundle, secret.data['ca.crt'], hook);

    // No replica runs here (no kubelet): the Service has no endpoints, as during an uninstall,
    // and the pod webhook fails closed — the reason the uninstall steps take the namespace out first.
    const refused = await k.apply(gpuPod('while-opted-in'));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /failed calling webhook "pods\.gpu-admission\.io"/);
    log(`refused while no replica runs: ${refused.stderr.trim()}`);

    const upgraded = await sh(blocks.get('helm-upgrade')!);
    assert.equal(upgraded.code, 0, `the upgrade step:\n${upgraded.stdout}\n${upgraded.stderr}`);
    const history = await sh('helm history gpu-admission --namespace gpu-admission -o json');
    assert.deepEqual(JSON.parse(history.stdout).map((r: Obj) => r.status), ['superseded', 'deployed']);
    assert.deepEqual(await inForce(), drafted, 'the same values keep the same policy');

    const removed = await sh(blocks.get('helm-uninstall')!);
    assert.equal(removed.code, 0, `the uninstall steps:\n${removed.stdout}\n${removed.stderr}`);
    assert.match(removed.stdout, /^ml +Active +\S+ +true$/m, 'the first step lists the opted-in namespaces with their label');
    assert.equal((await k.json(['get', 'namespace', 'ml'])).metadata.labels['gpu-admission.io/enabled'], undefined);
    const left = [...(await k.json<{ items: Obj[] }>(['get', 'mutatingwebhookconfigurations'])).items, ...(await k.json<{ items: Obj[] }>(['get', 'validatingwebhookconfigurations'])).items];
    assert.deepEqual(left.map((o) => o.metadata.name).filter((n) => n.startsWith('gpu-admission')), [], 'no webhook configuration is left');
    assert.deepEqual(await inForce(), drafted, 'the policy is kept');
    const stored = await k.apply(gpuPod('after-uninstall'));
    assert.equal(stored.code, 0, stored.stderr);
    assert.deepEqual((await k.json(['get', 'pod', 'after-uninstall', '-n', 'ml'])).spec.containers[0].resources.limits, { 'gpu-admission.io/gpu-memory': '4Gi' },
      'stored untouched: nothing decides it any more');
  });
});

describe('docs/operators.md: install with kustomize and point the webhooks at a laptop and back, as the operator types them', () => {
  let op: Operator;
  before(async () => { op = await operator('kustomize-docs'); });
  after(async () => {
    await op?.cp.stop();
    if (op) await rm(op.work, { recursive: true, force: true });
  });

  it('when the kustomize block runs as written, then every webhook of the three configurations trusts the generated CA and the drafted policy is in force', async () => {
    const { k, sh } = op;
    const blocks = await documentedBlocks();
    const installed = await sh(blocks.get('kustomize-install')!);
    assert.equal(installed.code, 0, `the kustomize steps:\n${installed.stdout}\n${installed.stderr}`);
    const ca = (await readFile(join(op.dir, 'certs/ca.crt'))).toString('base64');
    const configs = await clientConfigs(k);
    assert.deepEqual(Object.keys(configs).sort(), [
      'audit.gpu-admission.io', 'not-opted-in.gpu-admission.io', 'pods.gpu-admission.io', 'policy.gpu-admission.io', 'workloads.gpu-admission.io',
    ]);
    for (const [hook, config] of Object.entries(configs)) {
      assert.equal(config.caBundle, ca, `${hook} trusts the CA gen-certs.sh made`);
      assert.equal(config.service.name, 'gpu-admission', hook);
    }
    assert.equal((await k.json(['get', 'deployment', 'gpu-admission', '-n', 'gpu-admission'])).spec.template.spec.containers[0].image, 'registry.mine.example/gpu-admission:0.1.0');
    assert.equal((await k.json(['get', 'secret', 'gpu-admission-tls', '-n', 'gpu-admission'])).type, 'kubernetes.io/tls');
    const drafted = parse(await readFile(join(op.dir, 'my-policy.yaml'), 'utf8'));
    assert.deepEqual(parse((await k.json(['get', 'configmap', 'gpu-admission-policy', '-n', 'gpu-admission'])).data['policy.yaml']), drafted);
    assert.equal((await k.json(['get', 'namespace', 'ml'])).metadata.labels['gpu-admission.io/enabled'], 'true');

    // The laptop: the certificate line of the doc, then every webhook to its URL, then back.
    const certs = /^bash certs\/gen-certs\.sh -o certs\/laptop .*$/m.exec(await readFile(join(ROOT, 'docs/operators.md'), 'utf8'))?.[0];
    assert.ok(certs);
    assert.equal((await sh(certs)).code, 0);
    const laptopCa = (await readFile(join(op.dir, 'certs/laptop/ca.crt'))).toString('base64');
    const toLaptop = await sh(blocks.get('kustomize-to-laptop')!);
    assert.equal(toLaptop.code, 0, `to the laptop:\n${toLaptop.stdout}\n${toLaptop.stderr}`);
    const onLaptop = await clientConfigs(k);
    for (const [hook, config] of Object.entries(onLaptop)) {
      assert.deepEqual(config, { url: `https://my-laptop.example:8443${configs[hook]!.service.path}`, caBundle: laptopCa }, hook);
    }
    const back = await sh(blocks.get('kustomize-from-laptop')!);
    assert.equal(back.code, 0, `back to the Service:\n${back.stdout}\n${back.stderr}`);
    assert.deepEqual(await clientConfigs(k), configs, 'every webhook is as the install left it');
  });
});
