// Writes what is generated from the workload table: the kustomize base's workload webhooks and
// the chart's copy of them. Run: npm run manifests. test/admission/webhook-configuration.test.ts
// fails when the files differ from what this writes.
import { writeFileSync } from 'node:fs';
import { generatedFiles } from '../src/admission/webhook-configuration.ts';

for (const [path, text] of Object.entries(generatedFiles())) {
  writeFileSync(new URL(`../${path}`, import.meta.url), text);
  console.log(`wrote ${path}`);
}
