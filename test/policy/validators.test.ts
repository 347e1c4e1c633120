// The validators generated from the schemas (scripts/validators.ts) are what the script writes
// now: a schema, an ajv option or ajv itself changed without regenerating them fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generatedValidators } from '../../scripts/validators.ts';

describe('the generated validators', () => {
  const generated = generatedValidators();

  it('when the script is asked, then it generates at least the policy schema\'s validator', () => {
    assert.ok(generated.some((g) => g.path === 'src/policy/schema-validator.generated.ts'));
  });

  for (const { path, text } of generated) {
    it(`when ${path} is read, then it is exactly what scripts/validators.ts generates from the schema`, () => {
      const committed = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
      assert.ok(committed === text, `${path} is out of step with its schema: regenerate it with npm run validators`);
    });
  }
});
