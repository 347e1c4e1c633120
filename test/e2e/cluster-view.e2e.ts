// End to end: the cluster view against the real API server — Nodes published as ACK's device
// plugins, NVIDIA's GPU feature discovery and HAMi publish them (status through the status
// subresource), bound pods with ACK allocation annotations, and the CLI's inspect, policy check
// --cluster and policy init --from-cluster reading them with a kubeconfig, as an operator runs them.
// Run: npm run test:e2e -- test/e2e/cluster-view.e2e.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from './control-plane/control-plane.ts';
import { ROOT, ensureBinaries, namespace } from './harness/cluster.ts';
import { CLUSTER_NODES, nodeObjects } from './harness/cluster-nodes.ts';
import { Kubectl, runProcess } from './harness/kubectl.ts';
import { refusalNote } from '../../src/kube/policy-reloader.ts';

type Obj = Record<string, any>;
let cp: ControlPlane;
let k: Kubectl;
let work: string;
const POLICY = join(ROOT, 'test/e2e/cluster-policy.yaml');

/** The CLI as an operator runs it (node src/cli/main.ts …) with the admin kubeconfig. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args, '--kubeconfig', cp.kubeconfig], { cwd: ROOT });
}

const pod = (name: string, node: string | undefined, limits: Record<string, string>, annotations: Record<string, string> = {}): Obj => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ml', annotations },
  spec: { ...(node ? { nodeName: node } : { schedulerName: 'nobody' }), containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits } }] },
});

before(async () => {
  const bins = await ensureBinaries((m) => console.log(`[cluster-view] ${m}`));
  work = await mkdtemp(join(tmpdir(), 'gpu-admission-cluster-view-'));
  cp = await startControlPlane({ workDir: work, log: (m) => console.log(`[cluster-view] ${m}`) });
  k = new Kubectl(bins.kubectl, cp.kubeconfig);
  for (const { node, status } of nodeObjects(CLUSTER_NODES)) {
    await k.ok(['create', '-f', '-'], JSON.stringify(node));
    await k.ok(['patch', 'node', (node.metadata as Obj).name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }
  await namespace(k, 'ml', false);
  await k.ok(['create', 'namespace', 'gpu-admission']);
  await k.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${POLICY}`]);
  // Bound pods as ACK's gpushare scheduler leaves them (card index annotation), and pending ones
  // with a gpu-admission decision.
  const pods = [
    pod('infer-1', 't4-a', { 'aliyun.com/gpu-mem': '4' }, { ALIYUN_COM_GPU_MEM_IDX: '0', ALIYUN_COM_GPU_MEM_POD: '4', ALIYUN_COM_GPU_MEM_DEV: '15' }),
    pod('infer-2', 't4-a', { 'aliyun.com/gpu-mem': '6' }, { ALIYUN_COM_GPU_MEM_IDX: '1', ALIYUN_COM_GPU_MEM_POD: '6', ALIYUN_COM_GPU_MEM_DEV: '15' }),
    pod('train-1', 'a10-a', { 'aliyun.com/gpu-mem': '12', 'aliyun.com/gpu-core.percentage': '50' }),
    pod('big-1', 'a100-topo-a', { 'aliyun.com/gpu': '4', 'aliyun/erdma': '1' }),
    pod('slice-1', 'a100-mig-a', { 'nvidia.com/mig-1g.5gb': '2' }),
    pod('h-1', 'h100-a', { 'nvidia.com/gpu': '8' }),
    // HAMi's allocation annotation: UUID,Type,Usedmem,Usedcores per device, ':' after each, ';' between containers.
    pod('v-1', 'l20-a', { 'hami.io/gpu': '2', 'hami.io/gpumem': '8192', 'hami.io/gpucores': '50' },
      { 'hami.io/vgpu-devices-allocated': 'GPU-00000001-l20,NVIDIA,4096,25:GPU-00000003-l20,NVIDIA,4096,25:;' }),
    pod('waiting', undefined, { 'aliyun.com/gpu-mem': '12' },
      { 'gpu-admission.io/decision': JSON.stringify({ pools: ['t4-cgpu'], backend: 'ack-cgpu', revision: 'r', containers: {} }) }),
  ];
  for (const p of pods) await k.ok(['create', '-f', '-'], JSON.stringify(p));
}, { timeout: 30 * 60_000 });

after(async () => {
  await cp?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('gpu-admission inspect', () => {
  it('when the ConfigMap holds an invalid policy, then inspect names its errors and the revision the webhook\'s InvalidPolicy Event says it keeps, and still shows the nodes (exit 1)', async () => {
    const good = await readFile(POLICY, 'utf8');
    const bad = join(work, 'bad-policy.yaml');
    await writeFile(bad, good.replace(/memory: (\d+)Gi/, 'memory: $1GB'));
    await k.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${bad}`, '--dry-run=client', '-o', 'yaml'])
      .then((yaml) => k.ok(['replace', '-f', '-'], yaml));
    // The Event as the webhook's recorder writes it (events.k8s.io/v1, regarding the ConfigMap).
    const event = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'gpu-admission-policy.refused', namespace: 'gpu-admission' },
      regarding: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'gpu-admission', name: 'gpu-admission-policy' },
      reason: 'InvalidPolicy', action: 'RefusePolicy', type: 'Warning', eventTime: new Date().toISOString().replace('Z', '000Z'), // MicroTime
      reportingController: 'gpu-admission', reportingInstance: 'gpu-admission-0', note: refusalNote('812-0123456789ab', ['/pools/0/gpu/memory: x']) };
    await k.ok(['create', '-f', '-'], JSON.stringify(event));
    try {
      const r = await cli(['inspect']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^ConfigMap gpu-admission\/gpu-admission-policy holds an invalid policy:\n {2}\/pools\/0\/gpu\/memory: must be a quantity/);
      assert.match(r.stdout, /and keeps the last good policy, revision 812-0123456789ab\./);
      assert.match(r.stdout, /^t4-a +yes +2 +aliyun\.com\/gpu-count 0\/2 \(0%\), aliyun\.com\/gpu-mem 10\/30 \(33%\)$/m);
      assert.match(r.stdout, /PENDING GPU PODS\n {2}ml\/waiting {2}pools: t4-cgpu\n/);
    } finally {
      await k.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${POLICY}`, '--dry-run=client', '-o', 'yaml'])
        .then((yaml) => k.ok(['replace', '-f', '-'], yaml));
      await k.ok(['-n', 'gpu-admission', 'delete', 'events.events.k8s.io', 'gpu-admission-policy.refused', '--ignore-not-found']);
    }
  });

  it('when run against the cluster, then each pool, node, pending pod and the cluster total are shown in the pool\'s units', async () => {
    const r = await cli(['inspect']);
    assert.equal(r.code, 0, r.stderr);
    const revision = /^Policy (\S+)$/m.exec(r.stdout)?.[1];
    assert.equal(r.stdout, `Policy ${revision}

POOL           BACKEND           NODES READY/TOTAL  CARDS  ALLOCATED/TOTAL
t4-cgpu        ack-cgpu          1/2                4      GPU memory 10/60 GiB (17%)
a10-core       ack-core-mem      1/1                4      GPU memory 12/96 GiB (13%), compute 50/400 % (13%)
a100-topology  ack-topology      1/1                8      cards 4/8 (50%)
a100-mig       ack-mig           1/1                1      MIG 1g.5gb 2/7 slices (29%), MIG 3g.20gb 0/2 slices (0%)
h100           nvidia-exclusive  1/1                8      cards 8/8 (100%)
l20-hami       hami              1/1                4      vGPUs 2/40 (5%), GPU memory 8192/184272 MiB (4%), cores 50/400 % (13%)

NODE         POOL           READY  CARDS  ALLOCATED/TOTAL
a10-a        a10-core       yes    4      GPU memory 12/96 GiB (13%), compute 50/400 % (13%)
a100-mig-a   a100-mig       yes    1      MIG 1g.5gb 2/7 slices (29%), MIG 3g.20gb 0/2 slices (0%)
a100-topo-a  a100-topology  yes    8      cards 4/8 (50%)
h100-a       h100           yes    8      cards 8/8 (100%)
l20-a        l20-hami       yes    4      vGPUs 2/40 (5%), GPU memory 8192/184272 MiB (4%), cores 50/400 % (13%)
t4-a         t4-cgpu        yes    2      GPU memory 10/30 GiB (33%)
t4-b         t4-cgpu        no     2      GPU memory 0/30 GiB (0%)

PENDING GPU PODS
  ml/waiting  pools: t4-cgpu

Allocated/Total in cluster: GPU memory 22/156 GiB (14%), compute 50/400 % (13%), MIG 1g.5gb 2/7 slices (29%), MIG 3g.20gb 0/2 slices (0%), cards 12/16 (75%), vGPUs 2/40 (5%), GPU memory 8192/184272 MiB (4%), cores 50/400 % (13%)
`);
  });

  it('when -d is given for a pool, then ACK shared cards are shown one by one with their pods', async () => {
    const r = await cli(['inspect', '--pool', 't4-cgpu', '-d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^  t4-a +card 0 +4\/15 GiB \(27%\) +ml\/infer-1$/m);
    assert.match(r.stdout, /^  t4-a +card 1 +6\/15 GiB \(40%\) +ml\/infer-2$/m);
    assert.doesNotMatch(r.stdout, /a10-a/);
  });

  it('when -d is given for a HAMi pool, then its cards are shown one by one from HAMi\'s own annotations', async () => {
    const r = await cli(['inspect', '--pool', 'l20-hami', '-d']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^  l20-a +card 0 +0\/46068 MiB \(0%\)$/m);
    assert.match(r.stdout, /^  l20-a +card 1 +4096\/46068 MiB \(9%\) +ml\/v-1$/m);
    assert.match(r.stdout, /^  l20-a +card 3 +4096\/46068 MiB \(9%\) +ml\/v-1$/m);
  });

  it('when -o json is asked, then the same figures come as the documented structure', async () => {
    const r = await cli(['inspect', '-o', 'json', '--node', 'a10-a']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(report), ['revision', 'pools', 'nodes', 'pending', 'unmatched', 'totals']);
    assert.deepEqual(report.nodes, [{ name: 'a10-a', pools: ['a10-core'], ready: true, cards: 4, usage: [
      { resource: 'aliyun.com/gpu-mem', what: 'GPU memory', unit: 'GiB', total: 96, allocated: 12 },
      { resource: 'aliyun.com/gpu-core.percentage', what: 'compute', unit: '%', total: 400, allocated: 50 },
    ] }]);
  });

  it('when a GPU node matches no pool, then it is listed; an unknown pool or node is an error naming it', async () => {
    await k.ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'stray-v100', labels: { 'aliyun.accelerator/nvidia_name': 'Tesla-V100', 'ack.node.gpu.schedule': 'share' } } }));
    await k.ok(['patch', 'node', 'stray-v100', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { capacity: { 'aliyun.com/gpu-mem': '32', 'aliyun.com/gpu-count': '1', pods: '10' }, allocatable: { 'aliyun.com/gpu-mem': '32', 'aliyun.com/gpu-count': '1', pods: '10' } } })]);
    try {
      const r = await cli(['inspect']);
      assert.match(r.stdout, /NODES WITH GPUS IN NO POOL\n  stray-v100  aliyun.com\/gpu-count: 1, aliyun.com\/gpu-mem: 32\n/);
      const pool = await cli(['inspect', '--pool', 'nope']);
      assert.equal(pool.code, 2);
      assert.match(pool.stderr, /--pool nope: the policy has no such pool \(t4-cgpu, a10-core/);
    } finally {
      await k.ok(['delete', 'node', 'stray-v100']);
    }
  });
});

describe('gpu-admission policy check --cluster', () => {
  it('when the policy describes the nodes, then there is no finding and the exit code is 0', async () => {
    const r = await cli(['policy', 'check', POLICY, '--cluster']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /matches the cluster's nodes/);
  });

  it('when the policy is wrong about the nodes, then each planted mismatch is found, naming pool, nodes and both values', async () => {
    const policy = parse(await readFile(POLICY, 'utf8'));
    const pool = (name: string): Obj => policy.pools.find((p: Obj) => p.name === name);
    pool('t4-cgpu').gpu.memory = '16Gi';
    pool('a10-core').gpu.perNode = 8;
    pool('a100-mig').mig.profiles = ['1g.5gb', '2g.10gb'];
    pool('h100').nodeSelector = { 'node-pool': 'h100-old' };
    policy.pools.push({ name: 'v100', backend: 'ack-exclusive', gpu: { model: 'Tesla-V100', memory: '32Gi', perNode: 8 } });
    pool('a100-topology').rdma = { resource: 'rdma/hca' };
    const file = join(work, 'wrong.yaml');
    await writeFile(file, JSON.stringify(policy));
    const r = await cli(['policy', 'check', file, '--cluster']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const findings = r.stderr.split('\n').filter((l) => l.startsWith(`${file}: `)).map((l) => l.slice(file.length + 2));
    assert.deepEqual(findings, [
      'pool t4-cgpu: gpu.memory is 16Gi but nodes t4-a, t4-b report 15Gi per card',
      'pool a10-core: gpu.perNode is 8 but node a10-a has 4 cards',
      'pool a100-topology: rdma.resource is rdma/hca but node a100-topo-a advertises none',
      'pool a100-mig: mig.profiles lists 2g.10gb but no node of the pool (a100-mig-a) advertises nvidia.com/mig-2g.10gb',
      'pool a100-mig: nodes advertise MIG 3g.20gb that mig.profiles does not list (pods are never routed to them)',
      'pool h100: matches no node (its nodes: node-pool In h100-old, nvidia.com/gpu.product In NVIDIA-H100-80GB-HBM3)',
      'pool v100: matches no node (its nodes: ack.node.gpu.schedule In default, aliyun.accelerator/nvidia_name In Tesla-V100 or ack.node.gpu.schedule DoesNotExist, aliyun.accelerator/nvidia_name In Tesla-V100)',
      'node h100-a: has GPU resources (nvidia.com/gpu) but matches no pool',
    ]);
  });
});

describe('gpu-admission policy init --from-cluster', () => {
  it('when a policy is drafted from the nodes, then it is valid, has a pool per kind of node, and passes policy check --cluster', async () => {
    const r = await cli(['policy', 'init', '--from-cluster']);
    assert.equal(r.code, 0, r.stderr);
    const draft = parse(r.stdout);
    // In the order of the nodes (by name); ordering pools by preference is the operator's.
    assert.deepEqual(draft.pools.map((p: Obj) => [p.name, p.backend]), [
      ['a10-core', 'ack-core-mem'], ['a100-sxm4-40gb-mig', 'ack-mig'], ['a100-sxm4-80gb-topology', 'ack-topology'],
      ['h100-80gb-hbm3', 'nvidia-exclusive'], ['l20-hami', 'hami'], ['tesla-t4-cgpu', 'ack-cgpu'],
    ]);
    assert.deepEqual(draft.pools.find((p: Obj) => p.name === 'l20-hami'), {
      name: 'l20-hami', backend: 'hami', nodeSelector: { gpu: 'on' }, gpu: { model: 'L20', memory: '45Gi', perNode: 4 },
      hami: { resourceName: 'hami.io/gpu', resourceMem: 'hami.io/gpumem', resourceMemPercentage: 'hami.io/gpumem-percentage', resourceCores: 'hami.io/gpucores' },
    });
    assert.deepEqual(draft.pools.find((p: Obj) => p.name === 'a100-sxm4-40gb-mig').mig, { profiles: ['1g.5gb', '3g.20gb'] });
    // ACK topology nodes publish no card memory (aliyun.com/gpu counts cards): it is read from the model name, said on stderr, never a placeholder that passes.
    assert.deepEqual(draft.pools.find((p: Obj) => p.name === 'a100-sxm4-80gb-topology').gpu,
      { model: 'A100', product: 'NVIDIA-A100-SXM4-80GB', memory: '80Gi', perNode: 8 });
    assert.match(r.stderr, /pool a100-sxm4-80gb-topology: the nodes publish no card memory; gpu\.memory 80Gi is read from the model name/);
    assert.match(r.stdout, /# 2 nodes: t4-a, t4-b \(ack-cgpu, Tesla-T4, 15Gi, × 2\)\n  - name: tesla-t4-cgpu/);
    // The MIG node advertises slices, not cards: perNode is a placeholder that fails the check until the operator sets it.
    assert.match(r.stderr, /pool a100-sxm4-40gb-mig: the nodes publish no card count; gpu\.perNode is SET-ME: set it/);
    const file = join(work, 'drafted.yaml');
    await writeFile(file, r.stdout);
    const unset = await cli(['policy', 'check', file, '--cluster']);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /\/pools\/1\/gpu\/perNode: must be integer/);
    assert.equal(r.stdout.split('SET-ME').length, 2, 'one placeholder');
    await writeFile(file, r.stdout.replace('perNode: SET-ME', 'perNode: 1'));
    const check = await cli(['policy', 'check', file, '--cluster']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /matches the cluster's nodes/);
  });
});

describe('mutate and explain --cluster', () => {
  it('when a pod is explained with --cluster, then the policy in force and the namespace in the cluster decide it', async () => {
    const file = join(work, 'pod.yaml');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ml' },
      spec: { containers: [{ name: 'main', image: 'x', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } }] } }));
    const explained = await cli(['explain', '-f', file, '--cluster']);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, new RegExp(`^Pod/p in namespace ml \\(policy \\S+\\)\n`));
    assert.match(explained.stdout, /pool t4-cgpu: can serve: main \{aliyun\.com\/gpu-mem: 4\}  <- chosen/, 'a pool of the cluster\'s policy, not the embedded one');
    const mutated = await cli(['mutate', '-f', file, '--cluster', '-o', 'json']);
    assert.equal(mutated.code, 0, mutated.stderr);
    assert.deepEqual(JSON.parse(mutated.stdout).spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '4' });
    const elsewhere = await cli(['explain', '-f', file, '--cluster', '--namespace', 'nowhere']);
    assert.equal(elsewhere.code, 2);
    assert.match(elsewhere.stderr, /namespace nowhere does not exist in the cluster/);
  });
});
