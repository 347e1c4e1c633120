import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readRecord, writeRecord, type DecisionRecord } from '../../src/engine/record.ts';

describe('the decision record as text', () => {
  const base = { pools: ['a100-topology'], backend: 'ack-topology', revision: 'r1' } as const;

  it('when the requests come in the written order, then the text holds them as they are and reads back the same', () => {
    const record: DecisionRecord = { ...base, containers: { main: { gpu: 1, 'gpu-memory': '8Gi', resources: { 'aliyun.com/gpu-mem': 8 } } }, nodes: [['a In b']] };
    const text = writeRecord(record);
    assert.equal(text, '{"pools":["a100-topology"],"backend":"ack-topology","revision":"r1",'
      + '"containers":{"main":{"gpu":1,"gpu-memory":"8Gi","resources":{"aliyun.com/gpu-mem":8}}},"nodes":[["a In b"]]}');
    const read = readRecord({ 'gpu-admission.io/decision': text });
    assert.equal(read.kind, 'present');
  });

  it('when a request\'s keys come in another order or with others, then the text writes the fixed order and leaves the others out', () => {
    const shuffled = { resources: { 'nvidia.com/gpu': 2 }, 'gpu-cores': 50, extra: 'x', gpu: 2 } as unknown as DecisionRecord['containers'][string];
    const text = writeRecord({ ...base, containers: { main: shuffled }, scheduler: 'hami-scheduler' });
    assert.equal(text, '{"pools":["a100-topology"],"backend":"ack-topology","revision":"r1",'
      + '"containers":{"main":{"gpu":2,"gpu-cores":50,"resources":{"nvidia.com/gpu":2}}},"scheduler":"hami-scheduler"}');
  });

  it('when optional parts are empty or absent, then they are left out as before (an empty scheduler, no nodes)', () => {
    const text = writeRecord({ ...base, containers: {}, scheduler: '' });
    assert.equal(text, '{"pools":["a100-topology"],"backend":"ack-topology","revision":"r1","containers":{}}');
  });
});
