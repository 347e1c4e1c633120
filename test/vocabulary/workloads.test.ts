import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podTemplates, workloadKind, workloadKindOf, WORKLOAD_KINDS } from '../../src/vocabulary/workloads.ts';

const t = (name: string): Record<string, unknown> => ({ spec: { containers: [{ name }] } });
const paths = (group: string, kind: string, object: unknown): string[] =>
  podTemplates(workloadKind(group, kind)!, object).map((f) => f.path);

describe('the workload table: where each kind keeps its pod templates', () => {
  it('when a Deployment, a CronJob and a PodTemplate are read, then their one template each is found at its path', () => {
    assert.deepEqual(paths('apps', 'Deployment', { spec: { template: t('a') } }), ['spec.template']);
    assert.deepEqual(paths('batch', 'CronJob', { spec: { jobTemplate: { spec: { template: t('a') } } } }), ['spec.jobTemplate.spec.template']);
    assert.deepEqual(paths('', 'PodTemplate', { template: t('a') }), ['template']);
  });

  it('when a PyTorchJob has Master and Worker, then both templates are found by role, in a stable order', () => {
    const job = { spec: { pytorchReplicaSpecs: { Worker: { replicas: 3, template: t('w') }, Master: { replicas: 1, template: t('m') } } } };
    const found = podTemplates(workloadKind('kubeflow.org', 'PyTorchJob')!, job);
    assert.deepEqual(found.map((f) => f.path), ['spec.pytorchReplicaSpecs.Master.template', 'spec.pytorchReplicaSpecs.Worker.template']);
    assert.deepEqual(found[1]!.keys, ['spec', 'pytorchReplicaSpecs', 'Worker', 'template']);
    assert.equal(found[1]!.template, job.spec.pytorchReplicaSpecs.Worker.template);
  });

  it('when Ray objects are read, then the head, every worker group and the submitter are found', () => {
    const cluster = { headGroupSpec: { template: t('head') }, workerGroupSpecs: [{ groupName: 'a', template: t('a') }, { groupName: 'b', template: t('b') }] };
    assert.deepEqual(paths('ray.io', 'RayCluster', { spec: cluster }),
      ['spec.headGroupSpec.template', 'spec.workerGroupSpecs[0].template', 'spec.workerGroupSpecs[1].template']);
    assert.deepEqual(paths('ray.io', 'RayJob', { spec: { rayClusterSpec: cluster, submitterPodTemplate: t('s') } }), [
      'spec.rayClusterSpec.headGroupSpec.template', 'spec.rayClusterSpec.workerGroupSpecs[0].template',
      'spec.rayClusterSpec.workerGroupSpecs[1].template', 'spec.submitterPodTemplate']);
    assert.deepEqual(paths('ray.io', 'RayService', { spec: { rayClusterConfig: cluster } }).length, 3);
  });

  it('when a LeaderWorkerSet and a JobSet are read, then leader and worker, and each replicated job\'s pod template, are found', () => {
    assert.deepEqual(paths('leaderworkerset.x-k8s.io', 'LeaderWorkerSet', { spec: { leaderWorkerTemplate: { leaderTemplate: t('l'), workerTemplate: t('w') } } }),
      ['spec.leaderWorkerTemplate.leaderTemplate', 'spec.leaderWorkerTemplate.workerTemplate']);
    assert.deepEqual(paths('jobset.x-k8s.io', 'JobSet', { spec: { replicatedJobs: [{ name: 'x', template: { spec: { template: t('x') } } }] } }),
      ['spec.replicatedJobs[0].template.spec.template']);
  });

  it('when optional templates are absent or not objects, then they are skipped rather than thrown on', () => {
    assert.deepEqual(paths('leaderworkerset.x-k8s.io', 'LeaderWorkerSet', { spec: { leaderWorkerTemplate: { workerTemplate: t('w') } } }),
      ['spec.leaderWorkerTemplate.workerTemplate']);
    assert.deepEqual(paths('kubeflow.org', 'TFJob', { spec: { tfReplicaSpecs: { PS: null, Worker: { replicas: 2 } } } }), []);
    assert.deepEqual(paths('ray.io', 'RayCluster', { spec: { workerGroupSpecs: 'nope' } }), []);
    assert.deepEqual(paths('apps', 'Deployment', null), []);
  });

  it('when a document names its apiVersion, then the row is found by group; the core group and unknown kinds too', () => {
    assert.equal(workloadKindOf('kubeflow.org/v1', 'MPIJob')?.resource, 'mpijobs');
    assert.equal(workloadKindOf('v1', 'ReplicationController')?.resource, 'replicationcontrollers');
    assert.equal(workloadKindOf('example.com/v1', 'Deployment'), undefined);
    assert.equal(workloadKindOf(undefined, 'Deployment'), undefined);
  });

  it('when the table is read, then kinds are unique and every row has templates and a plural resource', () => {
    assert.equal(new Set(WORKLOAD_KINDS.map((w) => w.kind)).size, WORKLOAD_KINDS.length);
    for (const w of WORKLOAD_KINDS) {
      assert.ok(w.templates.length > 0, w.kind);
      assert.match(w.resource, /^[a-z]+s$/, w.kind);
    }
  });
});
