import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inFlightLimit } from '../../src/server/review.ts';

describe('the in-flight limit', () => {
  it('when more reviews arrive than the cap, then they wait in order, each freed slot passes to the next, and a full line refuses', () => {
    const limit = inFlightLimit(2, 2);
    const ran: number[] = [];
    const enter = (n: number): boolean => limit.enter('api-server', () => ran.push(n), () => assert.fail('nobody is pushed out'));
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

  it('when one client piles up waiters, then freed slots alternate between clients', () => {
    const limit = inFlightLimit(1, 100);
    const ran: string[] = [];
    const enter = (client: string, n: number): boolean => limit.enter(client, () => ran.push(`${client}${n}`), () => {});
    enter('attacker', 0);
    for (let i = 1; i <= 5; i++) enter('attacker', i);
    enter('api', 1);
    enter('api', 2);
    for (let i = 0; i < 4; i++) limit.leave();
    assert.deepEqual(ran, ['attacker0', 'attacker1', 'api1', 'attacker2', 'api2'], 'the api server waits one turn, not behind the pile');
  });

  it('when the line is full of one client, then a newcomer of another pushes out that client\'s newest waiter', () => {
    const limit = inFlightLimit(1, 3);
    const refused: string[] = [];
    const enter = (client: string, n: number): boolean => limit.enter(client, () => {}, () => refused.push(`${client}${n}`));
    enter('attacker', 0);
    assert.deepEqual([enter('attacker', 1), enter('attacker', 2), enter('attacker', 3)], [true, true, true]);
    assert.equal(enter('attacker', 4), false, 'the client holding the line gets no more places');
    assert.equal(enter('api', 1), true);
    assert.deepEqual(refused, ['attacker3']);
  });

  it('when reviews wait, then the oldest wait is measured from its arrival', () => {
    let now = 1000;
    const limit = inFlightLimit(1, 10, () => now);
    limit.enter('a', () => {}, () => {});
    assert.equal(limit.oldestWait(now), 0);
    limit.enter('b', () => {}, () => {});
    now = 4000;
    assert.equal(limit.oldestWait(now), 3000);
    limit.leave();
    assert.equal(limit.oldestWait(now), 0);
  });
});
