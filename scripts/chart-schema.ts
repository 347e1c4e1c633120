// Writes the policy schema the webhook validates with into the chart's values.schema.json
// (definitions.policy), so `helm install` refuses the policies the webhook would refuse by
// schema. Run: npm run chart:schema. test/chart/chart.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { embeddedPolicySchema } from '../src/policy/schema.ts';

const path = new URL('../charts/gpu-admission/values.schema.json', import.meta.url);
const values = JSON.parse(readFileSync(path, 'utf8'));
values.definitions.policy = embeddedPolicySchema();
writeFileSync(path, `${JSON.stringify(values, null, 2)}\n`);
