import fc from 'fast-check';
import type { Pod } from '../../src/engine/pod.ts';

/**
 * Pods that try to leave their namespace's pools: a team limited to pool a100 of two
 * nvidia-exclusive pools that take the same resource, writing any mix of spec.nodeName,
 * nodeSelector, required terms (matchFields by node name, In or NotIn, ORed with open terms),
 * a schedulerName and a forged decision record. Shared by the engine property (npm test) and
 * `npm run fuzz` against the real server; the check is test/helpers/namespace-rules.ts.
 */
export const RULES_POLICY = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a100, backend: nvidia-exclusive, nodeSelector: {pool: a100}, gpu: {model: A100, memory: 80Gi, perNode: 8}}
  - {name: h100, backend: nvidia-exclusive, nodeSelector: {pool: h100}, gpu: {model: H100, memory: 80Gi, perNode: 8}}
namespaces:
  - {names: [team-a], allowedPools: [a100], maxGpusPerPod: 8}
`;
export const RULES_NAMESPACE = 'team-a';
export const RULES_ALLOWED = ['a100'];
export const RULES_NODES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'a100-node-1': { pool: 'a100', 'nvidia.com/gpu.product': 'A100', 'kubernetes.io/os': 'linux' },
  'h100-node-1': { pool: 'h100', 'nvidia.com/gpu.product': 'H100', 'kubernetes.io/os': 'linux' },
  'cpu-node-1': { 'kubernetes.io/os': 'linux' },
};
const NODE_NAMES = [...Object.keys(RULES_NODES), 'no-such-node'];

const requirement = fc.oneof(
  fc.record({ key: fc.constant('pool'), operator: fc.constantFrom('In', 'NotIn'), values: fc.subarray(['a100', 'h100'], { minLength: 1 }) }),
  fc.record({ key: fc.constant('nvidia.com/gpu.product'), operator: fc.constantFrom('In', 'NotIn'), values: fc.subarray(['A100', 'H100'], { minLength: 1 }) }),
  fc.constant({ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }),
  fc.record({ key: fc.constant('pool'), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);
const term = fc.record({
  matchExpressions: fc.array(requirement, { maxLength: 2 }),
  matchFields: fc.array(fc.record({ key: fc.constant('metadata.name'), operator: fc.constantFrom('In', 'NotIn'), values: fc.subarray(NODE_NAMES, { minLength: 1 }) }), { maxLength: 1 }),
}, { requiredKeys: [] });
const forged = fc.record({
  nodes: fc.array(fc.array(fc.constantFrom('pool In h100', 'pool In a100', 'tenant In team-a', 'kubernetes.io/os In linux', 'nvidia.com/gpu.product In H100'), { maxLength: 2 }), { maxLength: 2 }),
  scheduler: fc.option(fc.constantFrom('secure-scheduler', 'hami-scheduler'), { nil: undefined }),
});

export const ruleCases: fc.Arbitrary<Pod> = fc.record({
  native: fc.boolean(),
  gpus: fc.integer({ min: 1, max: 8 }),
  nodeName: fc.option(fc.constantFrom(...NODE_NAMES), { nil: undefined }),
  nodeSelector: fc.option(fc.constantFrom({ pool: 'a100' }, { pool: 'h100' }, { zone: 'x' }), { nil: undefined }),
  terms: fc.array(term, { maxLength: 3 }),
  schedulerName: fc.option(fc.constantFrom('secure-scheduler', 'default-scheduler'), { nil: undefined }),
  record: fc.option(forged, { nil: undefined }),
}).map(({ native, gpus, nodeName, nodeSelector, terms, schedulerName, record }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p', namespace: RULES_NAMESPACE,
    ...(record ? { annotations: { 'gpu-admission.io/decision': JSON.stringify({ pools: ['a100'], backend: 'nvidia-exclusive', revision: 'x', containers: {}, ...record }) } } : {}),
  },
  spec: {
    containers: [{ name: 'm', image: 'x', resources: { limits: { [native ? 'nvidia.com/gpu' : 'gpu-admission.io/gpu']: String(gpus) } } }],
    ...(nodeName ? { nodeName } : {}),
    ...(nodeSelector ? { nodeSelector } : {}),
    ...(schedulerName ? { schedulerName } : {}),
    ...(terms.length > 0 ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } : {}),
  },
}) as Pod);
