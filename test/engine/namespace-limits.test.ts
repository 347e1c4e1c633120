import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { namespaceLimits, namespacesKept } from '../../src/engine/namespace.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';

const design = (): ReturnType<typeof parsePolicyOrThrow> =>
  parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8'));

describe('namespace limits kept per name', () => {
  it('when a namespace is asked again, then it gets the limits its rules give, the same as the first time', () => {
    const policy = design();
    const first = namespaceLimits(policy, { name: 'research', labels: {} });
    assert.deepEqual([...first.allowedPools ?? []], ['a100-topology', 'a100-mig']);
    assert.equal(first.maxGpusPerPod, 8);
    assert.equal(namespaceLimits(policy, { name: 'research', labels: {} }), first);
    assert.deepEqual(namespaceLimits(policy, { name: 'ml', labels: {} }), {});
  });

  it('when a client sends reviews of endless namespace names, then at most 1,024 are kept and a name longer than any real one is never kept', () => {
    const policy = design();
    for (let i = 0; i < 3000; i++) namespaceLimits(policy, { name: `ns-${i}`, labels: {} });
    assert.ok(namespacesKept(policy) <= 1024, `${namespacesKept(policy)} kept`);
    assert.ok(namespacesKept(policy) > 0);
    const before = namespacesKept(policy);
    const long = 'x'.repeat(100_000);
    assert.deepEqual(namespaceLimits(policy, { name: long, labels: {} }), {});
    assert.equal(namespacesKept(policy), before);
    // The rules still apply after the store was emptied and refilled.
    assert.equal(namespaceLimits(policy, { name: 'research', labels: {} }).maxGpusPerPod, 8);
  });

  it('when a rule selects namespaces by label, then nothing is kept by name and each namespace is judged by its labels', () => {
    const policy = parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8')
      .replace('  - names: [research]', '  - selector: {matchLabels: {team: research}}'));
    assert.equal(namespaceLimits(policy, { name: 'a', labels: { team: 'research' } }).maxGpusPerPod, 8);
    assert.equal(namespaceLimits(policy, { name: 'a', labels: {} }).maxGpusPerPod, undefined);
    assert.equal(namespacesKept(policy), 0);
  });
});
