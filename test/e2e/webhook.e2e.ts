// End to end: the webhook against a real kube-apiserver, etcd, controller-manager and scheduler.
// Each scenario asserts what the API server stored or what the scheduler did.
// Run: npm run test:e2e   (one scenario: npm run test:e2e -- --test-name-pattern='NUMA')
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from './harness/webhook.ts';
import { ROOT, namespace, renderOverlay, startEnvironment, stopAfterSuite, type Environment } from './harness/cluster.ts';
import { eventually, runProcess, type Kubectl } from './harness/kubectl.ts';
import { POOL_NODES } from './harness/nodes.ts';

let env: Environment;
let k: Kubectl;
const POLICY = join(ROOT, 'test/e2e/policy.yaml');

type Obj = Record<string, any>;
const g = (memory?: string, gpu?: string, cores?: string): Record<string, string> => ({
  ...(gpu ? { 'gpu-admission.io/gpu': gpu } : {}),
  ...(memory ? { 'gpu-admission.io/gpu-memory': memory } : {}),
  ...(cores ? { 'gpu-admission.io/gpu-cores': cores } : {}),
});

function podSpec(limits: Record<string, string>, extra: Obj = {}): Obj {
  return { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits } }], ...extra };
}
function pod(name: string, ns: string, limits: Record<string, string>, annotations: Record<string, string> = {}, extra: Obj = {}): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, annotations }, spec: podSpec(limits, extra) };
}
function deployment(name: string, ns: string, limits: Record<string, string>, replicas = 2): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec(limits) } },
  };
}
const decision = (p: Obj): Obj | undefined => {
  const text = p.metadata?.annotations?.['gpu-admission.io/decision'];
  return text ? JSON.parse(text) : undefined;
};
const limitsOf = (p: Obj, container = 'main'): Obj =>
  [...(p.spec.initContainers ?? []), ...p.spec.containers].find((c: Obj) => c.name === container)?.resources?.limits;

async function create(obj: Obj): Promise<void> {
  const r = await k.apply(obj);
  assert.equal(r.code, 0, r.stderr);
}
async function getPod(ns: string, name: string): Promise<Obj> {
  return k.json(['get', 'pod', name, '-n', ns]);
}
async function podsOf(ns: string, app: string, n: number): Promise<Obj[]> {
  return eventually(`${n} pods of ${app}`, async () => {
    const list = await k.json<{ items: Obj[] }>(['get', 'pods', '-n', ns, '-l', `app=${app}`]);
    return list.items.length >= n ? list.items : undefined;
  });
}
function assertOnPool(node: string, pool: string): void {
  assert.ok(POOL_NODES[pool]?.includes(node), `bound to ${node}, not a node of pool ${pool}`);
}
async function boundNode(ns: string, name: string): Promise<string> {
  return eventually(`pod ${ns}/${name} bound by the scheduler`, async () => (await getPod(ns, name)).spec.nodeName || undefined);
}
/** `kubectl get pod X -o yaml | gpu-admission explain -f - --cluster`, as docs/operators.md's recipe has it (admin kubeconfig). */
function explainLive(podYaml: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'explain', '-f', '-', '--cluster', '--kubeconfig', env.cp.kubeconfig], { cwd: ROOT, input: podYaml });
}
/** The policy revision the webhook uses now, read from a server-side dry run. */
async function revisionInForce(): Promise<string> {
  const out = await k.ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod('probe', 'gpu-team', g('1Gi'))));
  return decision(JSON.parse(out))?.revision;
}
async function applyPolicy(text: string): Promise<{ code: number | null; stderr: string; rv?: string }> {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gpu-admission-policy', namespace: 'gpu-admission' }, data: { 'policy.yaml': text } };
  const r = await k.apply(cm, ['--server-side', '--force-conflicts', '--field-manager=e2e', '-o', 'json']);
  return { code: r.code, stderr: r.stderr, ...(r.code === 0 ? { rv: JSON.parse(r.stdout).metadata.resourceVersion } : {}) };
}
async function waitForRevision(rv: string): Promise<string> {
  return eventually(`policy revision ${rv}-… in force`, async () => {
    const revision = await revisionInForce();
    return revision.startsWith(`${rv}-`) ? revision : undefined;
  }, 20_000);
}

before(async () => {
  env = await startEnvironment();
  k = env.kubectl;
  await Promise.all([namespace(k, 'gpu-team', true), namespace(k, 'plain', false), namespace(k, 'research', true), namespace(k, 'bypass-team', true)]);
  const applied = await applyPolicy(await readFile(POLICY, 'utf8'));
  assert.equal(applied.code, 0, applied.stderr);
  await waitForRevision(applied.rv as string);
  env.log('environment ready');
}, { timeout: 30 * 60_000 });

stopAfterSuite(() => env);

describe('manifests', () => {
  it('when the whole base is applied with --dry-run=server, then the API server accepts every object', async () => {
    const out = await k.ok(['apply', '--dry-run=server', '-k', join(ROOT, 'manifests/base')]);
    for (const kind of ['deployment.apps/gpu-admission', 'poddisruptionbudget.policy/gpu-admission', 'service/gpu-admission',
      'priorityclass.scheduling.k8s.io/gpu-admission', 'mutatingwebhookconfiguration.admissionregistration.k8s.io/gpu-admission']) {
      assert.match(out, new RegExp(kind.replaceAll('.', '\\.')), out);
    }
  });

  it('when the ServiceAccount\'s rights are listed, then it has exactly what the webhook needs', async () => {
    const as = ['--as=system:serviceaccount:gpu-admission:gpu-admission'];
    const can = async (...args: string[]): Promise<boolean> => (await k.run(['auth', 'can-i', ...args, ...as])).stdout.trim() === 'yes';
    assert.equal(await can('watch', 'configmaps/gpu-admission-policy', '-n', 'gpu-admission'), true);
    assert.equal(await can('list', 'configmaps/gpu-admission-policy', '-n', 'gpu-admission'), true);
    assert.equal(await can('watch', 'configmaps', '-n', 'gpu-admission'), false, 'only its own ConfigMap');
    assert.equal(await can('create', 'events.events.k8s.io', '-n', 'gpu-admission'), true);
    assert.equal(await can('list', 'namespaces'), true);
    assert.equal(await can('watch', 'configmaps', '-n', 'default'), false, 'no ConfigMaps outside its namespace');
    assert.equal(await can('update', 'configmaps', '-n', 'gpu-admission'), false, 'it never writes its policy');
    assert.equal(await can('get', 'secrets', '-n', 'gpu-admission'), false);
    assert.equal(await can('create', 'pods', '-n', 'gpu-team'), false);
    assert.equal(await can('get', 'namespaces'), false, 'list/watch only');
    assert.equal(await can('watch', 'nodes'), true, 'the GPU node cache (--node-watch)');
    assert.equal(await can('patch', 'nodes'), false, 'it never writes nodes');
  });
});

describe('pods and workloads', () => {
  it('when a Deployment asks generic GPU memory in an opted-in namespace, then its pods are stored translated and bound to the pool', async () => {
    await create(deployment('train', 'gpu-team', g('10Gi', undefined, '30')));
    const pods = await podsOf('gpu-team', 'train', 2);
    for (const p of pods) {
      assert.deepEqual(limitsOf(p), { 'aliyun.com/gpu-mem': '10', 'aliyun.com/gpu-core.percentage': '30' });
      assert.deepEqual(p.spec.containers[0].resources.requests, limitsOf(p));
      assert.deepEqual(decision(p)?.pools, ['a10-core']);
      const terms = p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      assert.equal(terms[0].matchExpressions[0].values[0], 'core_mem');
      assertOnPool(await boundNode('gpu-team', p.metadata.name), 'a10-core');
    }
  });

  it('when the same Deployment is in a namespace without the label, then kubectl apply refuses it with the fix; native requests there stay untouched', async () => {
    const r = await k.apply(deployment('train', 'plain', g('10Gi', undefined, '30'), 1));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /namespace plain is not opted in to gpu-admission: label it gpu-admission\.io\/enabled=true, or ask your platform team \(spec\.template: container "main" asks gpu-admission\.io\/gpu-cores, gpu-admission\.io\/gpu-memory; no node has these resources\)/);
    await create(deployment('native', 'plain', { 'nvidia.com/gpu': '1' }, 1));
    const [p] = await podsOf('plain', 'native', 1);
    assert.deepEqual(limitsOf(p as Obj), { 'nvidia.com/gpu': '1' });
    assert.equal(decision(p as Obj), undefined);
  });

  it('when a scheduled pod is read back (kubectl get -o yaml) into explain -f - --cluster, then its decision, revision in force and node are explained, not refused for its nodeName', async () => {
    await create(pod('explained', 'gpu-team', g('4Gi')));
    const node = await boundNode('gpu-team', 'explained');
    const stored = await getPod('gpu-team', 'explained');
    const record = decision(stored) as Obj;
    const yaml = await k.ok(['get', 'pod', 'explained', '-n', 'gpu-team', '-o', 'yaml']);
    const r = await explainLive(yaml);
    env.log(`kubectl get pod explained -o yaml | gpu-admission explain -f - --cluster:\n${r.stdout}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /nodeName|denied/);
    const lines = r.stdout.split('\n');
    assert.match(lines[0] ?? '', /^Pod\/explained in namespace gpu-team, as stored \(policy \S+\)$/);
    assert.equal(lines[1], `  decided by gpu-admission when it was created: pool${record.pools.length > 1 ? 's' : ''} ${record.pools.join(', ')} (backend ${record.backend})`);
    assert.equal(lines[2], `  under policy revision ${record.revision}, the revision of the policy in force`);
    const holds = Object.entries(limitsOf(stored)).map(([name, v]) => `${name}: ${v}`).join(', ');
    assert.equal(lines[3], `  container "main" asked 1 GPU × 4Gi; holds ${holds}`);
    const where = new RegExp(`^ {2}runs on node ${node} \\(phase ${stored.status.phase}\\), in pools? (.+)$`).exec(lines[4] ?? '');
    assert.ok(where?.[1]?.split(', ').includes(record.pools[0]), lines[4]);

    // A pod the webhook never decided (its namespace is not opted in), bound by the scheduler.
    await create(pod('undecided', 'plain', { 'nvidia.com/gpu': '1' }));
    await boundNode('plain', 'undecided');
    const plain = await explainLive(await k.ok(['get', 'pod', 'undecided', '-n', 'plain', '-o', 'yaml']));
    env.log(`the same for a pod of a namespace not opted in:\n${plain.stdout}`);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /\n {2}not decided by gpu-admission: it has no gpu-admission\.io\/decision annotation, and namespace plain is not opted in \(label gpu-admission\.io\/enabled is absent\)/);
    assert.match(plain.stdout, /\n {2}what gpu-admission would decide now for a new pod like it \(without spec\.nodeName\):\n[\s\S]*\n {4}routed to /);
    assert.doesNotMatch(plain.stdout, /spec\.nodeName is set/);
  });

  it('when an impossible Pod is applied, then kubectl fails with the denial message', async () => {
    const r = await k.apply(pod('too-big', 'gpu-team', g('90Gi', '2')));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: container "main" asks 2 GPUs × 90Gi: pool t4-shared: 2 GPUs, a node has 1; pool a10-core: card has 24Gi;/);
  });

  it('when an impossible ReplicaSet made by a workload controller exists (say, the policy changed since), then its FailedCreate event carries the pod webhook\'s reason', async () => {
    // Objects a controller of the workload table made were checked as their owner's template, so
    // the workload webhook skips them; here the owner is a real (suspended, GPU-free) CronJob, so
    // the garbage collector keeps the ReplicaSet, and the pod webhook refuses its pods.
    const owner = JSON.parse(await k.ok(['create', '-o', 'json', '-f', '-'], JSON.stringify({
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'owner', namespace: 'gpu-team' },
      spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } } } } },
    })));
    const rs = deployment('too-big', 'gpu-team', g('90Gi', '2'), 1);
    rs.kind = 'ReplicaSet';
    rs.metadata.ownerReferences = [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'owner', uid: owner.metadata.uid, controller: true }];
    await create(rs);
    const message = await eventually('a FailedCreate event', async () => {
      const events = await k.json<{ items: Obj[] }>(['get', 'events', '-n', 'gpu-team', '--field-selector', 'reason=FailedCreate']);
      return events.items.find((e) => e.involvedObject?.kind === 'ReplicaSet' && e.involvedObject.name === 'too-big')?.message as string | undefined;
    });
    assert.match(message, /admission webhook "pods.gpu-admission.io" denied the request: container "main" asks 2 GPUs × 90Gi: .*pool h100: card has 80Gi/);
  });

  it('when a NUMA pod asks whole GPUs with whole CPUs, then it gets ACK NUMA annotations, the toleration and the topology node', async () => {
    const p = pod('numa', 'gpu-team', { ...g(undefined, '4'), cpu: '32', memory: '64Gi' },
      { 'gpu-admission.io/numa': 'SingleNUMANode', 'gpu-admission.io/numa-exclusive': 'Preferred' });
    await create(p);
    const stored = await getPod('gpu-team', 'numa');
    assert.deepEqual(limitsOf(stored), { 'aliyun.com/gpu': '4', cpu: '32', memory: '64Gi' });
    assert.equal(stored.metadata.annotations['cpuset-scheduler'], 'required');
    assert.deepEqual(JSON.parse(stored.metadata.annotations['scheduling.alibabacloud.com/numa-topology-spec']),
      { numaTopologyPolicy: 'SingleNUMANode', singleNUMANodeExclusive: 'Preferred' });
    assert.ok(stored.spec.tolerations.some((t: Obj) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists'));
    assertOnPool(await boundNode('gpu-team', 'numa'), 'a100-topology');
  });

  it('when a pod asks RDMA, then it gets the eRDMA resource on the RDMA pool', async () => {
    await create(pod('rdma', 'gpu-team', g(undefined, '2'), { 'gpu-admission.io/rdma': 'true' }));
    const stored = await getPod('gpu-team', 'rdma');
    assert.deepEqual(limitsOf(stored), { 'aliyun.com/gpu': '2', 'aliyun/erdma': '1' });
    assertOnPool(await boundNode('gpu-team', 'rdma'), 'a100-topology');
  });

  it('when a MIG-sized pod is created, then it takes the smallest profile and lands on the MIG node', async () => {
    await create(pod('mig', 'research', g('15Gi')));
    const stored = await getPod('research', 'mig');
    assert.deepEqual(limitsOf(stored), { 'nvidia.com/mig-2g.20gb': '1' });
    assertOnPool(await boundNode('research', 'mig'), 'a100-mig');
  });

  it('when a pod is sent to the HAMi pool, then it gets HAMi resources and the HAMi scheduler', async () => {
    await create(pod('hami', 'gpu-team', g('12Gi', '1', '40'), { 'gpu-admission.io/pools': 'l20-hami' }));
    const stored = await getPod('gpu-team', 'hami');
    assert.deepEqual(limitsOf(stored), { 'hami.io/gpu': '1', 'hami.io/gpumem': '12288', 'hami.io/gpucores': '40' }, "HAMi's renamed resources");
    assert.equal(stored.spec.schedulerName, 'hami-scheduler');
  });

  it('when a Job asks whole GPUs of a model, then the pod its controller creates is translated and bound', async () => {
    await create({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'eval', namespace: 'gpu-team' },
      spec: { template: {
        metadata: { labels: { app: 'eval' }, annotations: { 'gpu-admission.io/gpu-model': 'H100' } },
        spec: { ...podSpec({ 'nvidia.com/gpu': '8' }), restartPolicy: 'Never' },
      } },
    });
    const [p] = await podsOf('gpu-team', 'eval', 1);
    assert.deepEqual(decision(p as Obj)?.pools, ['h100']);
    assert.deepEqual(limitsOf(p as Obj), { 'nvidia.com/gpu': '8' });
    assertOnPool(await boundNode('gpu-team', (p as Obj).metadata.name), 'h100');
  });

  it('when a pod has an init container and a native sidecar with GPUs, then every container is translated', async () => {
    const p = pod('sidecar', 'gpu-team', g(undefined, '2'), { 'gpu-admission.io/pools': 'h100' }, {
      initContainers: [
        { name: 'warmup', image: 'registry.k8s.io/pause:3.10', resources: { limits: g(undefined, '4') } },
        { name: 'proxy', image: 'registry.k8s.io/pause:3.10', restartPolicy: 'Always', resources: { limits: g(undefined, '1') } },
      ],
    });
    await create(p);
    const stored = await getPod('gpu-team', 'sidecar');
    assert.deepEqual(limitsOf(stored, 'warmup'), { 'nvidia.com/gpu': '4' });
    assert.deepEqual(limitsOf(stored, 'proxy'), { 'nvidia.com/gpu': '1' });
    assert.deepEqual(limitsOf(stored, 'main'), { 'nvidia.com/gpu': '2' });
    assertOnPool(await boundNode('gpu-team', 'sidecar'), 'h100');
  });

  it('when a pod asks natively, then its resources stay, it is routed to the pools that take them, and bound there', async () => {
    await create(pod('native', 'gpu-team', { 'aliyun.com/gpu-mem': '6' }));
    const stored = await getPod('gpu-team', 'native');
    assert.deepEqual(limitsOf(stored), { 'aliyun.com/gpu-mem': '6' });
    assert.deepEqual(decision(stored)?.pools, ['t4-shared', 'a10-cgpu'], 'a memory-only pod never goes to core_mem (ACK does not mix job types on a node)');
    const node = await boundNode('gpu-team', 'native');
    assert.ok([...POOL_NODES['t4-shared'] ?? [], ...POOL_NODES['a10-cgpu'] ?? []].includes(node), `bound to ${node}`);
  });

  it('when a pod\'s own nodeSelector picks a GPU mode, then it is routed to the pool of that mode and bound on its node', async () => {
    await create(pod('own-selector', 'gpu-team', g('4Gi'), {}, { nodeSelector: { 'ack.node.gpu.schedule': 'core_mem' } }));
    const stored = await getPod('gpu-team', 'own-selector');
    assert.deepEqual(decision(stored)?.pools, ['a10-core'], 'the cGPU pool, first in order, contradicts the nodeSelector');
    assert.deepEqual(limitsOf(stored), { 'aliyun.com/gpu-mem': '4', 'aliyun.com/gpu-core.percentage': '20' });
    assert.deepEqual(stored.spec.nodeSelector, { 'ack.node.gpu.schedule': 'core_mem' });
    assertOnPool(await boundNode('gpu-team', 'own-selector'), 'a10-core');
  });

  it('when two pools share a GPU mode with different models, then a model-pinned pod binds only to its model\'s nodes', async () => {
    // Both cGPU pools (T4 and A10) run ack.node.gpu.schedule=cgpu; the model tells them apart.
    await create(pod('a10-pinned', 'gpu-team', g('4Gi'), { 'gpu-admission.io/gpu-model': 'NVIDIA-A10' },
      { nodeSelector: { 'ack.node.gpu.schedule': 'cgpu' } }));
    const stored = await getPod('gpu-team', 'a10-pinned');
    assert.deepEqual(decision(stored)?.pools, ['a10-cgpu']);
    assert.ok(JSON.stringify(stored.spec.affinity).includes('"aliyun.accelerator/nvidia_name","operator":"In","values":["NVIDIA-A10"]'));
    assertOnPool(await boundNode('gpu-team', 'a10-pinned'), 'a10-cgpu');
  });

  it('when a pool is drained (disabled), then a pod only it could serve is refused with the reason and nothing lands on its nodes', async () => {
    const r = await k.apply(pod('v100-only', 'gpu-team', g(undefined, '2'), { 'gpu-admission.io/gpu-model': 'V100' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pool v100: disabled \(drained\): no new pods are routed to it/);
    await create(pod('whole-any', 'gpu-team', g(undefined, '1'), { 'gpu-admission.io/pools': 'v100,h100' }));
    assertOnPool(await boundNode('gpu-team', 'whole-any'), 'h100');
  });

  it('when a ResourceQuota limits aliyun.com/gpu-mem, then it counts the translated pods and refuses the one over it', async () => {
    await namespace(k, 'quota-team', true);
    await create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'gpu-mem', namespace: 'quota-team' },
      spec: { hard: { 'requests.aliyun.com/gpu-mem': '8' } } });
    await eventually('the quota to be counted', async () => {
      const q = await k.json<Obj>(['get', 'resourcequota', 'gpu-mem', '-n', 'quota-team']);
      return q.status?.hard ? true : undefined;
    });
    await create(pod('first', 'quota-team', g('6Gi')));
    assert.deepEqual(limitsOf(await getPod('quota-team', 'first')), { 'aliyun.com/gpu-mem': '6' });
    const r = await k.apply(pod('second', 'quota-team', g('4Gi')));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exceeded quota: gpu-mem, requested: requests\.aliyun\.com\/gpu-mem=4, used: requests\.aliyun\.com\/gpu-mem=6, limited: requests\.aliyun\.com\/gpu-mem=8/);
  });

  it('when a tensor-parallel pod asks 4 plain GPUs, then it is bound to a whole-card node, never a core_mem node', async () => {
    await create(pod('tp4', 'gpu-team', { 'nvidia.com/gpu': '4' }));
    const stored = await getPod('gpu-team', 'tp4');
    assert.deepEqual(limitsOf(stored), { 'aliyun.com/gpu': '4' });
    const node = await boundNode('gpu-team', 'tp4');
    assertOnPool(node, 'a100-topology');
    assert.ok(!POOL_NODES['a10-core']?.includes(node));
  });

  it('when a pod\'s nodeSelector leaves no pool, then kubectl fails with every pool\'s reason', async () => {
    const r = await k.apply(pod('no-mode', 'gpu-team', g('4Gi'), { 'gpu-admission.io/pools': 't4-shared,a10-core' },
      { nodeSelector: { 'ack.node.gpu.schedule': 'share' } }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pool t4-shared: the pod's nodeSelector ack\.node\.gpu\.schedule=share excludes it;.* pool a10-core: the pod's nodeSelector/);
  });

  it('when a native request names resources of pools the namespace may not use, then it is refused', async () => {
    const r = await k.apply(pod('native-denied', 'research', { 'aliyun.com/gpu-mem': '6' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pool t4-shared: not allowed in namespace research;.*pool a100-mig: ack-mig does not take aliyun\.com\/gpu-mem/);
  });

  it('when a GPU pod is created with --dry-run=server, then the answer is translated and nothing is stored', async () => {
    const out = JSON.parse(await k.ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod('dry', 'gpu-team', g('4Gi')))));
    assert.deepEqual(limitsOf(out), { 'aliyun.com/gpu-mem': '4' });
    assert.notEqual((await k.run(['get', 'pod', 'dry', '-n', 'gpu-team'])).code, 0);
  });
});

describe('tenant bypass, through the API server', () => {
  // bypass-team may use pool h100 only; pool v100 takes the same nvidia.com/gpu (drained here).
  const native = (name: string, extra: Obj, gpus = '8'): Obj => pod(name, 'bypass-team', { 'nvidia.com/gpu': gpus }, {}, extra);
  const byName = (operator: string, ...values: string[]): Obj =>
    ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator, values }] }] } } } });

  it('when a pod names a node of a pool its namespace may not use (spec.nodeName), then kubectl apply refuses it naming the node and its pool', async () => {
    const r = await k.apply(native('bypass-nodename', { nodeName: 'v100-1' }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /node "v100-1" is in pool v100 \(disabled/);
  });

  it('when a pod pins itself to that node by matchFields, then it is refused; by NotIn, then it is routed to its own pool and bound there', async () => {
    const pinned = await k.apply(native('bypass-pinned', byName('In', 'v100-1')));
    assert.notEqual(pinned.code, 0);
    assert.match(pinned.stderr, /node "v100-1" is in pool v100/);
    await create(native('bypass-notin', byName('NotIn', 'cpu-1'), '1'));
    assertOnPool(await boundNode('bypass-team', 'bypass-notin'), 'h100');
    assert.deepEqual(decision(await getPod('bypass-team', 'bypass-notin'))?.pools, ['h100']);
  });

  it('when a pod forges a decision naming a requirement another controller added, then the requirement and its scheduler stay', async () => {
    const tenant = { key: 'tenant', operator: 'In', values: ['team-a'] };
    const forged = { 'gpu-admission.io/decision': JSON.stringify({ pools: ['h100'], backend: 'ack-exclusive', revision: 'x', containers: {}, nodes: [['tenant In team-a']], scheduler: 'tenant-scheduler' }) };
    // A node of pool h100 carries the tenant's label (a pool none of whose nodes the pod allows is ruled out).
    await k.ok(['label', 'node', 'h100-2', 'tenant=team-a', '--overwrite']);
    const forgedPod = pod('bypass-forged', 'bypass-team', { 'nvidia.com/gpu': '1' }, forged, {
      schedulerName: 'tenant-scheduler',
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [tenant] }] } } },
    });
    // The webhook's node cache sees the label within moments of the API server.
    await eventually('the pod admitted once the node cache has the label', async () => ((await k.apply(forgedPod)).code === 0 ? true : undefined));
    const stored = await getPod('bypass-team', 'bypass-forged');
    assert.equal(stored.spec.schedulerName, 'tenant-scheduler');
    const terms = stored.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms as Obj[];
    assert.ok(terms.length > 0 && terms.every((t) => t.matchExpressions.some((e: Obj) => e.key === 'tenant')), JSON.stringify(terms));
    assert.deepEqual(decision(stored)?.pools, ['h100']);
  });
});

describe('reinvocation', () => {
  let other: Server;
  after(async () => {
    await k.run(['delete', 'mutatingwebhookconfiguration', 'zz-e2e-zone']);
    other?.close();
  });

  it('when a later webhook adds a required node term, then ours runs again and adds nothing twice', async () => {
    const cert = { key: await readFile(join(env.workDir, 'webhook-tls/webhook.key')), cert: await readFile(join(env.workDir, 'webhook-tls/webhook.crt')) };
    let calls = 0;
    other = createServer(cert, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls++;
        const review = JSON.parse(body);
        const podObj = review.request.object;
        const terms = podObj.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
        const has = JSON.stringify(terms ?? []).includes('e2e.example.com/zone');
        const patch = has ? [] : terms
          ? terms.map((_: unknown, i: number) => ({ op: 'add', path: `/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/${i}/matchExpressions/-`, value: { key: 'e2e.example.com/zone', operator: 'NotIn', values: ['nowhere'] } }))
          : [{ op: 'add', path: '/spec/affinity', value: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'e2e.example.com/zone', operator: 'NotIn', values: ['nowhere'] }] }] } } } }];
        const response: Obj = { uid: review.request.uid, allowed: true };
        if (patch.length > 0) Object.assign(response, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
    await create({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'zz-e2e-zone' },
      webhooks: [{
        name: 'zone.e2e.example.com', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', reinvocationPolicy: 'Never',
        clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(env.caPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gpu-team' } },
      }],
    });
    await eventually('the second webhook to be called', async () => {
      const r = await k.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod('warm', 'gpu-team', { cpu: '1' })));
      return r.code === 0 && calls > 0 ? true : undefined;
    });
    await create(pod('reinvoked', 'gpu-team', g(undefined, '2'), { 'gpu-admission.io/pools': 'a100-topology' }));
    const stored = await getPod('gpu-team', 'reinvoked');
    const terms = stored.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.equal(terms.length, 1);
    const keys = terms[0].matchExpressions.map((e: Obj) => e.key);
    assert.deepEqual(keys.sort(), ['ack.node.gpu.schedule', 'aliyun.accelerator/nvidia_name', 'e2e.example.com/zone']);
    assert.equal(stored.spec.tolerations.filter((t: Obj) => t.key === 'nvidia.com/gpu').length, 1);
    assert.deepEqual(limitsOf(stored), { 'aliyun.com/gpu': '2' });
  });
});

describe('live policy', () => {
  it('when a pool is removed from the policy, then new pods follow within seconds', async () => {
    const text = await readFile(POLICY, 'utf8');
    const without = text.replace(/  - name: a10-core\n    backend: ack-core-mem\n    gpu: \{model: NVIDIA-A10, memory: 24Gi, perNode: 4\}\n/, '');
    assert.notEqual(without, text);
    const applied = await applyPolicy(without);
    assert.equal(applied.code, 0, applied.stderr);
    await waitForRevision(applied.rv as string);
    await create(pod('after-edit', 'gpu-team', g('10Gi', undefined, '30')));
    const stored = await getPod('gpu-team', 'after-edit');
    assert.deepEqual(decision(stored)?.pools, ['a100-mig']);
    assert.deepEqual(limitsOf(stored), { 'nvidia.com/mig-3g.40gb': '1' });
    const restored = await applyPolicy(text);
    await waitForRevision(restored.rv as string);
  });

  it('when an invalid policy is applied, then the validating webhook refuses it with the error path', async () => {
    const r = await applyPolicy((await readFile(POLICY, 'utf8')).replace('memory: 15Gi', 'memory: 15GB'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\/pools\/0\/gpu\/memory: must be a quantity such as 24Gi/);
  });

  it('when an invalid policy is forced past a removed validating webhook, then the last good policy stays and an Event says why', async () => {
    const before = await revisionInForce();
    await k.ok(['delete', 'validatingwebhookconfiguration', 'gpu-admission-policy']);
    try {
      const forced = await applyPolicy((await readFile(POLICY, 'utf8')).replace('perNode: 1}', 'perNode: 0}'));
      assert.equal(forced.code, 0, forced.stderr);
      const event = await eventually('an InvalidPolicy event', async () => {
        const events = await k.json<{ items: Obj[] }>(['get', 'events.events.k8s.io', '-n', 'gpu-admission']);
        return events.items.find((e) => e.reason === 'InvalidPolicy' && e.regarding?.name === 'gpu-admission-policy');
      });
      assert.match(event.note, /\/pools\/0\/gpu\/perNode/);
      assert.equal(event.type, 'Warning');
      assert.equal(await revisionInForce(), before, 'the last good policy is still in force');
    } finally {
      const overlay = await renderOverlay(k, env.caPem, env.port);
      await k.ok(['apply', '-f', '-'], overlay.split(/^---$/m).filter((o) => /kind: ValidatingWebhookConfiguration/.test(o)).join('\n'));
      const good = await applyPolicy(await readFile(POLICY, 'utf8'));
      assert.equal(good.code, 0, good.stderr);
      await waitForRevision(good.rv as string);
    }
  });

  it('when the API server restarts, then the watch recovers and a later edit still applies', async () => {
    await env.cp.restartApiServer();
    const text = (await readFile(POLICY, 'utf8')).replace('rounding: up', 'rounding: deny');
    const applied = await eventually('the policy edit after the restart', async () => {
      const r = await applyPolicy(text);
      return r.code === 0 ? r : undefined;
    });
    await waitForRevision(applied.rv as string);
    const r = await k.apply(pod('rounding', 'gpu-team', g('1500Mi'), { 'gpu-admission.io/pools': 't4-shared' }));
    assert.notEqual(r.code, 0, 'rounding: deny is in force');
    assert.match(r.stderr, /not a whole Gi \(policy rounding: deny\)/);
    const restored = await applyPolicy(await readFile(POLICY, 'utf8'));
    await waitForRevision(restored.rv as string);
  });
});

describe('webhook down', () => {
  after(async () => {
    env.webhook = await env.startWebhook();
  });

  it('when the webhook is stopped, then GPU pods in opted-in namespaces fail clearly and everything else is unaffected', async () => {
    await env.webhook.stop();
    const gpu = await k.apply(pod('no-webhook', 'gpu-team', g('4Gi')));
    assert.notEqual(gpu.code, 0);
    assert.match(gpu.stderr, /failed calling webhook "pods\.gpu-admission\.io"/);
    const cpu = await k.apply(pod('cpu-only', 'gpu-team', { cpu: '1' }));
    assert.equal(cpu.code, 0, `matchConditions keep non-GPU pods away from the webhook: ${cpu.stderr}`);
    const elsewhere = await k.apply(pod('elsewhere', 'plain', g('4Gi')));
    assert.equal(elsewhere.code, 0, `outside opted-in namespaces the webhook fails open: ${elsewhere.stderr}`);
  });
});
