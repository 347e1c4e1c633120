import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Container, Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { clouds, design, upstream } from './policies.ts';

/** Generators of pods and policies for the engine's property tests. */

/** KAI Scheduler pools (shares as pod annotations, MIG, the HAMi-core isolator). */
const KAI_POOLS = [
  { name: 'a10-kai', backend: 'kai', nodeSelector: { 'kai.scheduler/node-pool': 'a10' }, gpu: { model: 'A10', product: 'NVIDIA-A10', memory: '23028Mi', perNode: 4 },
    kai: { queue: 'team-a', gpuIsolationProvider: 'HAMi-core' } },
  { name: 'h100-kai-mig', backend: 'kai', nodeSelector: { 'kai.scheduler/node-pool': 'h100' }, gpu: { model: 'H100', memory: '80Gi', perNode: 8 },
    mig: { profiles: ['1g.10gb', '3g.40gb', '7g.80gb'] } },
];

const ALL_POOLS = [...design.pools, ...upstream.pools, ...clouds.pools, ...KAI_POOLS];

/** Policies made of a random ordered subset of every fixture pool, with random defaults. */
export const policies: fc.Arbitrary<Policy> = fc.record({
  pools: fc.shuffledSubarray(ALL_POOLS, { minLength: 1 }),
  acceptNvidiaGpu: fc.boolean(),
  rounding: fc.constantFrom('up', 'deny'),
  isolation: fc.constantFrom('none', 'memory', 'compute'),
}).map(({ pools, ...defaults }) => parsePolicyOrThrow(stringify({
  apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', defaults,
  pools: pools.map((p) => JSON.parse(JSON.stringify(p))),
})));

const memory = fc.oneof(
  fc.integer({ min: 1, max: 96 }).map((n) => `${n}Gi`),
  fc.integer({ min: 1, max: 90000 }).map((n) => `${n}Mi`),
  fc.constantFrom('1.5Gi', '12G', '0.5Gi'),
);
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
/** A container's GPU limits: whole cards, a memory share, memory and compute, or plain nvidia.com/gpu. */
const request: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => ({ 'gpu-admission.io/gpu': String(n) })) },
  { weight: 3, arbitrary: fc.tuple(fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 4 })), memory).map(([n, m]) => ({
    ...(n ? { 'gpu-admission.io/gpu': String(n) } : {}), 'gpu-admission.io/gpu-memory': m })) },
  { weight: 2, arbitrary: fc.tuple(rarely(memory), fc.integer({ min: 1, max: 100 })).map(([m, c]) => ({
    ...(m ? { 'gpu-admission.io/gpu-memory': m } : {}), 'gpu-admission.io/gpu-cores': String(c) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => ({ 'nvidia.com/gpu': String(n) })) },
);
const container = (role: 'app' | 'init' | 'sidecar', i: number) => fc.record({
  gpu: role === 'app' ? fc.option(request, { nil: undefined, freq: 4 }) : rarely(request),
  cpu: fc.constantFrom(undefined, '1', '4', '16', '500m'),
  withRequests: fc.boolean(),
}).map(({ gpu, cpu, withRequests }): Container => {
  const limits: Record<string, string> = { ...gpu, ...(cpu ? { cpu } : {}) };
  return {
    name: `${role}-${i}`, image: 'busybox',
    resources: { limits, ...(withRequests ? { requests: { ...limits } } : {}) },
    ...(role === 'sidecar' ? { restartPolicy: 'Always' } : {}),
  };
});
const containers = (role: 'app' | 'init' | 'sidecar', min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => container(role, i))));

const existingTerm = fc.record({
  key: fc.constantFrom('zone', 'kubernetes.io/arch', 'ack.node.gpu.schedule', 'ack.node.gpu.placement'),
  operator: fc.constantFrom('In', 'In', 'NotIn'),
  values: fc.array(fc.constantFrom('a', 'b', 'amd64', 'cgpu', 'core_mem', 'topology', 'spread'), { minLength: 1, maxLength: 2 }),
}).map(({ key, operator, values }) => ({ matchExpressions: [{ key, operator, values }] }));

/** The pod's own nodeSelector: often none, else a GPU mode, a model, a MIG strategy or something unrelated. */
const nodeSelector = rarely(fc.constantFrom<Record<string, string>>(
  { 'ack.node.gpu.schedule': 'default' }, { 'ack.node.gpu.schedule': 'cgpu' }, { 'ack.node.gpu.schedule': 'core_mem' },
  { 'ack.node.gpu.schedule': 'topology' }, { 'nvidia.com/mig.strategy': 'mixed' }, { 'nvidia.com/gpu.product': 'NVIDIA-L4' },
  { 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }, { zone: 'a' },
));

const annotations = fc.record({
  'gpu-admission.io/numa': rarely(fc.constantFrom('SingleNUMANode', 'Restricted', 'BestEffort')),
  'gpu-admission.io/rdma': rarely(fc.constantFrom('true', 'false')),
  'gpu-admission.io/isolation': rarely(fc.constantFrom('none', 'memory', 'compute')),
  'gpu-admission.io/placement': rarely(fc.constantFrom('binpack', 'spread')),
});

/** NUMA binding wants whole CPUs, requests equal to limits: give NUMA pods that, most of the time. */
function guaranteedCpus(list: Container[]): Container[] {
  return list.map((c) => {
    const limits = { ...c.resources?.limits, cpu: '4' };
    return { ...c, resources: { limits, requests: { ...c.resources?.requests, cpu: '4' } } };
  });
}

export const pods: fc.Arbitrary<Pod> = fc.record({
  app: containers('app', 1, 2), init: containers('init', 0, 2), sidecars: containers('sidecar', 0, 1),
  terms: fc.array(existingTerm, { maxLength: 2 }),
  tolerations: fc.array(fc.constant({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }), { maxLength: 1 }),
  annotations,
  wholeCpus: fc.integer({ min: 0, max: 9 }),
  nodeSelector,
  schedulerName: rarely(fc.constantFrom('volcano', 'default-scheduler')),
}).map(({ app, init, sidecars, terms, tolerations, annotations: a, wholeCpus, nodeSelector: selector, schedulerName }) => {
  const fix = a['gpu-admission.io/numa'] && wholeCpus > 0 ? guaranteedCpus : (l: Container[]) => l;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { generateName: 'train-', namespace: 'ml', annotations: a },
    spec: {
      containers: fix(app),
      ...(init.length + sidecars.length > 0 ? { initContainers: fix([...sidecars, ...init]) } : {}),
      ...(terms.length > 0 ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } : {}),
      ...(tolerations.length > 0 ? { tolerations } : {}),
      ...(selector ? { nodeSelector: selector } : {}),
      ...(schedulerName ? { schedulerName } : {}),
    },
  };
}).map((pod) => JSON.parse(JSON.stringify(pod)) as Pod); // JSON-shaped, as decoded from a review: no undefined

