import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import request from 'supertest';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { patchOf, testApp } from './support.ts';

/** Keeps the README's `npm start` + curl example true: the same review gets the patch it shows. */
const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('README: the curl of examples/admission-review.json', () => {
  it('when the example review is posted to the embedded policy, then the patch is the one the README prints', async () => {
    const shown = readme.split("| jq -c '.[]'\n")[1]?.split('\n```')[0]?.trim().split('\n') ?? [];
    assert.ok(shown.length >= 4, 'the README shows the decoded patch');
    const body = JSON.parse(readFileSync(new URL('examples/admission-review.json', root), 'utf8'));
    const res = await request(testApp().app).post('/mutate').send(body);
    const ops = patchOf(res.body as AdmissionReview).map((op) => JSON.stringify(op));
    assert.deepEqual(ops, shown);
    const head = readme.split('--data @examples/admission-review.json https://localhost:8443/mutate\n')[1]?.split('\n')[0] ?? '';
    assert.ok(head.startsWith(JSON.stringify(res.body).slice(0, head.indexOf('…'))), `the README's raw answer begins as the real one: ${head}`);
  });
});
