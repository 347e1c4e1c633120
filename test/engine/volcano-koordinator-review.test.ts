// Adversarial review of the volcano-vgpu and koordinator backends: pods the webhook admitted
// that the vendors' code would never serve as asked. Each case names the vendor source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { runCase, type Case } from '../helpers/decide-cases.ts';
import { generic as G, podWith } from '../helpers/pods.ts';

const volcano = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: l40s, backend: volcano-vgpu, nodeSelector: {group: l40s}, gpu: {model: L40S, memory: 44Gi, perNode: 8}}
  - {name: a100-mig, backend: volcano-vgpu, nodeSelector: {group: a100}, gpu: {model: A100, product: A100-SXM4-80GB, memory: 80Gi, perNode: 8}, volcano: {mode: mig}}
`);
// 8 × A100 80GB is 655360 MiB, above the 60000 memory devices kubelet takes: the vGPU plugin's doc/design.md
// ("a node with eight of them needs 11") has the operator set gpuMemoryFactor 11 on the plugin and the scheduler.
const factor11 = (rounding = 'up') => parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
defaults: {rounding: ${rounding}}
pools:
  - {name: a100, backend: volcano-vgpu, nodeSelector: {group: a100}, gpu: {model: A100, product: A100-SXM4-80GB, memory: 80Gi, perNode: 8}, volcano: {memoryFactor: 11}}
`);
const koord = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10, backend: koordinator, nodeSelector: {vendor: nvidia}, gpu: {model: A10, memory: 22Gi, perNode: 4}, koordinator: {gpuIsolationProvider: HAMi-core}}
  - {name: h800, backend: koordinator, nodeSelector: {vendor: nvidia}, gpu: {model: H800, memory: 80Gi, perNode: 8}}
namespaces:
  - {names: [inference], allowedPools: [a10], isolation: compute}
`);

const one = (limits: Record<string, string>, annotations: Record<string, string> = {}, labels?: Record<string, string>): Pod =>
  podWith([{ name: 'main', limits }], annotations, labels ? { labels } : {});

const volcanoCases: Case[] = [
  // volcano nvidia/vgpu/utils.go checkNodeGPUSharingPredicateAndScore: `podSharingMode != gssnap.Mode`, compared as written.
  { name: 'when the pod pins " mig" (a stray space), then it is refused: Volcano compares the mode exactly and no node runs " mig"',
    policy: volcano, pod: one(G(undefined, '8Gi'), { 'volcano.sh/vgpu-mode': ' mig' }),
    denied: ['pool a100-mig: the pod\'s volcano.sh/vgpu-mode is " mig"'] },
  // volcano-vgpu-device-plugin pkg/plugin/server.go Allocate: only the count resource hands out a card;
  // volcano devices/util.go ExtractResourceRequest and vgpu/utils.go checkVGPUResourcesInPod.
  { name: 'when native vgpu-memory is asked without vgpu-number, then it is refused: the device plugin hands out cards for the count only',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-memory': '8000' }),
    denied: ['volcano.sh/vgpu-memory needs volcano.sh/vgpu-number in the same container'] },
  { name: 'when native vgpu-cores is asked alone, then it is refused: Volcano allocates no card for it',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-cores': '30' }),
    denied: ['volcano.sh/vgpu-cores needs volcano.sh/vgpu-number in the same container'] },
  // volcano nvidia/vgpu/utils.go checkGPUtype: `if inuse, ok := annos[GPUInUse]; ok { … return false }` — nouse is read only without use.
  { name: 'when the pod excludes a card type with nouse-gputype, then no use-gputype is written over it (Volcano would then ignore the exclusion)',
    policy: volcano, pod: one(G('1', '8Gi'), { 'nvidia.com/nouse-gputype': 'L40S-8Q' }), pools: ['l40s'],
    check: (out) => {
      assert.equal(out.metadata?.annotations?.['nvidia.com/use-gputype'], undefined);
      assert.equal(out.metadata?.annotations?.['nvidia.com/nouse-gputype'], 'L40S-8Q');
    } },
  // volcano devices/util.go ExtractResourceRequest: `memnums, ok := mem.AsInt64()` — 1.5Gi is 1610612736 "MiB".
  { name: 'when native vgpu-memory is written as bytes (1.5Gi), then the refusal says it counts MiB and what to write',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '1.5Gi' }),
    denied: ['volcano.sh/vgpu-memory is a plain number of MiB, not bytes: 1.5Gi reads as 1610612736; write 1536'] },
  { name: 'when native vgpu-number comes with memory and cores, then it is still routed',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '8000', 'volcano.sh/vgpu-cores': '30' }), pools: ['l40s', 'a100-mig'] },
];

// volcano-vgpu-device-plugin pkg/plugin/register.go:91 `registeredmem := int32(memory.Total/(1024*1024)) / int32(config.GPUMemoryFactor)`,
// server.go:441 `CUDA_DEVICE_MEMORY_LIMIT_%v = Usedmem*GPUMemoryFactor "m"`; volcano config/vgpu.go GPUMemoryFactor.
const factorCases: Case[] = [
  { name: 'when 12Gi is asked on a pool whose plugin counts 11Mi units, then vgpu-memory is written in those units (rounded up), not in MiB',
    policy: factor11(), pod: one(G('1', '12Gi', '30')), pools: ['a100'],
    check: (out) => assert.equal(out.spec.containers[0]?.resources?.limits?.['volcano.sh/vgpu-memory'], '1118') },
  { name: 'when 11Gi is asked (a multiple of 11Mi), then it is exact: 1024 units',
    policy: factor11(), pod: one(G('1', '11Gi')), pools: ['a100'],
    check: (out) => assert.equal(out.spec.containers[0]?.resources?.limits?.['volcano.sh/vgpu-memory'], '1024') },
  { name: 'when compute alone is asked, then its part of the card is written in units too',
    policy: factor11(), pod: one(G(undefined, undefined, '25')), pools: ['a100'],
    check: (out) => assert.equal(out.spec.containers[0]?.resources?.limits?.['volcano.sh/vgpu-memory'], String(Math.ceil(20480 / 11))) },
  { name: 'when the policy denies rounding and 12Gi is no whole number of units, then it is refused naming the factor',
    policy: factor11('deny'), pod: one(G('1', '12Gi')), denied: ["not a whole number of the device plugin's 11Mi memory units (volcano.memoryFactor)"] },
  { name: 'when a native vgpu-memory in units fits the card, then it is routed (8000 units of 11Mi = 88000Mi > 80Gi is not)',
    policy: factor11(), pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '7000' }), pools: ['a100'] },
  { name: 'when a native vgpu-memory in units is above the card, then it is refused in units and MiB',
    policy: factor11(), pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '8000' }),
    denied: ['card has 80Gi, volcano.sh/vgpu-memory asks 8000 units of 11Mi (88000Mi)'] },
];

const koordCases: Case[] = [
  // koordinator deviceshare/utils.go ValidDeviceResourceCombinations: GPUShared alone is no combination
  // ("invalid resource device requests"); koord-manager verify_device_resource.go: "GPU memory and GPU memory ratio all is zero".
  { name: 'when native gpu.shared is asked alone, then it is refused: koord-scheduler knows no such combination',
    policy: koord, pod: one({ 'koordinator.sh/gpu.shared': '1' }),
    denied: ['resources.limits["koordinator.sh/gpu.shared"]: needs koordinator.sh/gpu-memory or koordinator.sh/gpu-memory-ratio beside it'] },
];

describe('review: volcano-vgpu', () => {
  for (const c of volcanoCases) it(c.name, () => runCase(c));
});

describe('review: volcano-vgpu memoryFactor', () => {
  for (const c of factorCases) it(c.name, () => runCase(c));
});

describe('review: koordinator', () => {
  for (const c of koordCases) it(c.name, () => runCase(c));

  // koordinator deviceshare/plugin.go:359-362: the isolation-provider Error is returned only when
  // `state.gpuRequirements.gpuShared` — a pod of whole cards with the label fits any node.
  it('when a pod labelled HAMi-core asks whole cards, then the pool without HAMi-core still takes it (koord-scheduler checks the label for shares only)', () => {
    const d = decide(one(G('2'), { 'gpu-admission.io/pools': 'h800' }, { 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' }),
      { policy: koord, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'patch', JSON.stringify(d));
    assert.ok(d.kind === 'patch' && d.record.pools.includes('h800'), JSON.stringify(d.kind === 'patch' ? d.record : d));
  });

  it('when a pod labelled HAMi-core asks native whole cards (ratio 100 per card), then the pool without HAMi-core takes it too', () => {
    const pod = one({ 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory-ratio': '200', 'koordinator.sh/gpu-core': '200' }, {},
      { 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' });
    const d = decide(pod, { policy: koord, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'patch', JSON.stringify(d));
    assert.ok(d.kind === 'patch' && d.record.pools.includes('h800'), JSON.stringify(d.kind === 'patch' ? d.record : d));
  });

  it('when a pod labelled HAMi-core asks a share, then the pool without HAMi-core is still out', () => {
    const d = decide(one(G('1', '8Gi'), { 'gpu-admission.io/pools': 'h800' }, { 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' }),
      { policy: koord, namespace: { name: 'ml', labels: {} } });
    assert.equal(d.kind, 'deny', JSON.stringify(d));
  });

  // koordlet runtimehooks/hooks/gpu/gpu.go: CUDA_DEVICE_MEMORY_LIMIT / CUDA_DEVICE_SM_LIMIT only when the pod's
  // label koordinator.sh/gpu-isolation-provider is HAMi-core; without it the share is accounted, never limited.
  it('when a namespace needs isolation and a native share comes without the HAMi-core label, then it is not admitted unisolated', () => {
    const pod = one({ 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': '8Gi', 'koordinator.sh/gpu-core': '30' });
    const d = decide(pod, { policy: koord, namespace: { name: 'inference', labels: {} } });
    assert.equal(d.kind, 'deny', JSON.stringify(d));
    assert.ok(d.kind === 'deny' && d.message.includes('koordinator.sh/gpu-isolation-provider: HAMi-core'), d.kind === 'deny' ? d.message : '');
  });

  it('when the native share carries the HAMi-core label itself, then the namespace that needs isolation admits it', () => {
    const pod = one({ 'koordinator.sh/gpu.shared': '1', 'koordinator.sh/gpu-memory': '8Gi', 'koordinator.sh/gpu-core': '30' }, {},
      { 'koordinator.sh/gpu-isolation-provider': 'HAMi-core' });
    const d = decide(pod, { policy: koord, namespace: { name: 'inference', labels: {} } });
    assert.equal(d.kind, 'patch', JSON.stringify(d));
    assert.ok(d.kind === 'patch' && d.record.pools.includes('a10'));
  });
});
