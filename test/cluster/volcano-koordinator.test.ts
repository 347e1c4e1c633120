// inspect, policy check --cluster and policy init --from-cluster on Volcano vGPU and Koordinator
// nodes, as their components publish them: Volcano's plugin registers cards in
// volcano.sh/node-vgpu-register (uuid,count,devmem,type,health,mode:) and advertises
// volcano.sh/vgpu-number, vgpu-memory, vgpu-cores; Koordinator's slo-controller labels the model
// and publishes the sums of the cards' koordinator.sh/gpu-core, gpu-memory, gpu-memory-ratio.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { draftPolicy } from '../../src/cluster/init.ts';
import { inspect } from '../../src/cluster/inspect.ts';
import { kueueTransformations } from '../../src/cluster/kueue.ts';
import { toClusterNode, toClusterPod, type ClusterNode } from '../../src/cluster/model.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

const node = (name: string, labels: Record<string, string>, allocatable: Record<string, string>, annotations: Record<string, string> = {}): ClusterNode =>
  toClusterNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels }, annotations }, status: { allocatable, conditions: [{ type: 'Ready', status: 'True' }] } });
const register = (cards: number, mem: number, type: string, mode: string): string =>
  Array.from({ length: cards }, (_, i) => `GPU-${i},10,${mem},${type},true,${mode}:`).join('');

const VOLCANO_L40S = node('vol-1', { group: 'l40s' }, { 'volcano.sh/vgpu-number': '20', 'volcano.sh/vgpu-memory': String(2 * 46068), 'volcano.sh/vgpu-cores': '200' },
  { 'volcano.sh/node-vgpu-register': register(2, 46068, 'NVIDIA-L40S', 'hami-core') });
const VOLCANO_MIG = node('vol-2', { group: 'a100' }, { 'volcano.sh/vgpu-number': '80', 'volcano.sh/vgpu-memory': String(8 * 81920), 'volcano.sh/vgpu-cores': '800' },
  { 'volcano.sh/node-vgpu-register': register(8, 81920, 'NVIDIA-A100-SXM4-80GB', 'mig') });
const KOORD_A10 = node('koord-1', { 'node.koordinator.sh/gpu-model': 'A10', 'node.koordinator.sh/gpu-vendor': 'nvidia', 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' },
  { 'koordinator.sh/gpu-core': '400', 'koordinator.sh/gpu-memory': '88Gi', 'koordinator.sh/gpu-memory-ratio': '400', 'koordinator.sh/gpu.shared': '400' });
const KOORD_H800 = node('koord-2', { 'node.koordinator.sh/gpu-model': 'H800', 'node.koordinator.sh/gpu-vendor': 'nvidia' },
  { 'koordinator.sh/gpu-core': '800', 'koordinator.sh/gpu-memory': '640Gi', 'koordinator.sh/gpu-memory-ratio': '800', 'koordinator.sh/gpu.shared': '800' });
const NODES = [VOLCANO_L40S, VOLCANO_MIG, KOORD_A10, KOORD_H800, node('cpu-1', {}, { cpu: '8' })];

describe('policy init --from-cluster on Volcano and Koordinator nodes', () => {
  const { yaml, notes } = draftPolicy(NODES);
  const draft = parse(yaml) as { pools: { name: string; backend: string; gpu: unknown; volcano?: unknown; koordinator?: unknown; nodeSelector?: unknown }[] };

  it('when the nodes are read, then each kind becomes a pool of its backend with its model, card memory, count, mode and isolation', () => {
    assert.deepEqual(notes, []);
    assert.deepEqual(draft.pools.map((p) => [p.name, p.backend, p.gpu, p.volcano, p.koordinator]), [
      ['l40s-volcano', 'volcano-vgpu', { model: 'L40S', memory: '45Gi', perNode: 2 }, undefined, undefined],
      ['a100-sxm4-80gb-volcano', 'volcano-vgpu', { model: 'A100-SXM4-80GB', memory: '80Gi', perNode: 8 }, { mode: 'mig' }, undefined],
      ['a10-koord', 'koordinator', { model: 'A10', memory: '22Gi', perNode: 4 }, undefined, { gpuIsolationProvider: 'HAMi-core' }],
      ['h800-koord', 'koordinator', { model: 'H800', memory: '80Gi', perNode: 8 }, undefined, undefined],
    ]);
  });

  it('when the draft is read back, then it is a valid policy with no finding against the same nodes', () => {
    const r = parsePolicy(yaml);
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.deepEqual(checkAgainstCluster(r.policy, NODES), []);
  });
});

describe('policy check --cluster on Volcano and Koordinator pools', () => {
  const policy = (pools: string): ReturnType<typeof parsePolicy> => parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n${pools}`);

  it('when a Volcano pool says hami-core but its nodes register mig, then the check says Volcano would refuse its pods', () => {
    const r = policy('  - {name: a100, backend: volcano-vgpu, nodeSelector: {group: a100}, gpu: {model: A100, product: A100-SXM4-80GB, memory: 80Gi, perNode: 8}}\n');
    assert.ok(r.ok);
    assert.deepEqual(checkAgainstCluster(r.policy, [VOLCANO_MIG]), [
      'pool a100: volcano.mode is hami-core but node vol-2 registers another mode (volcano.sh/node-vgpu-register): Volcano refuses pods whose volcano.sh/vgpu-mode differs',
    ]);
  });

  // volcano-vgpu-device-plugin pkg/plugin/register.go:91: devmem is memory.Total MiB / gpuMemoryFactor; 8 × 80GB needs 11 (doc/design.md).
  const FACTOR_11 = node('vol-3', { group: 'a100f' }, { 'volcano.sh/vgpu-number': '80', 'volcano.sh/vgpu-memory': String(8 * 7447), 'volcano.sh/vgpu-cores': '800' },
    { 'volcano.sh/node-vgpu-register': register(8, 7447, 'NVIDIA-A100-SXM4-80GB', 'hami-core') });

  it('when a Volcano pool sets memoryFactor 11 and its nodes register 11Mi units, then the card memory matches', () => {
    const r = policy('  - {name: a100, backend: volcano-vgpu, nodeSelector: {group: a100f}, gpu: {model: A100, product: A100-SXM4-80GB, memory: 80Gi, perNode: 8}, volcano: {memoryFactor: 11}}\n');
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.deepEqual(checkAgainstCluster(r.policy, [FACTOR_11]), []);
  });

  it('when a Volcano pool lacks memoryFactor on such nodes, then the memory finding says to set it', () => {
    const r = policy('  - {name: a100, backend: volcano-vgpu, nodeSelector: {group: a100f}, gpu: {model: A100, product: A100-SXM4-80GB, memory: 80Gi, perNode: 8}}\n');
    assert.ok(r.ok);
    const [finding] = checkAgainstCluster(r.policy, [FACTOR_11]);
    assert.match(finding ?? '', /^pool a100: gpu\.memory is 80Gi but node vol-3 reports 7\.3Gi per card \(.*set volcano\.memoryFactor to it\)$/);
  });

  it('when a Koordinator pool declares HAMi-core but its nodes lack the label, then it matches no node', () => {
    const r = policy('  - {name: h800, backend: koordinator, nodeSelector: {node.koordinator.sh/gpu-vendor: nvidia}, gpu: {model: H800, memory: 80Gi, perNode: 8}, koordinator: {gpuIsolationProvider: HAMi-core}}\n');
    assert.ok(r.ok);
    const [finding] = checkAgainstCluster(r.policy, [KOORD_H800]);
    assert.match(finding ?? '', /^pool h800: matches no node \(its nodes: .*koordinator\.sh\/gpu-isolation-provider In HAMi-core/);
  });

  it('when a Koordinator pool\'s card count or memory differ from the nodes\', then the check names them', () => {
    const r = policy('  - {name: a10, backend: koordinator, nodeSelector: {node.koordinator.sh/gpu-vendor: nvidia}, gpu: {model: A10, memory: 40Gi, perNode: 8}}\n');
    assert.ok(r.ok);
    assert.deepEqual(checkAgainstCluster(r.policy, [KOORD_A10]), [
      'pool a10: gpu.memory is 40Gi but node koord-1 reports 22Gi per card', 'pool a10: gpu.perNode is 8 but node koord-1 has 4 cards',
    ]);
  });
});

describe('inspect on Volcano and Koordinator pools', () => {
  const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: l40s, backend: volcano-vgpu, nodeSelector: {group: l40s}, gpu: {model: L40S, memory: 45Gi, perNode: 2}}
  - {name: a10, backend: koordinator, nodeSelector: {node.koordinator.sh/gpu-vendor: nvidia}, gpu: {model: A10, memory: 22Gi, perNode: 4}, koordinator: {gpuIsolationProvider: HAMi-core}}
`);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const pod = (name: string, nodeName: string, limits: Record<string, string>, annotations: Record<string, string> = {}): ReturnType<typeof toClusterPod> =>
    toClusterPod({ metadata: { name, namespace: 'ml', annotations }, spec: { nodeName, containers: [{ name: 'main', resources: { limits } }] }, status: { phase: 'Running' } });

  it('when a Volcano pod holds 2 vGPUs of 8000 MiB and 30%, then it holds its memory and cores on each card', () => {
    const report = inspect(r.policy, NODES, [pod('v', 'vol-1', { 'volcano.sh/vgpu-number': '2', 'volcano.sh/vgpu-memory': '8000', 'volcano.sh/vgpu-cores': '30' })]);
    const l40s = report.pools.find((p) => p.name === 'l40s');
    assert.deepEqual(l40s?.usage.map((u) => [u.what, u.allocated, u.total]), [['vGPUs', 2, 20], ['GPU memory', 16000, 92136], ['cores', 60, 200]]);
  });

  it('when a Koordinator pod has koord-scheduler\'s allocation, then it holds what the allocation says; without it, its requests (memory as its ratio of the card)', () => {
    const allocated = JSON.stringify({ gpu: [0, 1].map((minor) => ({ minor, resources: { 'koordinator.sh/gpu-core': '30', 'koordinator.sh/gpu-memory-ratio': '50', 'koordinator.sh/gpu-memory': '11Gi' } })) });
    const pods = [
      pod('placed', 'koord-1', { 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': '22Gi', 'koordinator.sh/gpu-core': '60' }, { 'scheduling.koordinator.sh/device-allocated': allocated }),
      pod('asked', 'koord-1', { 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': '11Gi', 'koordinator.sh/gpu-core': '25' }),
    ];
    const a10 = inspect(r.policy, NODES, pods).pools.find((p) => p.name === 'a10');
    assert.deepEqual(a10?.usage.map((u) => [u.what, u.allocated, u.total]), [['compute', 85, 400], ['GPU memory', 150, 400]]);
  });
});

describe('policy kueue on Volcano and Koordinator pools', () => {
  it('when transformations are made, then Volcano\'s cores count per vGPU, Koordinator\'s totals count as they are, and its memory ratio is not guessed', () => {
    const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: v, backend: volcano-vgpu, nodeSelector: {group: l40s}, gpu: {model: L40S, memory: 45Gi, perNode: 2}}
  - {name: k, backend: koordinator, nodeSelector: {vendor: nvidia}, gpu: {model: A10, memory: 22Gi, perNode: 4}}
`);
    assert.ok(r.ok);
    const byInput = new Map(kueueTransformations(r.policy).transformations.map((t) => [t.input, t]));
    assert.deepEqual(byInput.get('volcano.sh/vgpu-cores'), { input: 'volcano.sh/vgpu-cores', strategy: 'Replace', multiplyBy: 'volcano.sh/vgpu-number', outputs: { 'gpu-admission.io/total-gpu-cores': '1' } });
    assert.deepEqual(byInput.get('koordinator.sh/gpu-core'), { input: 'koordinator.sh/gpu-core', strategy: 'Replace', outputs: { 'gpu-admission.io/total-gpu-cores': '1' } });
    assert.deepEqual(byInput.get('koordinator.sh/gpu-memory'), { input: 'koordinator.sh/gpu-memory', strategy: 'Replace', outputs: { 'gpu-admission.io/total-gpu-memory': '1' } });
    assert.deepEqual(byInput.get('koordinator.sh/gpu.shared'), { input: 'koordinator.sh/gpu.shared', strategy: 'Replace', outputs: { 'gpu-admission.io/gpu': '1' } });
    assert.equal(byInput.get('koordinator.sh/gpu-memory-ratio'), undefined);
  });
});
