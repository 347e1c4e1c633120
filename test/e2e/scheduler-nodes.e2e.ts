// End to end: the cluster view of Volcano vGPU and Koordinator nodes against the real API server.
// The nodes are planted as those schedulers' components publish them — Volcano's vGPU device plugin
// (volcano.sh/node-vgpu-register, volcano.sh/vgpu-number/-memory/-cores), Koordinator's
// slo-controller (node.koordinator.sh/gpu-model, koordinator.sh/gpu-core/-memory/-memory-ratio/
// gpu.shared, koordinator.sh/rdma) — with status through the status subresource, and bound pods
// as the schedulers leave them. The schedulers themselves do not run here (docs/backends.md).
// Run: node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 test/e2e/scheduler-nodes.e2e.ts
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { startControlPlane, type ControlPlane } from './control-plane/control-plane.ts';
import { ROOT, ensureBinaries, namespace } from './harness/cluster.ts';
import { nodeObjects, type GpuNode } from './harness/cluster-nodes.ts';
import { Kubectl, runProcess } from './harness/kubectl.ts';

type Obj = Record<string, any>;
let cp: ControlPlane;
let k: Kubectl;
let work: string;
let policyFile: string;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args, '--kubeconfig', cp.kubeconfig], { cwd: ROOT });
}

const register = (cards: number, mem: number, type: string, mode: string): string =>
  Array.from({ length: cards }, (_, i) => `GPU-${type}-${i},10,${mem},${type},true,${mode}:`).join('');

const NODES: readonly GpuNode[] = [
  { name: 'vol-l40s-a', labels: { 'volcano.sh/nodegroup-name': 'l40s' },
    annotations: { 'volcano.sh/node-vgpu-register': register(8, 46068, 'NVIDIA-L40S', 'hami-core') },
    resources: { 'volcano.sh/vgpu-number': '80', 'volcano.sh/vgpu-memory': String(8 * 46068), 'volcano.sh/vgpu-cores': '800' } },
  { name: 'vol-a100-a', labels: { 'volcano.sh/nodegroup-name': 'a100-mig' },
    annotations: { 'volcano.sh/node-vgpu-register': register(8, 81920, 'NVIDIA-A100-SXM4-80GB', 'mig') },
    resources: { 'volcano.sh/vgpu-number': '80', 'volcano.sh/vgpu-memory': String(8 * 81920), 'volcano.sh/vgpu-cores': '800' } },
  { name: 'koord-a10-a', labels: { 'node.koordinator.sh/gpu-model': 'A10', 'node.koordinator.sh/gpu-vendor': 'nvidia', 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' },
    resources: { 'koordinator.sh/gpu-core': '400', 'koordinator.sh/gpu-memory': '88Gi', 'koordinator.sh/gpu-memory-ratio': '400', 'koordinator.sh/gpu.shared': '400' } },
  { name: 'koord-h800-a', labels: { 'node.koordinator.sh/gpu-model': 'H800', 'node.koordinator.sh/gpu-vendor': 'nvidia' },
    resources: { 'koordinator.sh/gpu-core': '800', 'koordinator.sh/gpu-memory': '632Gi', 'koordinator.sh/gpu-memory-ratio': '800', 'koordinator.sh/gpu.shared': '800', 'koordinator.sh/rdma': '800' } },
  { name: 'cpu-a', labels: {}, resources: {} },
];

const bound = (name: string, node: string, limits: Record<string, string>, annotations: Record<string, string> = {}): Obj => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ml', annotations },
  spec: { nodeName: node, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits, requests: limits } }] },
});

before(async () => {
  const bins = await ensureBinaries((m) => console.log(`[scheduler-nodes] ${m}`));
  work = await mkdtemp(join(tmpdir(), 'gpu-admission-scheduler-nodes-'));
  cp = await startControlPlane({ workDir: work, log: (m) => console.log(`[scheduler-nodes] ${m}`) });
  k = new Kubectl(bins.kubectl, cp.kubeconfig);
  for (const { node, status } of nodeObjects(NODES)) {
    await k.ok(['create', '-f', '-'], JSON.stringify(node));
    await k.ok(['patch', 'node', (node.metadata as Obj).name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }
  // The example policies' pools, in one policy: what a cluster running both would hold.
  const pools = await Promise.all(['volcano', 'koordinator'].map(async (name) => parse(await readFile(join(ROOT, `examples/policies/${name}.yaml`), 'utf8')).pools as Obj[]));
  policyFile = join(work, 'policy.yaml');
  await writeFile(policyFile, stringify({ apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', pools: pools.flat() }));
  await namespace(k, 'ml', false);
  await k.ok(['create', 'namespace', 'gpu-admission']);
  await k.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${policyFile}`]);
  const allocated = JSON.stringify({ gpu: [0, 1].map((minor) => ({ minor, resources: { 'koordinator.sh/gpu-core': '30', 'koordinator.sh/gpu-memory-ratio': '50', 'koordinator.sh/gpu-memory': '11Gi' } })) });
  for (const p of [
    bound('vgpu-1', 'vol-l40s-a', { 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '12288', 'volcano.sh/vgpu-cores': '30' }),
    bound('koord-1', 'koord-a10-a', { 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': '22Gi', 'koordinator.sh/gpu-core': '60' },
      { 'scheduling.koordinator.sh/device-allocated': allocated }),
  ]) await k.ok(['create', '-f', '-'], JSON.stringify(p));
}, { timeout: 30 * 60_000 });

after(async () => {
  await cp?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('Volcano and Koordinator nodes in the real API server', () => {
  it('when policy init --from-cluster reads them, then it drafts a pool of each backend with their cards, mode and isolation, which passes policy check --cluster', async () => {
    const r = await cli(['policy', 'init', '--from-cluster']);
    assert.equal(r.code, 0, r.stderr);
    const draft = parse(r.stdout);
    assert.deepEqual(draft.pools.map((p: Obj) => [p.name, p.backend, p.gpu, p.volcano, p.koordinator]), [
      ['a10-koord', 'koordinator', { model: 'A10', memory: '22Gi', perNode: 4 }, undefined, { gpuIsolationProvider: 'HAMi-core' }],
      ['h800-koord', 'koordinator', { model: 'H800', memory: '79Gi', perNode: 8 }, undefined, undefined],
      ['a100-sxm4-80gb-volcano', 'volcano-vgpu', { model: 'A100-SXM4-80GB', memory: '80Gi', perNode: 8 }, { mode: 'mig' }, undefined],
      ['l40s-volcano', 'volcano-vgpu', { model: 'L40S', memory: '45Gi', perNode: 8 }, undefined, undefined],
    ]);
    const file = join(work, 'drafted.yaml');
    await writeFile(file, r.stdout);
    const check = await cli(['policy', 'check', file, '--cluster']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /matches the cluster's nodes/);
  });

  it('when the example pools are checked against them, then there is no finding; a planted mismatch is named', async () => {
    const r = await cli(['policy', 'check', policyFile, '--cluster']);
    assert.equal(r.code, 0, r.stderr);
    const policy = parse(await readFile(policyFile, 'utf8'));
    policy.pools.find((p: Obj) => p.name === 'a100-mig').volcano = { mode: 'hami-core' };
    policy.pools.find((p: Obj) => p.name === 'h800').koordinator = { gpuIsolationProvider: 'HAMi-core' };
    const wrong = join(work, 'wrong.yaml');
    await writeFile(wrong, stringify(policy));
    const bad = await cli(['policy', 'check', wrong, '--cluster']);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    const findings = bad.stderr.split('\n').filter((l) => l.startsWith(`${wrong}: `)).map((l) => l.slice(wrong.length + 2));
    assert.deepEqual(findings, [
      'pool a100-mig: volcano.mode is hami-core but node vol-a100-a registers another mode (volcano.sh/node-vgpu-register): Volcano refuses pods whose volcano.sh/vgpu-mode differs',
      'pool h800: matches no node (its nodes: koordinator.sh/gpu-isolation-provider In HAMi-core, node.koordinator.sh/gpu-model In H800, node.koordinator.sh/gpu-vendor In nvidia)',
      'node koord-h800-a: has GPU resources (koordinator.sh/gpu-core, koordinator.sh/gpu-memory, koordinator.sh/gpu-memory-ratio, koordinator.sh/gpu.shared, koordinator.sh/rdma) but matches no pool',
    ]);
  });

  it('when inspect reads the bound pods, then Volcano\'s vGPUs count memory and cores per card and Koordinator\'s allocation is what its pod holds', async () => {
    const r = await cli(['inspect', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const usage = (pool: string): unknown => report.pools.find((p: Obj) => p.name === pool)?.usage.map((u: Obj) => [u.resource, u.allocated, u.total]);
    assert.deepEqual(usage('l40s-vgpu'), [['volcano.sh/vgpu-number', 2, 80], ['volcano.sh/vgpu-memory', 24576, 8 * 46068], ['volcano.sh/vgpu-cores', 60, 800]]);
    assert.deepEqual(usage('a10-hami-core'), [['koordinator.sh/gpu-core', 60, 400], ['koordinator.sh/gpu-memory-ratio', 100, 400]]);
  });
});
