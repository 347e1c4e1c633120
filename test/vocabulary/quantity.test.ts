import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GIB, ceilUnits, isInteger, parseQuantity, type Quantity } from '../../src/vocabulary/quantity.ts';

const exact = (text: string | number): Quantity => {
  const q = parseQuantity(text);
  assert.ok(typeof q !== 'string', `expected ${text} to parse: ${String(q)}`);
  return q;
};

describe('quantities, parsed as Kubernetes does', () => {
  const table: [string | number, bigint, bigint][] = [
    ['12Gi', 12n * GIB, 1n], ['500Mi', 500n * 1024n * 1024n, 1n], ['1.5Gi', 3n * GIB / 2n, 1n],
    ['100m', 1n, 10n], ['1k', 1000n, 1n], ['1M', 1000000n, 1n], ['1e3', 1000n, 1n], ['1E3', 1000n, 1n],
    ['2E', 2n * 10n ** 18n, 1n], ['5', 5n, 1n], [5, 5n, 1n], ['.5', 1n, 2n], ['5.', 5n, 1n],
    ['+3', 3n, 1n], ['-2Ki', -2048n, 1n], ['1e-3', 1n, 1000n], ['250u', 1n, 4000n], ['3n', 3n, 1000000000n],
  ];
  for (const [text, num, den] of table) {
    it(`when given ${JSON.stringify(text)}, then it is ${num}/${den}`, () => {
      const q = exact(text);
      assert.equal(q.num, num);
      assert.equal(q.den, den);
    });
  }

  for (const bad of ['', 'Gi', '12Gb', '12 Gi', '1.2.3', 'abc', '12gi', '1e', '0x10', '--1']) {
    it(`when given ${JSON.stringify(bad)}, then it is refused with a reason`, () => {
      const q = parseQuantity(bad);
      assert.equal(typeof q, 'string');
    });
  }

  it('when 500Mi is rounded up to GiB, then it is 1 and not an integer count of GiB', () => {
    assert.equal(ceilUnits(exact('500Mi'), GIB), 1n);
    assert.equal(ceilUnits(exact('12Gi'), GIB), 12n);
    assert.equal(isInteger(exact('100m')), false);
  });
});
