import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { policySchema } from '../../src/policy/schema.ts';

describe('the published JSON Schema', () => {
  it('when schemas/policy.schema.json is read, then it is exactly the schema the webhook validates with', () => {
    const published = JSON.parse(readFileSync(new URL('../../schemas/policy.schema.json', import.meta.url), 'utf8'));
    assert.deepEqual(published, JSON.parse(JSON.stringify(policySchema)),
      'regenerate it: npm run -s cli -- policy schema > schemas/policy.schema.json');
  });
});
