// `gpu-admission inspect` when the policy ConfigMap holds an invalid policy — exactly when the
// operator needs it. The webhook keeps the last good policy, whose text no object of the cluster
// holds; so inspect says the ConfigMap is invalid and why, names the revision the webhook's
// InvalidPolicy Event says it keeps, and still shows the GPU nodes (by their own resources) and
// the pending GPU pods. The cluster is a fake of the Cluster interface the real reader implements.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Cluster, OpenCluster } from '../../src/cli/cluster.ts';
import { runAsync } from '../../src/cli/main.ts';
import type { PolicyRefusal } from '../../src/cluster/inspect.ts';
import type { ClusterNode, ClusterPod } from '../../src/cluster/model.ts';
import { keptRevision, refusalNote } from '../../src/kube/policy-reloader.ts';

const DESIGN = readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8');
const INVALID = DESIGN.replace('memory: 15Gi', 'memory: 15GB');

const NODES: ClusterNode[] = [
  { name: 'gpu-t4-0', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }, annotations: {}, ready: true,
    allocatable: { cpu: 8, memory: 3e10, pods: 110, 'aliyun.com/gpu-mem': 15, 'aliyun.com/gpu-count': 1 } },
  { name: 'cpu-0', labels: {}, annotations: {}, ready: true, allocatable: { cpu: 8, memory: 3e10, pods: 110 } },
];
const PODS: ClusterPod[] = [
  { namespace: 'ml', name: 'infer', nodeName: 'gpu-t4-0', phase: 'Running', annotations: {}, requests: { 'aliyun.com/gpu-mem': 6 } },
  { namespace: 'ml', name: 'waiting', phase: 'Pending', requests: {},
    annotations: { 'gpu-admission.io/decision': JSON.stringify({ pools: ['t4-shared'], backend: 'ack-cgpu', revision: 'r', containers: {} }) } },
];

function fake(policy: string, refusal: PolicyRefusal | undefined): OpenCluster {
  const cluster: Cluster = {
    nodes: async () => NODES,
    pods: async () => PODS,
    policyText: async () => ({ text: policy, resourceVersion: '900' }),
    namespaceLabels: async () => ({}),
    dra: async () => ({ deviceClasses: [], devicesByNode: new Map() }),
    policyRefusal: async () => refusal, mutatingWebhooks: async () => [],
  };
  return async () => cluster;
}

const AT = '2026-12-03T07:00:00.000Z';

describe('inspect when the ConfigMap holds an invalid policy', () => {
  it('when the webhook\'s Event names the revision it keeps, then inspect says the ConfigMap is invalid with its errors, that revision, and shows the GPU nodes and pending pods (exit 1)', async () => {
    const r = await runAsync(['inspect'], fake(INVALID, { at: AT, kept: '812-0123456789ab' }));
    assert.equal(r.exitCode, 1, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, [
      'ConfigMap gpu-admission/gpu-admission-policy holds an invalid policy:',
      '  /pools/0/gpu/memory: must be a quantity such as 24Gi (GB is not a Kubernetes suffix: did you mean 15G or 15Gi?)',
      `The webhook refused it (its InvalidPolicy Event, ${AT}) and keeps the last good policy, revision 812-0123456789ab.`,
      'No object in the cluster holds the text of the policy in force, so the nodes are shown without pools,',
      'by their own resources. Fix the ConfigMap, or see the pools of a file with --policy FILE.',
      '',
      'NODE      READY  CARDS  ALLOCATED/TOTAL',
      'gpu-t4-0  yes    1      aliyun.com/gpu-mem 6/15 (40%), aliyun.com/gpu-count 0/1 (0%)',
      '',
      'PENDING GPU PODS',
      '  ml/waiting  pools: t4-shared',
      '',
      'Allocated/Total in cluster: aliyun.com/gpu-mem 6/15 (40%), aliyun.com/gpu-count 0/1 (0%)',
      '',
    ].join('\n'));
  });

  it('when -o json is asked, then the revision is the one kept and invalidPolicy carries the errors and the Event', async () => {
    const r = await runAsync(['inspect', '-o', 'json'], fake(INVALID, { at: AT, kept: '812-0123456789ab' }));
    assert.equal(r.exitCode, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.revision, '812-0123456789ab');
    assert.deepEqual(report.invalidPolicy.refusal, { at: AT, kept: '812-0123456789ab' });
    assert.match(report.invalidPolicy.errors[0], /^\/pools\/0\/gpu\/memory: /);
    assert.deepEqual(report.pools, []);
    assert.deepEqual(report.nodes.map((n: { name: string }) => n.name), ['gpu-t4-0']);
  });

  it('when no Event can be read, then inspect says so and where the revision in force is named, and still shows the nodes', async () => {
    const r = await runAsync(['inspect'], fake(INVALID, undefined));
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /No InvalidPolicy Event of the webhook was found \(Events expire after an hour, or you may not list them\)/);
    assert.match(r.stdout, /gpu_admission_policy_info\{revision\}/);
    assert.match(r.stdout, /^gpu-t4-0 {2}yes/m);
  });

  it('when the webhook had no policy to keep, then inspect says it is not ready', async () => {
    const r = await runAsync(['inspect'], fake(INVALID, { at: AT, kept: null }));
    assert.match(r.stdout, /and had no policy to keep: it is not ready\./);
    assert.equal(JSON.parse((await runAsync(['inspect', '-o', 'json'], fake(INVALID, { at: AT, kept: null }))).stdout).revision, null);
  });

  it('when --policy FILE is invalid, then that is still unusable input (exit 2): the operator gave it', async () => {
    const r = await runAsync(['inspect', '--policy', '-'], fake(DESIGN, undefined), () => INVALID);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /-: invalid policy/);
  });

  it('when the ConfigMap is valid, then inspect exits 0 with its pools as before', async () => {
    const r = await runAsync(['inspect'], fake(DESIGN, undefined));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^Policy 900-[0-9a-f]{12}$/m);
  });
});

describe('the InvalidPolicy Event note', () => {
  it('when the webhook writes a refusal, then keptRevision reads back the revision it kept, or null when it had none', () => {
    assert.equal(keptRevision(refusalNote('812-0123456789ab', ['/a: x', '/b: y'])), '812-0123456789ab');
    assert.equal(keptRevision(refusalNote(undefined, ['/a: x'])), null);
    assert.equal(keptRevision('something else'), undefined);
  });
});
