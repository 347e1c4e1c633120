import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { stringify } from 'yaml';
import { decide } from '../../src/engine/decide.ts';
import type { Container, Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { design, upstream } from '../helpers/policies.ts';

const ALL_POOLS = [...design.pools, ...upstream.pools];

/** Policies made of a random ordered subset of every fixture pool, with random defaults. */
const policies: fc.Arbitrary<Policy> = fc.record({
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
const request = fc.record({
  gpu: fc.option(fc.integer({ min: 1, max: 9 }).map(String), { nil: undefined }),
  memory: fc.option(memory, { nil: undefined }),
  cores: fc.option(fc.integer({ min: 1, max: 100 }).map(String), { nil: undefined }),
  nvidia: fc.boolean(),
}).map(({ gpu, memory: m, cores, nvidia }) => {
  const limits: Record<string, string> = {};
  if (nvidia && !gpu && !m && !cores) limits['nvidia.com/gpu'] = '1';
  if (gpu) limits['gpu-admission.io/gpu'] = gpu;
  if (m) limits['gpu-admission.io/gpu-memory'] = m;
  if (cores) limits['gpu-admission.io/gpu-cores'] = cores;
  return limits;
});
const container = (role: 'app' | 'init' | 'sidecar', i: number) => fc.record({
  gpu: fc.option(request, { nil: undefined }),
  cpu: fc.constantFrom(undefined, '1', '4', '500m'),
  withRequests: fc.boolean(),
}).map(({ gpu, cpu, withRequests }): Container => {
  const limits: Record<string, string> = { ...gpu, ...(cpu ? { cpu } : {}) };
  return {
    name: `${role}-${i}`, image: 'busybox',
    resources: { limits, ...(withRequests ? { requests: { ...limits } } : {}) },
    ...(role === 'sidecar' ? { restartPolicy: 'Always' } : {}),
  };
});
const containers = (role: 'app' | 'init' | 'sidecar', min: number) =>
  fc.integer({ min, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => container(role, i))));

const existingTerm = fc.record({
  key: fc.constantFrom('zone', 'kubernetes.io/arch', 'ack.node.gpu.schedule'),
  values: fc.array(fc.constantFrom('a', 'b', 'amd64', 'cgpu'), { minLength: 1, maxLength: 2 }),
}).map(({ key, values }) => ({ matchExpressions: [{ key, operator: 'In' as const, values }] }));

const annotations = fc.record({
  'gpu-admission.io/numa': fc.constantFrom('SingleNUMANode', 'Restricted', 'BestEffort'),
  'gpu-admission.io/rdma': fc.constantFrom('true', 'false'),
  'gpu-admission.io/isolation': fc.constantFrom('none', 'memory', 'compute'),
  'gpu-admission.io/placement': fc.constantFrom('binpack', 'spread'),
}, { requiredKeys: [] });

const pods: fc.Arbitrary<Pod> = fc.record({
  app: containers('app', 1), init: containers('init', 0), sidecars: containers('sidecar', 0),
  terms: fc.array(existingTerm, { maxLength: 2 }),
  tolerations: fc.array(fc.constant({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }), { maxLength: 1 }),
  annotations,
}).map(({ app, init, sidecars, terms, tolerations, annotations: a }) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { generateName: 'train-', namespace: 'ml', annotations: a },
  spec: {
    containers: app,
    ...(init.length + sidecars.length > 0 ? { initContainers: [...sidecars, ...init] } : {}),
    ...(terms.length > 0 ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } : {}),
    ...(tolerations.length > 0 ? { tolerations } : {}),
  },
})).map((pod) => JSON.parse(JSON.stringify(pod)) as Pod); // JSON-shaped, as decoded from a review

const EXTENDED = /\//; // extended resources are domain-qualified: nvidia.com/gpu, aliyun.com/gpu-mem, …

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

describe('decide: properties over generated pods and policies', () => {
  it('when any pod meets any policy, then nothing throws, the patch applies, nothing generic is left, '
    + 'extended resources are equal integers and the webhook on its own output returns no patch', () => {
    fc.assert(fc.property(pods, policies, (pod, policy) => {
      const ctx = { policy, namespace: { name: 'ml', labels: {} } };
      const decision = decide(pod, ctx);
      if (decision.kind !== 'patch') return;
      const out = fjp.applyPatch(structuredClone(pod), fjp.deepClone(decision.patch), true, false).newDocument;
      for (const c of allContainers(out)) {
        const limits = c.resources?.limits ?? {};
        const requests = c.resources?.requests ?? {};
        for (const name of Object.keys({ ...limits, ...requests })) {
          assert.ok(!name.startsWith('gpu-admission.io/'), `${c.name} still has ${name}`);
          if (!EXTENDED.test(name)) continue;
          assert.match(String(limits[name]), /^[1-9]\d*$/, `${c.name} ${name} is a positive integer`);
          assert.equal(String(requests[name]), String(limits[name]), `${c.name} ${name}: requests equal limits`);
        }
      }
      assert.deepEqual(decide(out, ctx), { kind: 'allow', warnings: [] });
    }), { numRuns: 400 });
  });

  it('when the pod is decided, then the input pod is not modified', () => {
    fc.assert(fc.property(pods, policies, (pod, policy) => {
      const before = structuredClone(pod);
      decide(pod, { policy, namespace: { name: 'ml', labels: {} } });
      assert.deepEqual(pod, before);
    }), { numRuns: 100 });
  });

  it('when arbitrary JSON arrives as a pod spec, then decide answers without throwing', () => {
    const junk = fc.record({
      containers: fc.array(fc.record({ name: fc.string(), resources: fc.anything() }), { maxLength: 2 }),
      initContainers: fc.option(fc.array(fc.record({ name: fc.string(), restartPolicy: fc.string(), resources: fc.anything() }), { maxLength: 2 }), { nil: undefined }),
    }, { requiredKeys: ['containers'] });
    fc.assert(fc.property(junk, fc.dictionary(fc.string(), fc.string()), (spec, ann) => {
      const pod = JSON.parse(JSON.stringify({ metadata: { annotations: ann }, spec })) as Pod;
      const d = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
      assert.ok(['not-applicable', 'allow', 'patch', 'deny'].includes(d.kind));
    }), { numRuns: 300 });
  });
});
