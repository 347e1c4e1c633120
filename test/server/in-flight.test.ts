import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inFlightLimit } from '../../src/server/review.ts';

describe('the in-flight limit', () => {
  it('when more reviews arrive than the cap, then they wait in order, each freed slot passes to the next, and a full line refuses', () => {
    const limit = inFlightLimit(2, 2);
    const ran: number[] = [];
    const enter = (n: number): boolean => limit.enter(() => ran.push(n));
    assert.deepEqual([enter(1), enter(2), enter(3), enter(4)], [true, true, true, true]);
    assert.deepEqual(ran, [1, 2], 'two run at once; two wait');
    assert.equal(enter(5), false, 'the waiting line is full');
    limit.leave();
    assert.deepEqual(ran, [1, 2, 3]);
    limit.leave();
    limit.leave();
    assert.deepEqual(ran, [1, 2, 3, 4]);
    limit.leave();
    assert.deepEqual([enter(6), enter(7), enter(8)], [true, true, true], 'slots freed while nobody waited are free again');
    assert.deepEqual(ran, [1, 2, 3, 4, 6, 7]);
  });
});
