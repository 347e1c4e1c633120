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
  { name: 'when native vgpu-number comes with memory and cores, then it is still routed',
    policy: volcano, pod: one({ 'volcano.sh/vgpu-number': '1', 'volcano.sh/vgpu-memory': '8000', 'volcano.sh/vgpu-cores': '30' }), pools: ['l40s', 'a100-mig'] },
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

describe('review: koordinator', () => {
  for (const c of koordCases) it(c.name, () => runCase(c));

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
