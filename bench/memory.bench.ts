// Peak memory under the largest reviews: 64 concurrent AdmissionReviews of ~3.7 MiB each (a pod
// with big annotations, under the 4 MiB body limit), 3 rounds, against the real HTTPS server:
// as shipped (manifests/base/deployment.yaml: its GPU_ADMISSION_MAX_IN_FLIGHT and NODE_OPTIONS),
// and with no cap and no heap limit, to show what they buy. Peak RSS is the process's VmHWM;
// the Deployment's memory limit is read from the same manifest.  npm run bench:memory
import { readFileSync } from 'node:fs';
import { shippedEnv, shippedMemoryLimit } from './shipped.ts';
import { startWebhook } from '../test/fuzz/server.ts';

const env = shippedEnv;

const CONCURRENT = 64;
const review = JSON.parse(readFileSync(new URL('../test/fixtures/reviews/shared-gpu-pod.json', import.meta.url), 'utf8')) as {
  request: { object: { metadata: { annotations?: Record<string, string> } } };
};
review.request.object.metadata.annotations = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`example.com/blob-${i}`, 'x'.repeat(130_000)]));
const body = JSON.stringify(review);

async function run(label: string, maxInFlight: string, nodeOptions: string): Promise<string> {
  process.env.NODE_OPTIONS = nodeOptions;
  const webhook = await startWebhook(['--max-in-flight', maxInFlight]);
  delete process.env.NODE_OPTIONS;
  try {
    const idle = webhook.memory().rssMiB;
    const answers: Record<string, number> = {};
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(Array.from({ length: CONCURRENT }, () => webhook.post('/mutate', body)
        .then((a) => String(a.status), (e: Error) => e.message)));
      for (const r of results) answers[r] = (answers[r] ?? 0) + 1;
    }
    const { peakMiB } = webhook.memory();
    return `| ${label} | ${maxInFlight} | ${nodeOptions || 'none'} | ${idle.toFixed(0)} MiB | ${peakMiB.toFixed(0)} MiB | ${JSON.stringify(answers)} |`;
  } finally {
    webhook.stop();
  }
}

console.log(`${CONCURRENT} concurrent reviews of ${(body.length / 2 ** 20).toFixed(2)} MiB, 3 rounds; the Deployment's limit: ${shippedMemoryLimit}`);
console.log('| run | --max-in-flight | NODE_OPTIONS | RSS idle | peak RSS | answers |\n|---|---|---|---|---|---|');
console.log(await run('as shipped', env('GPU_ADMISSION_MAX_IN_FLIGHT'), env('NODE_OPTIONS')));
console.log(await run('no cap, no heap limit', '64', ''));
