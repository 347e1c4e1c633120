// The cluster view of dra pools, on DRA objects shaped as the API returns them: devices from
// ResourceSlices (newest generation), allocations from ResourceClaims, DeviceClasses checked
// against the policy's. The same on a real API server: test/e2e/dra.e2e.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAgainstCluster } from '../../src/cluster/check.ts';
import { draftPolicy } from '../../src/cluster/init.ts';
import { inspect } from '../../src/cluster/inspect.ts';
import { toClusterNode, toDraView, withDevices } from '../../src/cluster/model.ts';
import { policyDeviceClasses } from '../../src/policy/dra.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';

const policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a100, backend: dra, nodeSelector: {pool: a100}, gpu: {model: A100, product: NVIDIA A100-SXM4-80GB, memory: 80Gi, perNode: 8}}
  - {name: a100-mig, backend: dra, nodeSelector: {pool: a100}, gpu: {model: A100, product: NVIDIA A100-SXM4-80GB, memory: 80Gi, perNode: 8}, mig: {profiles: [3g.40gb]}}
`);
const node = toClusterNode({ metadata: { name: 'n1', labels: { pool: 'a100' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
const device = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  name, attributes: { type: { string: type }, productName: { string: 'NVIDIA A100-SXM4-80GB' }, ...extra },
  capacity: { memory: { value: type === 'gpu' ? '81920Mi' : '40192Mi' } },
});
const slice = (generation: number, devices: unknown[]) => ({
  metadata: { name: `n1-gpu-${generation}` },
  spec: { driver: 'gpu.nvidia.com', nodeName: 'n1', pool: { name: 'n1', generation, resourceSliceCount: 1 }, devices },
});
const current = slice(2, [
  device('gpu-0', 'gpu'), device('gpu-1', 'gpu'), device('gpu-2', 'gpu'),
  device('gpu-3-mig-3g40gb-9-0', 'mig', { profile: { string: '3g.40gb' } }), device('gpu-3-mig-3g40gb-9-4', 'mig', { profile: { string: '3g.40gb' } }),
]);
const stale = slice(1, [device('gpu-0', 'gpu'), device('gpu-1', 'gpu'), device('gpu-2', 'gpu'), device('gpu-3', 'gpu')]);
const claim = (devices: string[]) => ({
  metadata: { name: 'p-extended-resources-x', namespace: 'ml' },
  status: { allocation: { devices: { results: devices.map((d, i) => ({ request: `container-0-request-${i}`, driver: 'gpu.nvidia.com', pool: 'n1', device: d })) } } },
});

describe('inspect on dra pools', () => {
  it('when slices and claims are read, then each pool counts the devices its class selects (newest generation) and those claims hold', () => {
    const view = toDraView([], [stale, current], [claim(['gpu-0', 'gpu-2']), claim(['gpu-3-mig-3g40gb-9-4'])]);
    const report = inspect(policy, withDevices([node], view), []);
    assert.deepEqual(report.pools.map((p) => [p.name, p.usage.map((u) => [u.what, u.allocated, u.total])]), [
      ['a100', [['cards', 2, 3]]],
      ['a100-mig', [['MIG 3g.40gb', 1, 2]]],
    ]);
    assert.deepEqual(report.nodes[0]!.usage.map((u) => [u.what, u.allocated, u.total]), [['cards', 2, 3], ['MIG 3g.40gb', 1, 2]]);
    // Cards from the slices, not perNode: 3 whole, and 1 in MIG mode (the parent in the MIG devices' names).
    assert.deepEqual(report.pools.map((p) => p.cards), [3, 1]);
    assert.equal(report.nodes[0]!.cards, 4);
  });

  it('when a node publishes GPUs through DRA but matches no pool, then inspect and the check both name it', () => {
    const stray = toClusterNode({ metadata: { name: 'stray', labels: { pool: 'other' } }, status: {} });
    const view = toDraView(policyDeviceClasses(policy).map((c) => JSON.parse(JSON.stringify(c))),
      [current, { ...slice(1, [device('gpu-0', 'gpu')]), spec: { ...slice(1, []).spec, nodeName: 'stray', pool: { name: 'stray', generation: 1, resourceSliceCount: 1 }, devices: [device('gpu-0', 'gpu')] } }], []);
    const nodes = withDevices([node, stray], view);
    assert.deepEqual(inspect(policy, nodes, []).unmatched, [{ name: 'stray', resources: { 'gpu.nvidia.com devices': 1 } }]);
    assert.deepEqual(checkAgainstCluster(policy, nodes, view), ['node stray: has GPU resources (gpu.nvidia.com devices) but matches no pool']);
  });
});

describe('policy init --from-cluster on DRA nodes', () => {
  it('when a node publishes whole cards and MIG slices through ResourceSlices, then a dra pool is drafted for each, and it passes the check once its classes exist', () => {
    const view = toDraView([], [current], []);
    const { yaml, notes } = draftPolicy(withDevices([node], view));
    const drafted = parsePolicyOrThrow(yaml);
    assert.deepEqual(drafted.pools.map((p) => [p.name, p.backend, p.nodeSelector, p.gpu.model, p.gpu.product, p.gpu.memory, p.gpu.perNode, p.mig?.profiles ?? null]), [
      ['a100-sxm4-80gb-dra', 'dra', { pool: 'a100' }, 'A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB', '80Gi', 3, null],
      ['a100-sxm4-80gb-dra-mig', 'dra', { pool: 'a100' }, 'A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB', '80Gi', 1, ['3g.40gb']],
    ]);
    assert.deepEqual(notes, ['pools a100-sxm4-80gb-dra, a100-sxm4-80gb-dra-mig are dra: their DeviceClasses select the productName above; '
      + 'apply them before the policy (gpu-admission policy deviceclasses FILE | kubectl apply -f -)']);
    const withClasses = toDraView(policyDeviceClasses(drafted).map((c) => JSON.parse(JSON.stringify(c))), [current], []);
    assert.deepEqual(checkAgainstCluster(drafted, withDevices([node], withClasses), withClasses), []);
  });
});

describe('policy check --cluster on dra pools', () => {
  const classes = policyDeviceClasses(policy).map((c) => JSON.parse(JSON.stringify(c)));

  it('when the classes are there as printed and the nodes publish their devices, then there is nothing to report', () => {
    const view = toDraView(classes, [current], []);
    assert.deepEqual(checkAgainstCluster(policy, withDevices([node], view), view), []);
  });

  it('when another class in the cluster takes a policy class\'s extendedResourceName, then it is a finding', () => {
    const named = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a100, backend: dra, nodeSelector: {pool: a100}, gpu: {model: A100, product: NVIDIA A100-SXM4-80GB, memory: 80Gi, perNode: 8},
     dra: {deviceClasses: {gpu: {name: a100.example.com, extendedResourceName: nvidia.com/a100}}}}
`);
    const own = policyDeviceClasses(named).map((c) => JSON.parse(JSON.stringify(c)));
    const rival = { metadata: { name: 'other.example.com' }, spec: { selectors: [{ cel: { expression: 'device.driver == "gpu.nvidia.com"' } }], extendedResourceName: 'nvidia.com/a100' } };
    const view = toDraView([...own, rival], [current], []);
    assert.deepEqual(checkAgainstCluster(named, withDevices([node], view), view), [
      "DeviceClass other.example.com: its extendedResourceName nvidia.com/a100 is also a100.example.com's, which pool a100 writes; "
        + "the scheduler may allocate other.example.com's devices to those pods: remove it, then touch a100.example.com (kubectl annotate) "
        + 'or restart kube-scheduler, which forgets the name when the other class goes (v1.37.2)',
    ]);
  });

  it('when a class is missing, another differs, and no device matches, then each is a finding', () => {
    const changed = { ...classes[1], spec: { selectors: [{ cel: { expression: 'device.driver == "gpu.nvidia.com"' } }] } };
    const view = toDraView([changed], [slice(1, [device('gpu-0', 'gpu', { productName: { string: 'NVIDIA H100 80GB HBM3' } })])], []);
    assert.deepEqual(checkAgainstCluster(policy, withDevices([node], view), view), [
      'DeviceClass a100.gpu-admission.io: missing (pool a100 asks it); apply the output of `gpu-admission policy deviceclasses`',
      'DeviceClass a100-mig-3g-40gb.gpu-admission.io: its selectors are not the ones pool a100-mig needs (device.driver == "gpu.nvidia.com" && '
        + 'has(device.attributes["gpu.nvidia.com"].type) && device.attributes["gpu.nvidia.com"].type == "mig" && has(device.attributes["gpu.nvidia.com"].profile) && '
        + 'device.attributes["gpu.nvidia.com"].profile == "3g.40gb" && has(device.attributes["gpu.nvidia.com"].productName) && '
        + 'device.attributes["gpu.nvidia.com"].productName == "NVIDIA A100-SXM4-80GB"); pods routed there get the class\'s devices, whatever they are',
      'pool a100: no ResourceSlice of its nodes (n1) publishes a device DeviceClass a100.gpu-admission.io selects (driver gpu.nvidia.com, type gpu, productName "NVIDIA A100-SXM4-80GB")',
      'pool a100-mig: no ResourceSlice of its nodes (n1) publishes a device DeviceClass a100-mig-3g-40gb.gpu-admission.io selects (driver gpu.nvidia.com, type mig, profile 3g.40gb, productName "NVIDIA A100-SXM4-80GB")',
    ]);
  });
});
