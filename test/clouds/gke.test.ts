// Backend gke: whole cards, time-sharing, MPS and MIG node pools of GKE, as its device plugin
// serves them (GoogleCloudPlatform/container-engine-accelerators; docs/backends.md, gke).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { mpsShare } from '../../src/engine/translate.ts';
import { poolTerms } from '../../src/policy/pool-nodes.ts';
import { parsePolicy, parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { parseQuantity, type Quantity } from '../../src/vocabulary/quantity.ts';
import { describeRequirement } from '../../src/vocabulary/node-selector.ts';
import { applied, generic, limitsOf, podWith } from '../helpers/pods.ts';

const POLICY = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
defaults: {acceptNvidiaGpu: false}
pools:
  - {name: l4-mps, backend: gke, gpu: {model: L4, product: nvidia-l4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 4}}
  - {name: t4-shared, backend: gke, gpu: {model: T4, product: nvidia-tesla-t4, memory: 15Gi, perNode: 2}, gke: {sharingStrategy: time-sharing, maxSharedClientsPerGpu: 3}}
  - {name: a100-mig, backend: gke, gpu: {model: A100, product: nvidia-tesla-a100, memory: 40Gi, perNode: 1}, mig: {profiles: [2g.10gb]}}
  - {name: h100, backend: gke, gpu: {model: H100, product: nvidia-h100-80gb, memory: 80Gi, perNode: 8}}
  - {name: l4-mps-4, backend: gke, gpu: {model: L4, product: nvidia-l4, memory: 22Gi, perNode: 4}, gke: {sharingStrategy: MPS, maxSharedClientsPerGpu: 2}}
`;
const policy = parsePolicyOrThrow(POLICY);
const only = (...names: string[]): Policy => ({ ...policy, pools: policy.pools.filter((p) => names.includes(p.name)) });
const pod = (limits: Record<string, string>, annotations: Record<string, string> = {}): Pod => podWith([{ name: 'main', limits }], annotations);
const run = (p: Pod, pol: Policy = policy) => decide(p, { policy: pol, namespace: { name: 'ml', labels: {} } });
const terms = (name: string): string[][] => poolTerms(policy.pools.find((p) => p.name === name)!).map((t) => t.map(describeRequirement).sort());

describe('gke: the node labels of each mode', () => {
  it('when a pool shares by MPS, then it selects the accelerator, the strategy, the clients per GPU and its card count', () => {
    assert.deepEqual(terms('l4-mps'), [['cloud.google.com/gke-accelerator-count=1', 'cloud.google.com/gke-accelerator=nvidia-l4',
      'cloud.google.com/gke-gpu-partition-size DoesNotExist', 'cloud.google.com/gke-gpu-sharing-strategy=mps', 'cloud.google.com/gke-max-shared-clients-per-gpu=4']]);
  });
  it('when a pool takes whole cards, then it keeps off shared and partitioned nodes', () => {
    assert.deepEqual(terms('h100'), [['cloud.google.com/gke-accelerator=nvidia-h100-80gb', 'cloud.google.com/gke-gpu-partition-size DoesNotExist',
      'cloud.google.com/gke-gpu-sharing-strategy DoesNotExist']]);
  });
  it('when a pool is MIG, then it selects the partition size, and the accelerator as GKE writes it (no GFD -MIG- suffix)', () => {
    assert.deepEqual(terms('a100-mig'), [['cloud.google.com/gke-accelerator=nvidia-tesla-a100', 'cloud.google.com/gke-gpu-partition-size=2g.10gb',
      'cloud.google.com/gke-gpu-sharing-strategy DoesNotExist']]);
  });
  it('when the strategy is spelled as auto-provisioned nodes carry it, then that value is selected', () => {
    assert.ok(terms('l4-mps-4')[0]!.includes('cloud.google.com/gke-gpu-sharing-strategy=MPS'));
  });
});

describe('gke: what is written', () => {
  const cases: { name: string; limits: Record<string, string>; pool: string; want?: Record<string, string>; warning?: RegExp; denied?: RegExp }[] = [
    { name: '10Gi + 40% on a 4-way MPS L4 takes 2 of 4 shares, with a warning', limits: generic('1', '10Gi', '40'), pool: 'l4-mps',
      want: { 'nvidia.com/gpu': '2' }, warning: /^10Gi \+ 40% rounded up to 2 of 4 MPS shares \(11\.0Gi, 50%\) \(container "main"\)$/ },
    { name: '5Gi on a 4-way MPS L4 takes 1 share, exactly a quarter', limits: generic('1', '5Gi'), pool: 'l4-mps', want: { 'nvidia.com/gpu': '1' }, warning: /rounded up to 1 of 4 MPS shares \(5\.5Gi, 25%\)/ },
    { name: 'a whole L4 on a single-GPU MPS pool takes all its shares', limits: generic('1'), pool: 'l4-mps', want: { 'nvidia.com/gpu': '4' } },
    { name: '3Gi on a time-sharing T4 takes one share', limits: generic('1', '3Gi'), pool: 't4-shared', want: { 'nvidia.com/gpu': '1' } },
    { name: 'a 3g share on A100 MIG takes one partition', limits: generic('1', '9Gi'), pool: 'a100-mig', want: { 'nvidia.com/gpu': '1' } },
    { name: 'two whole H100 take two cards', limits: generic('2'), pool: 'h100', want: { 'nvidia.com/gpu': '2' } },
    { name: '8Gi on a time-sharing T4 is more than a third of 15Gi', limits: generic('1', '8Gi'), pool: 't4-shared', denied: /a time-sharing client is 1\/3 of a 15Gi card; 8Gi does not fit it/ },
    { name: 'compute on time-sharing is refused', limits: generic('1', '3Gi', '30'), pool: 't4-shared', denied: /GKE time-sharing cannot limit compute/ },
    { name: 'a share of two cards on time-sharing is refused', limits: generic('2', '3Gi'), pool: 't4-shared', denied: /at most 1 nvidia.com\/gpu can be requested/ },
    { name: 'two MPS shares on a 4-GPU node are refused', limits: generic('1', '12Gi'), pool: 'l4-mps-4', denied: /needs 2 of 2 MPS shares; GKE allows more than one nvidia.com\/gpu under MPS only on single-GPU nodes/ },
    { name: 'a share on whole cards is refused', limits: generic('1', '4Gi'), pool: 'h100', denied: /takes whole GPUs only/ },
    { name: 'a whole card on time-sharing is refused', limits: generic('1'), pool: 't4-shared', denied: /GKE time-sharing only shares cards/ },
    { name: 'a share no 2g.10gb partition holds is refused', limits: generic('1', '12Gi'), pool: 'a100-mig', denied: /no MIG profile holds 12Gi/ },
  ];
  for (const c of cases) {
    it(`when ${c.name}`, () => {
      const p = pod(c.limits);
      const d = run(p, only(c.pool));
      if (c.denied) {
        assert.equal(d.kind, 'deny');
        assert.match(d.kind === 'deny' ? d.message : '', c.denied);
        return;
      }
      const out = applied(p, d);
      assert.deepEqual(limitsOf(out, 'main'), c.want);
      assert.deepEqual(out.spec.containers[0]?.resources?.requests, c.want);
      const warnings = d.kind === 'patch' ? d.warnings : [];
      if (c.warning) assert.ok(warnings.some((w) => c.warning!.test(w)), JSON.stringify(warnings));
      else assert.deepEqual(warnings.filter((w) => w.includes('MPS')), []);
      assert.equal(run(out, only(c.pool)).kind, 'allow', 'the webhook on its own output changes nothing');
    });
  }

  it('when a pod needs compute isolation, then time-sharing is ruled out and MPS serves it', () => {
    const d = run(pod(generic('1', '3Gi'), { 'gpu-admission.io/isolation': 'compute' }), only('t4-shared', 'l4-mps'));
    const out = applied(pod(generic('1', '3Gi'), { 'gpu-admission.io/isolation': 'compute' }), d);
    assert.match(JSON.stringify(out.spec.affinity), /"values":\["mps"\]/);
    const denied = run(pod(generic('1', '3Gi'), { 'gpu-admission.io/isolation': 'compute' }), only('t4-shared'));
    assert.match(denied.kind === 'deny' ? denied.message : '', /pool t4-shared: gke isolates nothing, the pod needs compute/);
  });

  it('when two containers ask 3 of 4 MPS shares each, then one node cannot hold them', () => {
    const d = run(podWith([{ name: 'a', limits: generic('1', '15Gi') }, { name: 'b', limits: generic('1', '15Gi') }]), only('l4-mps'));
    assert.match(d.kind === 'deny' ? d.message : '', /pod asks 6 mps shares, a node has 4/);
  });

  it('when MPS shares are computed, then they are the device plugin\'s: k × card / N MiB and k × 100 / N %, rounded down', () => {
    const card = parseQuantity('23034Mi') as Quantity;
    assert.deepEqual(mpsShare(2, 4, card), { memoryMiB: 11517n, threads: 50 });
    assert.deepEqual(mpsShare(1, 3, card), { memoryMiB: 7678n, threads: 33 });
  });
});

describe('gke: native nvidia.com/gpu written for a GKE pool', () => {
  const native = (n: string, pool: string) => run(pod({ 'nvidia.com/gpu': n }), only(pool));
  it('when a pod asks 2 on time-sharing, then it is refused as the device plugin would fail it', () => {
    const d = native('2', 't4-shared');
    assert.match(d.kind === 'deny' ? d.message : '', /2 time-sharing shares; GKE's device plugin gives a container at most 1/);
  });
  it('when containers ask more time-sharing shares than a node has, then the message counts shares, not GPUs', () => {
    const four = podWith(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => ({ name, limits: { 'nvidia.com/gpu': '1' } })));
    assert.match((d => d.kind === 'deny' ? d.message : '')(run(four, only('t4-shared'))), /pool t4-shared: pod asks 7 time-sharing shares, a node has 6 \(2 GPUs × 3 clients\)/);
  });
  it('when a pod asks 3 MPS shares on a single-GPU pool, then it is routed there', () => {
    assert.notEqual(native('3', 'l4-mps').kind, 'deny');
  });
  it('when a pod asks 5 MPS shares of 4, or 2 on a 4-GPU MPS pool, then it is refused with the reason', () => {
    assert.match((d => d.kind === 'deny' ? d.message : '')(native('5', 'l4-mps')), /5 MPS shares, a card has 4/);
    assert.match((d => d.kind === 'deny' ? d.message : '')(native('2', 'l4-mps-4')), /more than 1 only on single-GPU nodes/);
  });
  it('when a pod asks more partitions than a node holds, then it is refused', () => {
    assert.match((d => d.kind === 'deny' ? d.message : '')(native('4', 'a100-mig')), /4 × 2g.10gb, a node has 3/);
  });
  it('when containers ask partitions that each fit a node but not together, then the pod is refused (it would never schedule)', () => {
    // A node of a 2g.10gb node pool advertises 3 nvidia.com/gpu (gpuPartitionSizeMaxCount, pkg/gpu/nvidia/mig/mig.go): the pod's 4 fit none.
    const two = podWith([{ name: 'a', limits: { 'nvidia.com/gpu': '2' } }, { name: 'b', limits: { 'nvidia.com/gpu': '2' } }]);
    assert.match((d => d.kind === 'deny' ? d.message : '')(run(two, only('a100-mig'))), /pool a100-mig: pod asks 4 × 2g\.10gb, a node has 3/);
    const init = podWith([{ name: 'a', limits: { 'nvidia.com/gpu': '2' } }], {},
      { initContainers: [{ name: 'i', image: 'busybox', resources: { limits: { 'nvidia.com/gpu': '3' } } }] });
    assert.notEqual(run(init, only('a100-mig')).kind, 'deny', 'an init container\'s partitions are reused by the app containers');
  });
});

describe('gke: the policy', () => {
  it('when a gke pool names a partition size GKE makes on its card, then it is accepted', () => {
    for (const [gpu, size] of [['{model: A100, product: nvidia-tesla-a100, memory: 40Gi, perNode: 1}', '1g.5gb'], ['{model: H100, product: nvidia-h100-80gb, memory: 80Gi, perNode: 8}', '1g.20gb'],
      ['{model: H200, product: nvidia-h200-141gb, memory: 141Gi, perNode: 8}', '1g.35gb']]) {
      const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - {name: x, backend: gke, gpu: ${gpu}, mig: {profiles: [${size}]}}\n`);
      assert.ok(r.ok, JSON.stringify(r));
    }
  });
  const bad: [string, string, RegExp][] = [
    ['sharing and MIG together', '{name: x, backend: gke, gpu: {model: A100, memory: 40Gi, perNode: 1}, mig: {profiles: [1g.5gb]}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 2}}',
      /\/pools\/0\/gke: time-sharing or MPS on MIG partitions is not served here/],
    ['no clients per GPU', '{name: x, backend: gke, gpu: {model: L4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 0}}',
      /\/pools\/0\/gke\/maxSharedClientsPerGpu: must be >= 1/],
    ['two partition sizes', '{name: x, backend: gke, gpu: {model: A100, memory: 40Gi, perNode: 1}, mig: {profiles: [1g.5gb, 2g.10gb]}}',
      /\/pools\/0\/mig\/profiles: a GKE node pool has one partition size/],
    ['a gke block elsewhere', '{name: x, backend: nvidia-exclusive, nodeSelector: {a: b}, gpu: {model: L4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mps, maxSharedClientsPerGpu: 2}}',
      /\/pools\/0\/gke: only backend gke takes it/],
    ['a nodeSelector on a label the mode sets', '{name: x, backend: gke, nodeSelector: {cloud.google.com/gke-gpu-sharing-strategy: mps}, gpu: {model: L4, memory: 22Gi, perNode: 1}}',
      /\/pools\/0\/nodeSelector: "cloud.google.com\/gke-gpu-sharing-strategy" is set by backend gke/],
    ['a partition size GKE does not make', '{name: x, backend: gke, gpu: {model: H100, product: nvidia-h100-80gb, memory: 80Gi, perNode: 8}, mig: {profiles: [4g.40gb]}}',
      /\/pools\/0\/mig\/profiles\/0: GKE's device plugin takes no partition size 4g\.40gb/],
    ['a partition size of another card', '{name: x, backend: gke, gpu: {model: A100, product: nvidia-tesla-a100, memory: 40Gi, perNode: 1}, mig: {profiles: [1g.10gb]}}',
      /\/pools\/0\/mig\/profiles\/0: GKE's device plugin expects 7 × 1g\.10gb on each card, the A100 40GB holds 4/],
    ['an unknown strategy', '{name: x, backend: gke, gpu: {model: L4, memory: 22Gi, perNode: 1}, gke: {sharingStrategy: mig, maxSharedClientsPerGpu: 2}}',
      /\/pools\/0\/gke\/sharingStrategy: must be one of time-sharing, mps, TIME_SHARING, MPS/],
  ];
  for (const [what, pool, error] of bad) {
    it(`when a gke pool has ${what}, then the policy is refused naming the field`, () => {
      const r = parsePolicy(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - ${pool}\n`);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.errors.join('\n'), error);
    });
  }
});
