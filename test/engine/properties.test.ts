import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { decide } from '../../src/engine/decide.ts';
import type { Container, Pod } from '../../src/engine/pod.ts';
import { pods, policies } from '../helpers/generators.ts';
import { design } from '../helpers/policies.ts';

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
    }), { numRuns: 1000 });
    // The property only says something about patched pods: make sure the generators reach them.
    assert.ok((kinds.patch ?? 0) >= 150, `only ${kinds.patch ?? 0} of 1000 generated pods were patched: ${JSON.stringify(kinds)}`);
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
