// The long fuzz run against the real HTTPS server:  npm run fuzz -- --count 100000 [--seed N] [--concurrency N]
// Prints the table of answers; exits 1 on any 5xx, any answer that is not an AdmissionReview, a
// uid not echoed, or a dead process. Figures go to docs/reliability.md.
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { fuzzCases, type FuzzCase } from './reviews.ts';
import { startWebhook } from './server.ts';

const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' } } });
const count = Number(values.count ?? '10000');
const seed = Number(values.seed ?? '20261128');
const concurrency = Number(values.concurrency ?? '16'); // twice the shipped --max-in-flight: the rest wait their turn

const webhook = await startWebhook();
const statuses = new Map<string, number>();
const failures: string[] = [];
const started = Date.now();
let sent = 0;

async function one(c: FuzzCase): Promise<void> {
  const { status, text } = await webhook.post(c.path, c.body);
  let review: { kind?: string; response?: { uid?: string; status?: { reason?: string } } } = {};
  try {
    review = JSON.parse(text) as typeof review;
  } catch {
    failures.push(`HTTP ${status}: not JSON: ${text.slice(0, 120)}`);
  }
  const key = `${c.path} HTTP ${status}${review.response?.status?.reason ? ` ${review.response.status.reason}` : ''}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  if (status >= 500) failures.push(`HTTP ${status} for ${c.body.slice(0, 200)}`);
  else if (review.kind !== 'AdmissionReview') failures.push(`HTTP ${status}: not an AdmissionReview`);
  // A 429 is answered before the body is read (the in-flight cap), so it cannot know the uid.
  else if (c.uid !== undefined && status !== 429 && review.response?.uid !== c.uid) failures.push(`uid ${c.uid} not echoed (got ${review.response?.uid})`);
}

const BATCH = 1000;
for (let batch = 0; sent < count; batch += 1) {
  const cases = fc.sample(fuzzCases, { numRuns: Math.min(BATCH, count - sent), seed: seed + batch });
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < cases.length) await one(cases[next++] as FuzzCase);
  }));
  sent += cases.length;
}
const seconds = (Date.now() - started) / 1000;
const alive = webhook.child.exitCode === null;
const memory = webhook.memory();
webhook.stop();

console.log(`fuzz: ${sent} reviews in ${seconds.toFixed(1)} s (seed ${seed}, ${concurrency} at a time); process alive: ${alive}; `
  + `peak RSS ${memory.peakMiB.toFixed(0)} MiB, RSS at the end ${memory.rssMiB.toFixed(0)} MiB`);
console.log('| answer | count |\n|---|---|');
for (const [key, n] of [...statuses].sort()) console.log(`| ${key} | ${n} |`);
if (!alive) failures.push('the webhook process died');
for (const f of failures.slice(0, 20)) console.log(`FAIL ${f}`);
console.log(`${sent - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
