import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

// The design's policy example, kept in the repository as a fixture: it must be accepted as it is.
const designExample = readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8');

const base = (pools: string, extra = ''): string => `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
${pools}
${extra}`;

describe('policy: parse and validate', () => {
  it('when the design example (test/fixtures/policies/design.yaml) is parsed as it is, then it is valid with defaults filled in', () => {
    assert.ok(designExample.includes('a100-topology'), 'the fixture holds the design example');
    const result = parsePolicy(designExample);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.policy.defaults, { acceptNvidiaGpu: true, rounding: 'up', isolation: 'none' });
    assert.equal(result.policy.pools[1]?.rdma, undefined);
    assert.deepEqual(result.policy.pools[2]?.rdma, { resource: 'aliyun/erdma', perPod: 1 });
    assert.equal(result.policy.pools[2]?.gpu.product, 'A100-SXM4-80GB', 'the product is the model when the policy does not say');
    assert.deepEqual(result.policy.pools[1]?.nodeSelector, {});
    assert.ok(Object.isFrozen(result.policy.pools[0]?.gpu));
  });

  it('when the embedded default is parsed, then it is the design example fixture', () => {
    const a = parsePolicy(DEFAULT_POLICY_YAML);
    const b = parsePolicy(designExample);
    assert.ok(a.ok && b.ok);
    assert.equal(a.policy.revision, b.policy.revision);
  });

  it('when a source version is given, then the revision is that version and the content hash', () => {
    const r = parsePolicy(DEFAULT_POLICY_YAML, '4711');
    assert.ok(r.ok);
    assert.match(r.policy.revision, /^4711-[0-9a-f]{12}$/);
  });

  const invalid: [string, string, string[]][] = [
    ['an unknown field', base('  - {name: a, backend: hami, nodeSelector: {x: y}, gpu: {model: m, memory: 8Gi, perNode: 1}, colour: red}'), ['/pools/0: unknown field "colour"']],
    ['a memory that is not a quantity', base('  - {name: a, backend: ack-cgpu, gpu: {model: m, memory: 24GB, perNode: 1}}'), ['/pools/0/gpu/memory: must be a quantity such as 24Gi']],
    ['an unknown backend', base('  - {name: a, backend: amd, gpu: {model: m, memory: 8Gi, perNode: 1}}'), ['/pools/0/backend: must be one of']],
    ['a duplicate pool name', base('  - {name: a, backend: ack-cgpu, gpu: {model: m, memory: 8Gi, perNode: 1}}\n  - {name: a, backend: ack-mps, gpu: {model: m, memory: 8Gi, perNode: 1}}'), ['/pools/1/name: "a" is already the name of /pools/0']],
    ['a namespace rule naming no pool', base('  - {name: a, backend: ack-cgpu, gpu: {model: m, memory: 8Gi, perNode: 1}}', 'namespaces: [{names: [x], allowedPools: [b]}]'), ['/namespaces/0/allowedPools/0: no pool is named "b"']],
    ['a MIG profile larger than the card', base('  - {name: a, backend: ack-mig, gpu: {model: m, memory: 40Gi, perNode: 1}, mig: {profiles: [1g.10gb, 7g.80gb]}}'), ['/pools/0/mig/profiles/1: 7g.80gb needs 80 GB, the card has 40Gi']],
    ['a MIG pool without profiles', base('  - {name: a, backend: nvidia-mig, gpu: {model: m, memory: 40Gi, perNode: 1}}'), ['/pools/0/mig: backend nvidia-mig needs mig.profiles']],
    ['NUMA figures that do not add up', base('  - {name: a, backend: ack-topology, gpu: {model: m, memory: 80Gi, perNode: 8}, numa: {nodes: 2, gpusPerNode: 2, cpusPerNode: 64}}'), ['/pools/0/numa: 2 nodes × 2 GPUs is not gpu.perNode (8)']],
    ['NUMA on a shared backend', base('  - {name: a, backend: ack-cgpu, gpu: {model: m, memory: 80Gi, perNode: 8}, numa: {nodes: 2, gpusPerNode: 4, cpusPerNode: 64}}'), ['/pools/0/numa: NUMA scheduling needs backend ack-topology']],
    ['HAMi without a node selector', base('  - {name: a, backend: hami, gpu: {model: m, memory: 8Gi, perNode: 1}}'), ['/pools/0/nodeSelector: backend hami needs a nodeSelector']],
    ['placement on an exclusive pool', base('  - {name: a, backend: ack-exclusive, placement: spread, gpu: {model: m, memory: 8Gi, perNode: 1}}'), ['/pools/0/placement: only ACK shared backends']],
    ['a selector that fights the backend label', base('  - {name: a, backend: ack-cgpu, nodeSelector: {ack.node.gpu.schedule: share}, gpu: {model: m, memory: 8Gi, perNode: 1}}'), ['/pools/0/nodeSelector: "ack.node.gpu.schedule" is set by backend ack-cgpu']],
    ['a wrong kind and no pools', 'apiVersion: gpu-admission.io/v1alpha1\nkind: Policy\n', ['/kind: must be GpuAdmissionPolicy', '/: missing field "pools"']],
    ['YAML that does not parse', 'pools: [\n', ['line']],
    ['a list instead of a mapping', '- a\n- b\n', ['/: the policy must be a mapping']],
    ['a toleration with a value and Exists', base('  - {name: a, backend: ack-topology, gpu: {model: m, memory: 8Gi, perNode: 1}, taints: [{key: k, operator: Exists, value: v}]}'), ['/pools/0/taints/0/value: must be empty when operator is Exists']],
    ['a toleration Equal without a key', base('  - {name: a, backend: ack-topology, gpu: {model: m, memory: 8Gi, perNode: 1}, taints: [{operator: Equal, value: v}]}'), ['/pools/0/taints/0/key: needed when operator is Equal']],
    ['zero GPUs per node', base('  - {name: a, backend: ack-cgpu, gpu: {model: m, memory: 8Gi, perNode: 0}}'), ['/pools/0/gpu/perNode: must be >= 1']],
  ];
  for (const [what, text, expected] of invalid) {
    it(`when the policy has ${what}, then it is refused naming the path`, () => {
      const result = parsePolicy(text);
      assert.equal(result.ok, false);
      const errors = result.ok ? [] : result.errors;
      for (const e of expected) assert.ok(errors.some((x) => x.startsWith(e)), `"${e}" not among ${JSON.stringify(errors)}`);
    });
  }
});
