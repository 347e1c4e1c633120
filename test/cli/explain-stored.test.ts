// `kubectl get pod X -o yaml | gpu-admission explain -f - --cluster` (README's recipe for a live
// decision): a pod read back from the API server is explained by the decision the webhook wrote on
// it and the node it runs on, never admitted again (a scheduled pod has spec.nodeName, which a new
// pod may not have). The cluster is a fake of the Cluster interface the real reader implements.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import type { Cluster, OpenCluster } from '../../src/cli/cluster.ts';
import { run, runAsync } from '../../src/cli/main.ts';
import type { ClusterNode } from '../../src/cluster/model.ts';

const root = new URL('../../', import.meta.url);
const DESIGN = readFileSync(new URL('test/fixtures/policies/design.yaml', root), 'utf8');
const revision = (text: string): string => /content hash (\S+),/.exec(run(['policy', 'check', '-'], () => text).stdout)?.[1] ?? 'none';

const NEW_POD = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'train', namespace: 'ml' },
  spec: { containers: [{ name: 'main', image: 'x', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } }] } };

/** The pod as the webhook left it (mutate under the design policy), then as the API server stores a scheduled one. */
function storedPod(extra: { annotations?: Record<string, string> } = {}): Record<string, unknown> {
  const out = run(['mutate', '-f', '-', '--policy', new URL('test/fixtures/policies/design.yaml', root).pathname], () => stringify(NEW_POD));
  assert.equal(out.exitCode, 0, out.stderr);
  const pod = parse(out.stdout);
  pod.metadata = { ...pod.metadata, uid: '6f1c0d2e', resourceVersion: '812', creationTimestamp: '2026-12-03T07:00:00Z',
    annotations: { ...pod.metadata.annotations, ...extra.annotations } };
  pod.spec.nodeName = 'gpu-t4-0';
  pod.status = { phase: 'Running' };
  return pod;
}

const node = (name: string, labels: Record<string, string>): ClusterNode => ({ name, labels, annotations: {}, ready: true, allocatable: {} });
const NODES = [
  node('gpu-t4-0', { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }),
  node('cpu-0', {}),
];

function fakeCluster(policy: string, namespaceLabels: Record<string, string>, reads: string[], resourceVersion?: string): OpenCluster {
  const cluster: Cluster = {
    nodes: async () => { reads.push('nodes'); return NODES; },
    pods: async () => [],
    policyText: async () => ({ text: policy, ...(resourceVersion ? { resourceVersion } : {}) }),
    namespaceLabels: async (name) => (name === 'ml' ? namespaceLabels : undefined),
    dra: async () => ({ deviceClasses: [], devicesByNode: new Map() }),
    policyRefusal: async () => undefined, mutatingWebhooks: async () => [],
  };
  return async () => cluster;
}

const explainLive = (pod: unknown, policy: string, labels: Record<string, string> = { 'gpu-admission.io/enabled': 'true' }, reads: string[] = []) =>
  runAsync(['explain', '-f', '-', '--cluster'], fakeCluster(policy, labels, reads), () => stringify(pod));

describe('explain of a pod read back from the cluster', () => {
  it('when a scheduled pod the webhook decided is explained with --cluster, then its decision, revision in force, requests, node and the node\'s pool are told, not "spec.nodeName is set"', async () => {
    const reads: string[] = [];
    const r = await explainLive(storedPod(), DESIGN, undefined, reads);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /nodeName|denied/);
    assert.equal(r.stdout, [
      `Pod/train in namespace ml, as stored (policy ${revision(DESIGN)})`,
      '  decided by gpu-admission when it was created: pool t4-shared (backend ack-cgpu)',
      `  under policy revision ${revision(DESIGN)}, the revision of the policy in force`,
      '  container "main" asked 1 GPU × 4Gi; holds aliyun.com/gpu-mem: 4',
      '  runs on node gpu-t4-0 (phase Running), in pool t4-shared',
      '',
    ].join('\n'));
    assert.deepEqual(reads, ['nodes']);
  });

  it('when the policy in force changed since the pod was decided, then both revisions are named and a removed pool is said to be gone', async () => {
    const now = DESIGN.replace(/ {2}- name: t4-shared[\s\S]*?(?= {2}- name: a10-core)/, '');
    assert.notEqual(now, DESIGN);
    const r = await explainLive(storedPod(), now);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /pool t4-shared \(backend ack-cgpu\); t4-shared is not a pool of the policy in force\n/);
    assert.match(r.stdout, new RegExp(`under policy revision ${revision(DESIGN)}; the policy in force is revision ${revision(now)}, so a new pod like it may be decided otherwise`));
    assert.match(r.stdout, /runs on node gpu-t4-0 \(phase Running\), in no pool of the policy in force\n/);
  });

  it('when the policy in force is a ConfigMap, then its revision is the webhook\'s (<resourceVersion>-<hash>), and a decision under the same text at another resourceVersion says so', async () => {
    const hash = revision(DESIGN);
    const decidedAt = (rv: string): Record<string, any> => {
      const pod = storedPod() as Record<string, any>;
      const record = JSON.parse(pod.metadata.annotations['gpu-admission.io/decision']);
      pod.metadata.annotations['gpu-admission.io/decision'] = JSON.stringify({ ...record, revision: `${rv}-${hash}` });
      return pod;
    };
    const open = fakeCluster(DESIGN, { 'gpu-admission.io/enabled': 'true' }, [], '812');
    const same = await runAsync(['explain', '-f', '-', '--cluster'], open, () => stringify(decidedAt('812')));
    assert.match(same.stdout, new RegExp(`as stored \\(policy 812-${hash}\\)\n[\\s\\S]*under policy revision 812-${hash}, the revision of the policy in force\n`));
    const earlier = await runAsync(['explain', '-f', '-', '--cluster'], open, () => stringify(decidedAt('700')));
    assert.match(earlier.stdout, new RegExp(`under policy revision 700-${hash}, the same policy text as the policy in force \\(revision 812-${hash}\\)\n`));
  });

  it('when a scheduled pod has no decision (namespace not opted in), then it says so and what the webhook would decide now for a new pod like it, so labelled', async () => {
    const pod = structuredClone(NEW_POD) as Record<string, any>;
    pod.metadata.uid = 'a1b2';
    // What ACK's scheduler writes on a placed shared-GPU pod: not part of a new pod like it.
    pod.metadata.annotations = { ALIYUN_COM_GPU_MEM_IDX: '0' };
    pod.spec.nodeName = 'gpu-t4-0';
    pod.status = { phase: 'Running' };
    const r = await explainLive(pod, DESIGN, {});
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[1], '  not decided by gpu-admission: it has no gpu-admission.io/decision annotation, and namespace ml is not opted in '
      + '(label gpu-admission.io/enabled is absent), so the webhook does not rewrite its pods');
    assert.equal(lines[2], '  runs on node gpu-t4-0 (phase Running), in pool t4-shared');
    assert.equal(lines[3], '  what gpu-admission would decide now for a new pod like it (without spec.nodeName):');
    assert.match(r.stdout, /\n {4}pool t4-shared: can serve: main \{aliyun\.com\/gpu-mem: 4\} {2}<- chosen\n[\s\S]*\n {4}routed to t4-shared \(ack-cgpu\)\n$/);
    assert.doesNotMatch(r.stdout, /spec\.nodeName is set|ALIYUN_COM_GPU_MEM_IDX/);
  });

  it('when a stored pod without a decision could not be served now, then the hypothetical refusal is labelled and the exit code is 1', async () => {
    const pod = structuredClone(NEW_POD) as Record<string, any>;
    pod.metadata.creationTimestamp = '2026-12-03T07:00:00Z';
    pod.spec.containers[0].resources.limits = { 'gpu-admission.io/gpu-memory': '500Gi' };
    pod.spec.nodeName = 'gone-node';
    const r = await explainLive(pod, DESIGN);
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /not decided by gpu-admission: it has no gpu-admission.io\/decision annotation \(its namespace was not opted in when it was created/);
    assert.match(r.stdout, /runs on node gone-node, which is not among the cluster's nodes now\n/);
    assert.match(r.stdout, /a new pod like it \(without spec.nodeName\):\n[\s\S]*\n {4}denied: container "main" asks 1 GPU × 500Gi: pool t4-shared: card has 15Gi/);
  });

  it('when a stored pod is explained offline, then its decision is explained against the policy used here, without pools of nodes', () => {
    const policy = new URL('test/fixtures/policies/design.yaml', root).pathname;
    const r = run(['explain', '-f', '-', '--policy', policy], () => stringify(storedPod()));
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /under policy revision \S+, the revision of the policy used here\n/);
    assert.match(r.stdout, /\n {2}runs on node gpu-t4-0 \(phase Running\)\n$/);
  });

  it('when a pod still to be created sets spec.nodeName, then it is explained as a new pod: refused, as the webhook would', () => {
    const pod = structuredClone(NEW_POD) as Record<string, any>;
    pod.spec.nodeName = 'gpu-t4-0';
    const r = run(['explain', '-f', '-'], () => stringify(pod));
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /denied: spec\.nodeName is set \(node "gpu-t4-0"\)/);
  });

  it('when a stored pod carries a decision annotation that is not gpu-admission\'s, then explain says what is wrong with it and exits 1', async () => {
    const r = await explainLive(storedPod({ annotations: { 'gpu-admission.io/decision': '{"pools":"t4"}' } }), DESIGN);
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /its gpu-admission.io\/decision annotation is not a decision of gpu-admission: .*lacks pools, backend, revision or containers/);
  });
});
