import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fjp from 'fast-json-patch';
import { parse, parseAllDocuments } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
function cli(args: string[], input?: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), ...args], { cwd: root, input, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
const fixture = (p: string): string => join(root, p);

describe('gpu-admission CLI on real files', () => {
  it('when a Deployment is mutated, then its pod template is translated and the exit code is 0', () => {
    const r = cli(['mutate', '-f', fixture('examples/workloads/train-deployment.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const out = parse(r.stdout);
    assert.equal(out.kind, 'Deployment');
    assert.deepEqual(out.spec.template.spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '12', 'aliyun.com/gpu-core.percentage': '30' });
    assert.match(out.spec.template.metadata.annotations['gpu-admission.io/decision'], /"pools":\["a10-core"\]/);
  });

  it('when -o patch is asked, then the patch applies to the input document', () => {
    const input = parse(cli(['mutate', '-f', fixture('examples/workloads/train-deployment.yaml'), '-o', 'json']).stdout);
    const patch = JSON.parse(cli(['mutate', '-f', fixture('examples/workloads/train-deployment.yaml'), '-o', 'patch']).stdout);
    const original = parse(readFileSync(fixture('examples/workloads/train-deployment.yaml'), 'utf8'));
    assert.deepEqual(fjp.applyPatch(original, patch, true, false).newDocument, input);
  });

  it('when several documents are given, then each is handled (CronJob translated, plain pod untouched)', () => {
    const r = cli(['mutate', '-f', fixture('test/fixtures/pods/mixed-kinds.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const [cron, pod] = parseAllDocuments(r.stdout).map((d) => d.toJS());
    assert.deepEqual(cron.spec.jobTemplate.spec.template.spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '15' });
    assert.deepEqual(pod.spec.containers[0], { name: 'web', image: 'nginx' });
  });

  it('when a PyTorchJob is mutated, then every replica template is rewritten in the one document', () => {
    const r = cli(['mutate', '-f', fixture('examples/workloads/pytorchjob.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    assert.equal(docs.length, 1);
    const specs = docs[0].spec.pytorchReplicaSpecs;
    assert.deepEqual(specs.Master.template.spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '12' });
    assert.deepEqual(specs.Worker.template.spec.containers[0].resources.limits, { 'aliyun.com/gpu': '2' });
    assert.equal(specs.Worker.replicas, 2);
    const patch = JSON.parse(cli(['mutate', '-f', fixture('examples/workloads/pytorchjob.yaml'), '-o', 'patch']).stdout);
    const original = parse(readFileSync(fixture('examples/workloads/pytorchjob.yaml'), 'utf8'));
    assert.deepEqual(fjp.applyPatch(original, patch, true, false).newDocument, docs[0]);
  });

  it('when a RayCluster worker group cannot be served, then explain and mutate name it by its path and exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    const ray = { apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: 'rc', namespace: 'ml' }, spec: {
      headGroupSpec: { template: { spec: { containers: [{ name: 'head', image: 'ray' }] } } },
      workerGroupSpecs: [{ groupName: 'gpu', template: { spec: { containers: [{ name: 'w', image: 'ray', resources: { limits: { 'gpu-admission.io/gpu-memory': '200Gi' } } }] } } }] } };
    writeFileSync(join(dir, 'ray.yaml'), JSON.stringify(ray));
    const m = cli(['mutate', '-f', join(dir, 'ray.yaml')]);
    assert.equal(m.status, 1);
    assert.match(m.stderr, /^RayCluster\/rc spec\.workerGroupSpecs\[0\]\.template: denied: container "w" asks 1 GPU × 200Gi/m);
    assert.equal(m.stdout, '', 'a refused object is not printed');
    const e = cli(['explain', '-f', join(dir, 'ray.yaml')]);
    assert.equal(e.status, 1);
    assert.match(e.stdout, /^RayCluster\/rc spec\.headGroupSpec\.template in namespace ml/m);
    assert.match(e.stdout, /no GPU request: left alone/);
  });

  it('when an AdmissionReview of a Deployment is given, then its template is decided in the review\'s namespace', () => {
    const deployment = parse(readFileSync(fixture('examples/workloads/train-deployment.yaml'), 'utf8'));
    delete deployment.metadata.namespace;
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', namespace: 'research', object: deployment } };
    const r = cli(['explain', '-f', '-'], JSON.stringify(review));
    assert.match(r.stdout, /^Deployment\/\S+ in namespace research /);
  });

  it('when -o patch is asked of several documents and one is denied, then its place holds null, so patches stay aligned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    const ok = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ok' }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } }] } };
    const bad = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': '200Gi' } } }] } };
    writeFileSync(join(dir, 'two.yaml'), `${JSON.stringify(bad)}\n---\n${JSON.stringify(ok)}\n`);
    const r = cli(['mutate', '-f', join(dir, 'two.yaml'), '-o', 'patch']);
    assert.equal(r.status, 1);
    const patches = JSON.parse(r.stdout);
    assert.equal(patches.length, 2);
    assert.equal(patches[0], null);
    assert.ok(Array.isArray(patches[1]) && patches[1].length > 0);
  });

  it('when the pod cannot be served, then the denial goes to stderr and the exit code is 1', () => {
    const r = cli(['mutate', '-f', fixture('test/fixtures/pods/impossible.yaml')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Pod\/too-big: denied: container "train" asks 2 GPUs × 90Gi: pool t4-shared: not allowed in namespace research/);
  });

  it('when the input comes from stdin as an AdmissionReview, then its namespace is used', () => {
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', namespace: 'research',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu': '1' } } }] } } } };
    const r = cli(['mutate', '-f', '-', '-o', 'json'], JSON.stringify(review));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).spec.containers[0].resources.limits, { 'aliyun.com/gpu': '1' });
  });

  it('when explain is asked, then every pool says whether it serves and why not', () => {
    const r = cli(['explain', '-f', fixture('examples/workloads/train-deployment.yaml')]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /pool t4-shared: ruled out: cannot limit compute/);
    assert.match(r.stdout, /pool a10-core: can serve: train \{aliyun.com\/gpu-mem: 12, aliyun.com\/gpu-core.percentage: 30\}  <- chosen/);
    assert.match(r.stdout, /pool h100: ruled out: takes whole GPUs only/);
  });

  it('when the input file is missing or not a pod, then the exit code is 2 with the reason', () => {
    const missing = cli(['mutate', '-f', '/nonexistent.yaml']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read \/nonexistent.yaml/);
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    writeFileSync(join(dir, 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n');
    const svc = cli(['mutate', '-f', join(dir, 'svc.yaml')]);
    assert.equal(svc.status, 2);
    assert.match(svc.stderr, /kind "Service" holds no pod/);
  });

  it('when an annotation is not a string in YAML, then the exit code is 2 naming the field, not a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    writeFileSync(join(dir, 'bool.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  annotations:\n    gpu-admission.io/rdma: true\nspec:\n  containers: [{name: c}]\n');
    const r = cli(['mutate', '-f', join(dir, 'bool.yaml')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `gpu-admission: ${join(dir, 'bool.yaml')}: document 1: metadata.annotations.gpu-admission.io~1rdma must be a string\n`);
  });

  it('when --policy is invalid, then the exit code is 2 with every error path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools: [{name: a, backend: x, gpu: {model: m, memory: 1GB, perNode: 1}}]\n');
    const r = cli(['mutate', '-f', fixture('test/fixtures/pods/impossible.yaml'), '--policy', join(dir, 'p.yaml')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\/pools\/0\/backend: must be one of/);
    assert.match(r.stderr, /\/pools\/0\/gpu\/memory: must be a quantity such as 24Gi/);
  });

  it('when policy check is run, then the DESIGN example passes (0) and a broken one fails (1)', () => {
    const ok = cli(['policy', 'check', fixture('test/fixtures/policies/design.yaml')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(content hash [0-9a-f]{12}, 5 pools/);
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools: []\nextra: 1\n');
    const bad = cli(['policy', 'check', join(dir, 'bad.yaml')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /\/: unknown field "extra"/);
    assert.match(bad.stderr, /\/pools: must NOT have fewer than 1 items/);
  });

  it('when a valid policy has a likely mistake, then policy check warns on stderr and still exits 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools: [{name: t, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}]\nnamespaces: [{names: [x], allowedPools: []}]\n');
    const r = cli(['policy', 'check', join(dir, 'p.yaml')]);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, 'warning: /namespaces/0/allowedPools: list pools: empty, those namespaces get no GPU\n');
  });

  it('when a value reads as a boolean to YAML 1.1 (kubectl), then mutate -o yaml quotes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ga-cli-'));
    writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools: [{name: l40s, backend: hami, nodeSelector: {gpu: "on"}, gpu: {model: L40S, memory: 48Gi, perNode: 8}}]\n');
    writeFileSync(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: {limits: {gpu-admission.io/gpu-memory: 8Gi}}}]}\n');
    const r = cli(['mutate', '-f', join(dir, 'pod.yaml'), '--policy', join(dir, 'policy.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /- "on"/);
  });

  it('when the schema is printed, then it is JSON Schema that rejects unknown fields', () => {
    const schema = JSON.parse(cli(['policy', 'schema']).stdout);
    assert.equal(schema.title, 'GpuAdmissionPolicy');
    assert.equal(schema.additionalProperties, false);
  });

  it('when DeviceClasses are asked of the DRA example, then each is a DeviceClass document of the policy\'s names; a policy without dra pools prints none', () => {
    const r = cli(['policy', 'deviceclasses', fixture('examples/policies/dra.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    assert.deepEqual(docs.map((d) => [d.apiVersion, d.kind, d.metadata.name]), [
      ['resource.k8s.io/v1', 'DeviceClass', 'h100.gpu-admission.io'], ['resource.k8s.io/v1', 'DeviceClass', 'a100.example.com'],
      ['resource.k8s.io/v1', 'DeviceClass', 'a100-mig-1g-10gb.gpu-admission.io'], ['resource.k8s.io/v1', 'DeviceClass', 'a100-mig-3g-40gb.gpu-admission.io'],
    ]);
    const none = cli(['policy', 'deviceclasses', fixture('examples/policies/ack-pro.yaml')]);
    assert.deepEqual([none.status, none.stdout], [0, '']);
    assert.match(none.stderr, /no pool has backend dra/);
    const bad = cli(['policy', 'deviceclasses', fixture('examples/policies/bad-policy.yaml')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid policy/);
  });

  it('when --namespace-labels is malformed, then the exit code is 2', () => {
    const r = cli(['mutate', '-f', fixture('test/fixtures/pods/impossible.yaml'), '--namespace-labels', 'novalue']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--namespace-labels: "novalue" is not key=value/);
  });
});
