// Fuzz: AdmissionReviews broken at every field and depth (test/fuzz/reviews.ts), with a fixed
// seed. Never a 5xx; always an AdmissionReview (a decision, or a 4xx that names the problem);
// the uid echoed whenever the body carries one. The long run: npm run fuzz -- --count 100000.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { fuzzCases } from '../fuzz/reviews.ts';
import { testApp } from './support.ts';

describe('fuzz: broken AdmissionReviews', () => {
  it('when any field of a review is replaced, deleted or nested 20,000 deep, then the answer is a review or a 4xx, never a 5xx, the uid echoed', async () => {
    const { app } = testApp();
    const statuses: Record<number, number> = {};
    await fc.assert(fc.asyncProperty(fuzzCases, async ({ path, body, uid }) => {
      const res = await request(app).post(path).set('Content-Type', 'application/json').send(body);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      const review = res.body as AdmissionReview;
      assert.equal(review.kind, 'AdmissionReview');
      if (uid !== undefined) assert.equal(review.response?.uid, uid, 'the uid is echoed');
    }), { numRuns: 800, seed: 20261128 });
    assert.ok((statuses[200] ?? 0) > 20 && (statuses[400] ?? 0) > 20, `both decisions and refusals are reached: ${JSON.stringify(statuses)}`);
  });
});
