import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { decodePod, decodeReview } from '../../src/admission/decode.ts';
import { decide } from '../../src/engine/decide.ts';
import { jsonDiff } from '../../src/engine/diff.ts';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES, scanJson } from '../../src/server/body.ts';
import { fuzzCasesUpTo } from '../fuzz/reviews.ts';
import { pods, policies } from '../helpers/generators.ts';
import { design } from '../helpers/policies.ts';

/** A patch as the answer carries it: serialised. */
const wire = (patch: readonly unknown[]): unknown => JSON.parse(JSON.stringify(patch));

describe('jsonDiff: the engine\'s patch is fast-json-patch\'s compare, without its copies', () => {
  it('when any two JSON documents are diffed, then the patch is the one compare() makes, op for op', () => {
    const doc = fc.jsonValue({ maxDepth: 4 });
    fc.assert(fc.property(doc, doc, (a, b) => {
      // compare() takes objects (it reads keys); the engine diffs pods.
      const before = { root: a, same: a };
      const after = { root: b, same: a, more: b };
      assert.deepEqual(wire(jsonDiff(before, after)), wire(fjp.compare(before, after)));
      assert.deepEqual(wire(jsonDiff(after, before)), wire(fjp.compare(after, before)));
    }), { numRuns: 500 });
  });

  it('when any generated pod meets any policy and is patched, then the patch equals compare() of the pod and the patched pod', () => {
    let patchedPods = 0;
    fc.assert(fc.property(pods, policies, (pod, policy) => {
      const decision = decide(pod, { policy, namespace: { name: 'ml', labels: {} } });
      if (decision.kind !== 'patch') return;
      patchedPods += 1;
      assert.deepEqual(wire(decision.patch), wire(fjp.compare(pod, decision.pod)));
    }), { numRuns: 300 });
    assert.ok(patchedPods > 0, 'some generated pods were patched');
  });

  it('when a copy took a `__proto__` key by assignment (its prototype, not a key), then the key reads as removed, as compare() has it', () => {
    const before = JSON.parse('{"limits":{"cpu":"1","__proto__":{"x":"1"}}}') as { limits: Record<string, unknown> };
    const limits: Record<string, unknown> = {};
    for (const name of Object.keys(before.limits)) limits[name] = before.limits[name];
    const after = { limits };
    assert.deepEqual(wire(jsonDiff(before, after)), wire(fjp.compare(before, after)));
    assert.deepEqual(wire(jsonDiff(before, after)), [{ op: 'remove', path: '/limits/__proto__' }]);
  });

  it('when the fuzz suite\'s broken reviews are decided on the design policy, then every patch equals compare()', () => {
    let patchedPods = 0;
    fc.assert(fc.property(fuzzCasesUpTo(2_000), ({ body }) => {
      // The server refuses a body past its bounds before it is parsed (src/server/body.ts): such a
      // review never reaches the engine (a pod nested thousands deep would overflow the copy's stack).
      if (scanJson(body, MAX_JSON_DEPTH, MAX_JSON_VALUES).over !== undefined) return;
      let pod;
      try {
        pod = decodePod(decodeReview(JSON.parse(body)));
      } catch {
        return; // not a pod the engine would see
      }
      const decision = decide(pod, { policy: design, namespace: { name: 'ml', labels: {} } });
      if (decision.kind !== 'patch') return;
      patchedPods += 1;
      assert.deepEqual(wire(decision.patch), wire(fjp.compare(pod, decision.pod)));
    }), { numRuns: 300 });
    assert.ok(patchedPods > 0, 'some broken reviews still made a patch');
  });
});
