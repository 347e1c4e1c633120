import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createBackoff } from '../../src/kube/backoff.ts';

describe('backoff', () => {
  it('when failures repeat, then each delay lies between half and all of the doubled step, never above the cap', () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 5_000 }),
      fc.integer({ min: 5_000, max: 120_000 }),
      (randoms, baseMs, maxMs) => {
        let i = 0;
        const backoff = createBackoff({ baseMs, maxMs, random: () => randoms[i] ?? 0 });
        for (i = 0; i < randoms.length; i += 1) {
          const ceiling = Math.min(maxMs, baseMs * 2 ** i);
          const delay = backoff.next();
          assert.ok(delay >= Math.floor(ceiling / 2) && delay <= ceiling, `attempt ${i}: ${delay} in [${ceiling / 2}, ${ceiling}]`);
        }
      },
    ));
  });

  it('when reset, then the next delay is back at the first step', () => {
    const backoff = createBackoff({ baseMs: 1_000, maxMs: 30_000, random: () => 1 - Number.EPSILON });
    for (let i = 0; i < 6; i += 1) backoff.next();
    assert.equal(backoff.attempts, 6);
    backoff.reset();
    assert.equal(backoff.attempts, 0);
    assert.equal(backoff.next(), 1_000);
  });
});
