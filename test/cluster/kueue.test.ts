// `policy kueue`: flavors that select exactly their pool's nodes, transformations into the generic
// totals, zero quotas where a pool must refuse; the pool label that makes flavors exact without
// knowing the nodes; `policy check --cluster` on pools their labels cannot tell apart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flavorOverlaps } from '../../src/cluster/check.ts';
import { kueueObjects, KUEUE_QUOTA } from '../../src/cluster/kueue.ts';
import { poolsOfNode, toClusterNode, type ClusterNode } from '../../src/cluster/model.ts';
import { decide } from '../../src/engine/decide.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { matchesRequirements, selectorRequirements } from '../../src/vocabulary/node-selector.ts';
import { applied, podWith } from '../helpers/pods.ts';
import { fixturePolicy } from '../helpers/policies.ts';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { run, runAsync } from '../../src/cli/main.ts';
import type { OpenCluster } from '../../src/cli/cluster.ts';

const policy = fixturePolicy('kueue');
const node = (name: string, labels: Record<string, string>): ClusterNode =>
  toClusterNode({ metadata: { name, labels }, status: { allocatable: { 'nvidia.com/gpu': '1' }, conditions: [{ type: 'Ready', status: 'True' }] } });
const NODES = [
  node('t4-1', { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }),
  node('a10-1', { 'ack.node.gpu.schedule': 'core_mem', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' }),
  node('a10-cgpu-1', { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' }),
  node('h100-1', { 'aliyun.accelerator/nvidia_name': 'NVIDIA-H100' }),
  node('l20-1', { gpu: 'on' }),
];
type Flavor = { metadata: { name: string }; spec: { nodeLabels: Record<string, string>; tolerations?: unknown[] } };
type Queue = { spec: { resourceGroups: { coveredResources: string[]; flavors: { name: string; resources: { name: string; nominalQuota: string }[] }[] }[] } };
const quotas = (p: Policy): Record<string, Record<string, string>> => Object.fromEntries((kueueObjects(p).clusterQueue as Queue).spec.resourceGroups[0]!.flavors
  .map((f) => [f.name, Object.fromEntries(f.resources.map((r) => [r.name, r.nominalQuota]))]));
const withPoolLabel = (): Policy => {
  const text = readFileSync(new URL('../fixtures/policies/kueue.yaml', import.meta.url), 'utf8').replace('acceptNvidiaGpu: true', 'acceptNvidiaGpu: true\n  poolLabel: gpu-admission.io/pool');
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.policy;
};

describe('policy kueue: ResourceFlavors', () => {
  it('when flavors are made, then there is one per pool, named as the pool, whose nodeLabels select exactly that pool\'s nodes', () => {
    const flavors = kueueObjects(policy).flavors as unknown as Flavor[];
    assert.deepEqual(flavors.map((f) => f.metadata.name), policy.pools.map((p) => p.name));
    for (const f of flavors) {
      const selected = NODES.filter((n) => matchesRequirements(n.labels, selectorRequirements(f.spec.nodeLabels)));
      assert.deepEqual(selected.map((n) => poolsOfNode(policy, n).map((p) => p.name)), [[f.metadata.name]], f.metadata.name);
    }
  });

  it('when a pool has taints, then its flavor carries the tolerations Kueue adds at admission', () => {
    const h100 = (kueueObjects(policy).flavors as unknown as Flavor[]).find((f) => f.metadata.name === 'h100');
    assert.deepEqual(h100?.spec.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('when the policy has a pool label, then each flavor selects by it alone, and every pool\'s nodes must carry it', () => {
    const p = withPoolLabel();
    assert.deepEqual((kueueObjects(p).flavors as unknown as Flavor[]).map((f) => f.spec.nodeLabels['gpu-admission.io/pool']), p.pools.map((x) => x.name));
    assert.ok(kueueObjects(p).flavors.every((f) => Object.keys((f as unknown as Flavor).spec.nodeLabels).length === 1));
    assert.deepEqual(p.pools.map((x) => x.nodeSelector['gpu-admission.io/pool']), p.pools.map((x) => x.name));
  });

  it('when a pool\'s nodeSelector gives the pool label another value, then the policy is invalid at that path', () => {
    const r = parsePolicy(JSON.stringify({ apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', defaults: { poolLabel: 'pool' },
      pools: [{ name: 'a', backend: 'ack-cgpu', nodeSelector: { pool: 'b' }, gpu: { model: 'T4', memory: '15Gi', perNode: 1 } }] }));
    assert.deepEqual(r.ok ? [] : r.errors, ['/pools/0/nodeSelector/pool: defaults.poolLabel gives this pool pool=a, not b']);
  });

  it('when a disabled pool is in the policy, then it gets no flavor, and stderr says why', () => {
    const r = parsePolicy(readFileSync(new URL('../fixtures/policies/kueue.yaml', import.meta.url), 'utf8').replace('  - name: l20-hami', '  - name: l20-hami\n    disabled: true'));
    assert.ok(r.ok);
    const objects = kueueObjects(r.policy);
    assert.ok(!objects.flavors.some((f) => (f as unknown as Flavor).metadata.name === 'l20-hami'));
    assert.ok(objects.notes.some((n) => n.startsWith('pool l20-hami is disabled')));
  });
});

describe('the pool label makes a flavor exact without knowing the nodes', () => {
  it('when a compute share carries the T4 flavor\'s pool label and no node is known, then no pool but T4\'s is left, and the pod is refused with why', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi', 'gpu-admission.io/gpu-cores': '30' } }], {},
      { spec: { nodeSelector: { 'gpu-admission.io/pool': 't4-shared' } } });
    const decision = decide(pod, { policy: withPoolLabel(), namespace: { name: 'ml', labels: {} } });
    assert.match(decision.kind === 'deny' ? decision.message : '', /pool l20-hami: the pod's nodeSelector gpu-admission\.io\/pool=t4-shared excludes it/);
  });

  it('when a memory share carries it, then it is routed to that pool, whose affinity names the label', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi' } }], {}, { spec: { nodeSelector: { 'gpu-admission.io/pool': 'a10-cgpu' } } });
    const out = applied(pod, decide(pod, { policy: withPoolLabel(), namespace: { name: 'ml', labels: {} } }));
    assert.match(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '', /"pools":\["a10-cgpu"\]/);
    const terms = out.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.ok(terms.every((t) => t.matchExpressions?.some((e) => e.key === 'gpu-admission.io/pool' && e.values?.[0] === 'a10-cgpu')));
  });
});

describe('policy kueue: the ClusterQueue skeleton', () => {
  it('when the queue is made, then it covers the generic totals over every flavor, in pool order', () => {
    const group = (kueueObjects(policy).clusterQueue as Queue).spec.resourceGroups[0]!;
    assert.deepEqual(group.coveredResources, [KUEUE_QUOTA.gpu, KUEUE_QUOTA.memory, KUEUE_QUOTA.cores]);
    assert.deepEqual(group.flavors.map((f) => f.name), policy.pools.map((p) => p.name));
  });

  it('when a pool cannot limit compute (cgpu) or share a card (exclusive), then those quotas are 0, so Kueue never picks its flavor for them', () => {
    const q = quotas(policy);
    assert.deepEqual(q['t4-shared'], { [KUEUE_QUOTA.gpu]: '1', [KUEUE_QUOTA.memory]: '15Gi', [KUEUE_QUOTA.cores]: '0' });
    assert.deepEqual(q['a10-core'], { [KUEUE_QUOTA.gpu]: '4', [KUEUE_QUOTA.memory]: '96Gi', [KUEUE_QUOTA.cores]: '400' });
    assert.deepEqual(q.h100, { [KUEUE_QUOTA.gpu]: '8', [KUEUE_QUOTA.memory]: '0', [KUEUE_QUOTA.cores]: '0' });
    assert.deepEqual(q['l20-hami'], { [KUEUE_QUOTA.gpu]: '8', [KUEUE_QUOTA.memory]: '384Gi', [KUEUE_QUOTA.cores]: '800' });
  });
});

describe('policy kueue: transformations', () => {
  const transformations = (kueueObjects(policy).configuration as { resources: { transformations: unknown[] } }).resources.transformations;

  it('when generic requests are charged, then per-GPU memory and cores become totals (× gpu) and nvidia.com/gpu a generic GPU', () => {
    assert.deepEqual(transformations.slice(0, 3), [
      { input: 'gpu-admission.io/gpu-memory', strategy: 'Replace', multiplyBy: 'gpu-admission.io/gpu', outputs: { 'gpu-admission.io/total-gpu-memory': '1' } },
      { input: 'gpu-admission.io/gpu-cores', strategy: 'Replace', multiplyBy: 'gpu-admission.io/gpu', outputs: { 'gpu-admission.io/total-gpu-cores': '1' } },
      { input: 'nvidia.com/gpu', strategy: 'Replace', outputs: { 'gpu-admission.io/gpu': '1' } },
    ]);
  });

  it('when plain Pods are charged after the rewrite (Kueue\'s pod integration), then each backend name maps into the same totals, once', () => {
    assert.deepEqual(transformations.slice(3), [
      { input: 'aliyun.com/gpu-mem', strategy: 'Replace', outputs: { 'gpu-admission.io/total-gpu-memory': '1Gi' } },
      { input: 'aliyun.com/gpu-core.percentage', strategy: 'Replace', outputs: { 'gpu-admission.io/total-gpu-cores': '1' } },
      { input: 'hami.io/gpu', strategy: 'Replace', outputs: { 'gpu-admission.io/gpu': '1' } },
      { input: 'hami.io/gpumem', strategy: 'Replace', multiplyBy: 'hami.io/gpu', outputs: { 'gpu-admission.io/total-gpu-memory': '1Mi' } },
      { input: 'hami.io/gpucores', strategy: 'Replace', multiplyBy: 'hami.io/gpu', outputs: { 'gpu-admission.io/total-gpu-cores': '1' } },
    ]);
  });

  it('when MIG pools are in the policy, then a slice is charged its profile\'s memory (decimal GB, as NVIDIA names it)', () => {
    const mig = (kueueObjects(fixturePolicy('design')).configuration as { resources: { transformations: { input: string; outputs: unknown }[] } }).resources.transformations;
    assert.deepEqual(mig.find((t) => t.input === 'nvidia.com/mig-2g.20gb')?.outputs, { 'gpu-admission.io/total-gpu-memory': '20G' });
  });
});

describe('policy check --cluster: pools their labels cannot tell apart', () => {
  it('when a node of another pool carries a pool\'s flavor labels, then the check names the pools and the node, and the pool label ends it', () => {
    const pools = `  - name: h100-cgpu
    backend: ack-cgpu
    nodeSelector: {aliyun.accelerator/nvidia_name: NVIDIA-H100}
    gpu: {model: H100, memory: 80Gi, perNode: 8}
`;
    const text = readFileSync(new URL('../fixtures/policies/kueue.yaml', import.meta.url), 'utf8').replace('  - name: l20-hami', `${pools}  - name: l20-hami`);
    const r = parsePolicy(text);
    assert.ok(r.ok);
    const shared = node('h100-cgpu-1', { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'NVIDIA-H100' });
    assert.deepEqual(flavorOverlaps(r.policy, NODES), []);
    assert.deepEqual(flavorOverlaps(r.policy, [...NODES, shared]), ['pool h100: its labels (aliyun.accelerator/nvidia_name=NVIDIA-H100) also select '
      + 'node h100-cgpu-1 of pool h100-cgpu: a Kueue flavor or nodeSelector of them cannot tell the pools apart; label each GPU node with its pool (defaults.poolLabel)']);
    const labelled = withPoolLabel();
    const withLabel = [...NODES, shared].map((n) => node(n.name, { ...n.labels, 'gpu-admission.io/pool': poolsOfNode(r.policy, n)[0]?.name ?? '' }));
    assert.deepEqual(flavorOverlaps(labelled, withLabel), []);
  });
});

describe('gpu-admission policy kueue', () => {
  it('when run on a policy, then stdout is the flavors and the ClusterQueue as YAML documents to apply, and stderr the notes', () => {
    const out = run(['policy', 'kueue', 'test/fixtures/policies/kueue.yaml']);
    assert.equal(out.exitCode, 0);
    const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as { kind: string; spec: { nodeLabels?: Record<string, unknown> } });
    assert.deepEqual(docs.map((d) => d.kind), [...policy.pools.map(() => 'ResourceFlavor'), 'ClusterQueue']);
    assert.equal(docs.at(-2)?.spec.nodeLabels?.gpu, 'on');
    assert.match(out.stdout, /^ {4}gpu: "on"$/m, 'quoted, so that YAML 1.1 readers (kubectl) keep it a string');
    assert.match(out.stderr, /^note: .*Topology Aware Scheduling/m);
  });

  it('when run without FILE, then the embedded default policy is used; with a broken policy, exit 1', () => {
    assert.match(run(['policy', 'kueue', '--config']).stdout, /kind: Configuration/);
    assert.equal(run(['policy', 'kueue', 'examples/policies/bad-policy.yaml']).exitCode, 1);
  });
});

describe('mutate and explain --cluster read the nodes as the webhook does', () => {
  const cluster = (nodes: ClusterNode[]): OpenCluster => async () => ({
    nodes: async () => nodes, pods: async () => [], dra: async () => ({ deviceClasses: [], slices: [], claims: [] } as never),
    policyText: async () => ({ text: readFileSync(new URL('../fixtures/policies/kueue.yaml', import.meta.url), 'utf8') }),
    namespaceLabels: async () => ({}), policyRefusal: async () => undefined, mutatingWebhooks: async () => [],
  });
  const hami = toClusterNode({ metadata: { name: 'l20-1', labels: { gpu: 'on' } }, status: { allocatable: { 'hami.io/gpu': '40' }, conditions: [{ type: 'Ready', status: 'True' }] } });
  // A compute share with the T4 flavor's nodeSelector: only the HAMi pool's nodes can say no.
  const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ml' }, spec: {
    nodeSelector: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' },
    containers: [{ name: 'main', resources: { limits: { 'gpu-admission.io/gpu-memory': '8Gi', 'gpu-admission.io/gpu-cores': '30' } } }] } });

  it('when explain --cluster meets a pod whose nodeSelector no HAMi node carries, then the HAMi pool is ruled out by its nodes', async () => {
    const out = await runAsync(['explain', '-f', '-', '--cluster'], cluster([hami]), () => pod);
    assert.match(out.stdout + out.stderr, /l20-hami: the pod's nodeSelector .* matches none of its 1 node/);
    const offline = run(['explain', '-f', '-', '--policy', 'test/fixtures/policies/kueue.yaml'], () => pod);
    assert.doesNotMatch(offline.stdout + offline.stderr, /matches none of its/);
  });

  it('when the user may not list nodes, then explain --cluster says so and judges pools by their labels', async () => {
    const open: OpenCluster = async (flags) => ({ ...(await cluster([hami])(flags)), nodes: async () => { throw new Error('forbidden'); } });
    const out = await runAsync(['explain', '-f', '-', '--cluster'], open, () => pod);
    assert.match(out.stderr, /^note: the nodes could not be read \(forbidden\)/);
    assert.doesNotMatch(out.stdout, /matches none of its/);
  });
});
