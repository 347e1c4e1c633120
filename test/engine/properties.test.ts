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
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
/** A container's GPU limits: whole cards, a memory share, memory and compute, or plain nvidia.com/gpu. */
const request: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => ({ 'gpu-admission.io/gpu': String(n) })) },
  { weight: 3, arbitrary: fc.tuple(rarely(fc.integer({ min: 1, max: 4 })), memory).map(([n, m]) => ({
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
  key: fc.constantFrom('zone', 'kubernetes.io/arch', 'ack.node.gpu.schedule'),
  values: fc.array(fc.constantFrom('a', 'b', 'amd64', 'cgpu'), { minLength: 1, maxLength: 2 }),
}).map(({ key, values }) => ({ matchExpressions: [{ key, operator: 'In' as const, values }] }));

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

const pods: fc.Arbitrary<Pod> = fc.record({
  app: containers('app', 1, 2), init: containers('init', 0, 2), sidecars: containers('sidecar', 0, 1),
  terms: fc.array(existingTerm, { maxLength: 2 }),
  tolerations: fc.array(fc.constant({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }), { maxLength: 1 }),
  annotations,
  wholeCpus: fc.integer({ min: 0, max: 9 }),
}).map(({ app, init, sidecars, terms, tolerations, annotations: a, wholeCpus }) => {
  const fix = a['gpu-admission.io/numa'] && wholeCpus > 0 ? guaranteedCpus : (l: Container[]) => l;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { generateName: 'train-', namespace: 'ml', annotations: a },
    spec: {
      containers: fix(app),
      ...(init.length + sidecars.length > 0 ? { initContainers: fix([...sidecars, ...init]) } : {}),
      ...(terms.length > 0 ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } : {}),
      ...(tolerations.length > 0 ? { tolerations } : {}),
    },
  };
}).map((pod) => JSON.parse(JSON.stringify(pod)) as Pod); // JSON-shaped, as decoded from a review: no undefined

const EXTENDED = /\//; // extended resources are domain-qualified: nvidia.com/gpu, aliyun.com/gpu-mem, …

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

describe('decide: properties over generated pods and policies', () => {
  it('when any pod meets any policy, then nothing throws, the patch applies, nothing generic is left, '
    + 'extended resources are equal integers and the webhook on its own output returns no patch', () => {
    const kinds: Record<string, number> = {};
    fc.assert(fc.property(pods, policies, (pod, policy) => {
      const ctx = { policy, namespace: { name: 'ml', labels: {} } };
      const decision = decide(pod, ctx);
      kinds[decision.kind] = (kinds[decision.kind] ?? 0) + 1;
      if (decision.kind !== 'patch') return;
      const out = fjp.applyPatch(structuredClone(pod), fjp.deepClone(decision.patch), true, false).newDocument;
      const before = new Map(allContainers(pod).map((c) => [c.name, c]));
      for (const c of allContainers(out)) {
        const limits = c.resources?.limits ?? {};
        const requests = c.resources?.requests ?? {};
        if (!(c.name in decision.record.containers)) {
          assert.deepEqual(c.resources, before.get(c.name)?.resources, `${c.name} asked no generic GPU: its resources are left as they were`);
          continue;
        }
        for (const name of Object.keys({ ...limits, ...requests })) {
          assert.ok(!name.startsWith('gpu-admission.io/'), `${c.name} still has ${name}`);
          if (!EXTENDED.test(name)) continue;
          assert.match(String(limits[name]), /^[1-9]\d*$/, `${c.name} ${name} is a positive integer`);
          assert.equal(String(requests[name]), String(limits[name]), `${c.name} ${name}: requests equal limits`);
        }
      }
      assert.deepEqual(decide(out, ctx), { kind: 'allow', warnings: [] });
    }), { numRuns: 600 });
    // The property only says something about patched pods: make sure the generators reach them.
    assert.ok((kinds.patch ?? 0) >= 150, `only ${kinds.patch ?? 0} of 600 generated pods were patched: ${JSON.stringify(kinds)}`);
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
