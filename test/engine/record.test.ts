import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
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

describe('the decision record as text, written part by part', () => {
  /** The text as one JSON.stringify of the record in the fixed key order writes it (what writeRecord wrote before it wrote parts). */
  const whole = (r: DecisionRecord): string => JSON.stringify({
    pools: r.pools, backend: r.backend, revision: r.revision, containers: r.containers,
    nodes: r.nodes ? r.nodes : undefined, own: r.own ? r.own : undefined, scheduler: r.scheduler ? r.scheduler : undefined, annotations: r.annotations,
  });
  // Printable ASCII (quotes and backslashes among it), or any code points at all.
  const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
  // Numbers JSON writes as null or in exponent form, and values of other kinds, beside the usual ones.
  const value = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(Number.NaN, Infinity, -0, 1e21, 0.5, null, true), text);
  const request = fc.record({ gpu: fc.oneof(fc.integer({ min: 1, max: 8 }), value), 'gpu-memory': fc.oneof(fc.constantFrom('8Gi', '512Mi'), value),
    'gpu-cores': value, resources: fc.oneof(fc.dictionary(text, value, { maxKeys: 2 }), value) }, { requiredKeys: ['gpu'] });
  const terms = fc.array(fc.array(text, { maxLength: 3 }), { maxLength: 3 });
  const record = fc.record({
    pools: fc.array(text, { minLength: 1, maxLength: 3 }), backend: fc.constantFrom('ack-cgpu', 'hami'), revision: text,
    containers: fc.dictionary(text, request, { maxKeys: 3 }), nodes: terms, own: fc.array(text, { maxLength: 2 }),
    scheduler: text, annotations: fc.dictionary(text, text, { maxKeys: 2 }),
  }, { requiredKeys: ['pools', 'backend', 'revision', 'containers'] }) as unknown as fc.Arbitrary<DecisionRecord>;

  it('when a record holds values of other types than its own (a library caller\'s), then the text is still the whole record\'s JSON', () => {
    const odd = fc.oneof(fc.constant(undefined), fc.constant(() => 1), fc.constant(null), fc.integer(), text, fc.constant({ a: 1 }), fc.array(text, { maxLength: 2 }));
    fc.assert(fc.property(odd, odd, odd, odd, odd, odd, odd, (pools, backend, revision, nodes, own, scheduler, annotations) => {
      const r = { pools, backend, revision, containers: Array.isArray(nodes) ? [{ gpu: 1 }] : {}, nodes, own, scheduler, annotations } as unknown as DecisionRecord;
      assert.equal(writeRecord(r), whole(r));
    }), { numRuns: 2000 });
  });

  it('when records of any text (quotes, control characters, lone surrogates) and values are written, then the text is the whole record\'s JSON, its pools and node terms frozen (kept) or not, and again', () => {
    fc.assert(fc.property(record, fc.boolean(), (r, freeze) => {
      const nodes = r.nodes && freeze ? Object.freeze(r.nodes.map((t) => Object.freeze([...t]))) : r.nodes;
      const written = { ...r, ...(nodes ? { nodes } : {}), pools: freeze ? Object.freeze([...r.pools]) : r.pools };
      assert.equal(writeRecord(written), whole(written));
      assert.equal(writeRecord(written), whole(written)); // a frozen term's kept text, read back
    }), { numRuns: 3000 });
  });
});
