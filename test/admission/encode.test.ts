import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from 'fast-json-patch';
import fc from 'fast-check';
import { allow, encodeReview, refuse, reviewText } from '../../src/admission/encode.ts';

const patch: Operation[] = [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }];

describe('encodeReview', () => {
  it('when allowing with a patch, then the patch is base64 JSON with patchType JSONPatch and the uid echoed', () => {
    const review = encodeReview('u-1', allow(patch));
    assert.equal(review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(review.kind, 'AdmissionReview');
    assert.equal(review.response?.uid, 'u-1');
    assert.equal(review.response?.allowed, true);
    assert.equal(review.response?.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(review.response?.patch ?? '', 'base64').toString()), patch);
    assert.equal(review.response?.status, undefined);
  });

  it('when the patch is empty, then neither patch nor patchType is sent', () => {
    const review = encodeReview('u-2', allow([]));
    assert.deepEqual(review.response, { uid: 'u-2', allowed: true });
  });

  it('when denying, then allowed is false and the status carries code, reason and message', () => {
    const review = encodeReview('u-3', refuse(403, 'no pool can serve it', 'Forbidden'));
    assert.deepEqual(review.response, { uid: 'u-3', allowed: false, status: { code: 403, reason: 'Forbidden', message: 'no pool can serve it' } });
  });

  it('when denying, then a patch is never sent', () => {
    const review = encodeReview('u-4', { allowed: false, code: 403, message: 'no', patch } as never);
    assert.equal(review.response?.patch, undefined);
    assert.equal(review.response?.patchType, undefined);
  });

  it('when a warning is longer than 120 characters, then it is cut to 120', () => {
    const review = encodeReview('u-5', allow(undefined, ['w'.repeat(300), 'short']));
    assert.equal(review.response?.warnings?.length, 2);
    assert.equal(review.response?.warnings?.[0]?.length, 120);
    assert.equal(review.response?.warnings?.[1], 'short');
  });

  it('when there are no warnings, then the field is left out', () => {
    assert.equal('warnings' in (encodeReview('u-6', allow(undefined, [])).response ?? {}), false);
  });

  it('when the uid is unknown, then the uid is empty rather than missing', () => {
    assert.equal(encodeReview('', refuse(400, 'not JSON', 'BadRequest')).response?.uid, '');
  });
});

describe('reviewText', () => {
  const operation = fc.record({
    op: fc.constantFrom('add', 'replace', 'remove'), path: fc.string().map((s) => `/${s}`), value: fc.jsonValue(),
  }) as fc.Arbitrary<Operation>;
  const verdict = fc.oneof(
    fc.record({ patch: fc.option(fc.array(operation), { nil: undefined }), warnings: fc.option(fc.array(fc.string({ unit: 'grapheme' })), { nil: undefined }) })
      .map(({ patch, warnings }) => allow(patch, warnings)),
    fc.record({
      code: fc.integer({ min: 400, max: 599 }), message: fc.string({ unit: 'grapheme', maxLength: 9000 }),
      reason: fc.option(fc.string(), { nil: undefined }), warnings: fc.option(fc.array(fc.string()), { nil: undefined }),
    }).map(({ code, message, reason, warnings }) => refuse(code, message, reason, warnings)),
  );

  it('when any verdict is encoded, then its text is JSON.stringify of the review, byte for byte', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), verdict, (uid, v) => {
      const review = encodeReview(uid, v);
      assert.equal(reviewText(review), JSON.stringify(review));
    }), { numRuns: 500 });
  });

  it('when the uid, message or warnings spell the patch key, then the patch still goes in its own place', () => {
    const spelled = '"patch":""';
    const review = encodeReview(spelled, allow(patch, [spelled, `\\${spelled}`]));
    assert.equal(reviewText(review), JSON.stringify(review));
    assert.deepEqual(JSON.parse(reviewText(review)), review);
  });
});
