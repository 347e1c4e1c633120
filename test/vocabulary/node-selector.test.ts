import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  byKey, groupRequirements, implies, matchesRequirement, satisfiable, satisfiableWith, type NodeSelectorRequirement as R,
} from '../../src/vocabulary/node-selector.ts';

const r = (key: string, operator: R['operator'], ...values: string[]): R => ({ key, operator, ...(values.length ? { values } : {}) });
const S = 'ack.node.gpu.schedule';

describe('node selection: matching labels as the scheduler does', () => {
  const cases: [string, Record<string, string>, R, boolean][] = [
    ['In matches a listed value', { [S]: 'cgpu' }, r(S, 'In', 'cgpu', 'share'), true],
    ['In needs the key', {}, r(S, 'In', 'cgpu'), false],
    ['NotIn matches an absent key', {}, r(S, 'NotIn', 'cgpu'), true],
    ['NotIn refuses a listed value', { [S]: 'cgpu' }, r(S, 'NotIn', 'cgpu'), false],
    ['Exists needs the key, any value', { [S]: '' }, r(S, 'Exists'), true],
    ['DoesNotExist refuses any value', { [S]: 'default' }, r(S, 'DoesNotExist'), false],
    ['Gt compares integers', { n: '8' }, r('n', 'Gt', '4'), true],
    ['Gt never matches a non-integer label', { n: 'eight' }, r('n', 'Gt', '4'), false],
    ['Lt compares integers', { n: '8' }, r('n', 'Lt', '4'), false],
  ];
  for (const [what, labels, req, expected] of cases) {
    it(`when ${what}, then the answer is ${expected}`, () => assert.equal(matchesRequirement(labels, req), expected));
  }
});

describe('node selection: could any node satisfy these requirements together', () => {
  const cases: [string, R[], boolean][] = [
    ['two In sets that share a value', [r(S, 'In', 'cgpu', 'share'), r(S, 'In', 'share')], true],
    ['two In sets with nothing in common', [r(S, 'In', 'cgpu'), r(S, 'In', 'default')], false],
    ['In and a NotIn of the same value', [r(S, 'In', 'cgpu'), r(S, 'NotIn', 'cgpu')], false],
    ['In and DoesNotExist', [r(S, 'In', 'default'), r(S, 'DoesNotExist')], false],
    ['NotIn and DoesNotExist', [r(S, 'NotIn', 'spread'), r(S, 'DoesNotExist')], true],
    ['Exists and NotIn', [r(S, 'Exists'), r(S, 'NotIn', 'a', 'b')], true],
    ['Gt above Lt', [r('n', 'Gt', '4'), r('n', 'Lt', '5')], false],
    ['Gt and Lt with room between', [r('n', 'Gt', '4'), r('n', 'Lt', '6')], true],
    ['Gt and Lt whose only value is excluded', [r('n', 'Gt', '4'), r('n', 'Lt', '6'), r('n', 'NotIn', '5')], false],
    ['In with a number outside Gt', [r('n', 'In', '3'), r('n', 'Gt', '4')], false],
    ['different keys', [r(S, 'In', 'cgpu'), r('zone', 'In', 'a')], true],
  ];
  for (const [what, reqs, expected] of cases) {
    it(`when ${what}, then satisfiable is ${expected}`, () => assert.equal(satisfiable(reqs), expected));
  }

  // A pod's own node terms are a tenant's input: two In lists of tens of thousands of values on one
  // key must cost what their values number, not their product (a review was 12 s of CPU when they
  // were compared list against list). Counted as reads of the lists, not timed.
  const values = (prefix: string, n: number): { list: string[]; reads: () => number } => {
    let reads = 0;
    const list = new Proxy(Array.from({ length: n }, (_, i) => `${prefix}${i}`), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { list, reads: () => reads };
  };
  for (const [what, shared, expected] of [['two long In lists with nothing in common', false, false], ['two long In lists that share their last value', true, true]] as const) {
    it(`when ${what}, then satisfiable is ${expected}, reading each value a few times at most`, () => {
      const n = 5_000;
      const a = values('a', n);
      const b = values('b', n);
      if (shared) a.list[n - 1] = b.list[n - 1] as string;
      const reads = () => a.reads() + b.reads();
      const before = reads();
      assert.equal(satisfiable([{ key: S, operator: 'In', values: a.list }, { key: S, operator: 'In', values: b.list }]), expected);
      assert.ok(reads() - before <= 8 * 2 * n, `${reads() - before} reads of ${2 * n} values`);
    });
  }
});

describe('node selection: a fixed set of terms grouped once, judged with others', () => {
  // Few keys and values, so that generated sets often meet on a key and contradict each other.
  const requirement: fc.Arbitrary<R> = fc.record({
    key: fc.constantFrom('a', 'b', 'n'),
    operator: fc.constantFrom<R['operator']>('In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'),
    values: fc.array(fc.constantFrom('1', '2', '3', 'x', 'y'), { maxLength: 3 }),
  }).map(({ key, operator, values }) => (operator === 'Exists' || operator === 'DoesNotExist' ? r(key, operator)
    : operator === 'Gt' || operator === 'Lt' ? r(key, operator, values[0] as string) : r(key, operator, ...values)));
  const requirements = fc.array(requirement, { maxLength: 5 });

  it('when a base is grouped once and judged with other requirements, then the answer is satisfiable of both together', () => {
    fc.assert(fc.property(requirements, requirements, (base, extra) => {
      assert.equal(satisfiableWith(groupRequirements(base), byKey(extra)), satisfiable([...base, ...extra]));
    }), { numRuns: 2000 });
  });
  it('when the base alone has a key no node satisfies and the others do not name it, then nothing is satisfiable', () => {
    assert.equal(satisfiableWith(groupRequirements([r('a', 'In', 'x'), r('a', 'NotIn', 'x')]), byKey([r('b', 'In', 'y')])), false);
  });
});

describe('node selection: what the pod already implies', () => {
  const cases: [string, R[], R, boolean][] = [
    ['In a subset implies In', [r(S, 'In', 'cgpu')], r(S, 'In', 'cgpu', 'share'), true],
    ['In a wider set does not imply In', [r(S, 'In', 'cgpu', 'share')], r(S, 'In', 'cgpu'), false],
    ['In a disjoint set implies NotIn', [r('p', 'In', 'binpack')], r('p', 'NotIn', 'spread'), true],
    ['nothing on the key implies nothing', [r('zone', 'In', 'a')], r(S, 'Exists'), false],
    ['DoesNotExist implies NotIn', [r('p', 'DoesNotExist')], r('p', 'NotIn', 'spread'), true],
    ['In implies Exists', [r(S, 'In', 'x')], r(S, 'Exists'), true],
  ];
  for (const [what, given, wanted, expected] of cases) {
    it(`when ${what}, then implies is ${expected}`, () => assert.equal(implies(given, wanted), expected));
  }
});
