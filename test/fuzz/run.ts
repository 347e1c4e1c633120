// The long fuzz run against the real HTTPS server:  npm run fuzz -- --count 100000 [--seed N] [--concurrency N]
// Two webhooks, as the image runs them (the shipped Deployment's in-flight limit, NODE_OPTIONS and MALLOC_* settings):
//  - broken reviews (test/fuzz/reviews.ts), wide values up to a million items: never a 5xx, always
//    an AdmissionReview, the uid echoed, the process alive, and no review slower than the API
//    server waits (5 s);
//  - pods that try to leave their namespace's pools (test/fuzz/rules.ts), against a policy with
//    namespace rules: every allowed answer, its patch applied, keeps the pod to its pools.
// Prints the tables; exits 1 on any failure. Figures go to docs/reliability.md.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { MAX_REVIEW_BYTES } from '../../src/server/body.ts';
import { reachablePools } from '../helpers/namespace-rules.ts';
import { fuzzCasesUpTo, type FuzzCase } from './reviews.ts';
import { RULES_ALLOWED, RULES_NAMESPACE, RULES_NODES, RULES_POLICY, ruleCases } from './rules.ts';
import { startWebhook } from './server.ts';
import { shippedEnv, shippedNodeFlags, shippedProcessEnv } from '../../bench/shipped.ts';

const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' }, 'rule-count': { type: 'string' } } });
const count = Number(values.count ?? '10000');
const ruleCount = Number(values['rule-count'] ?? String(Math.ceil(count / 2)));
const seed = Number(values.seed ?? '20261128');
const concurrency = Number(values.concurrency ?? '16'); // twice the shipped --max-in-flight: the rest wait their turn
/** The API server's wait for a webhook in the shipped manifests: a slower review refuses the pod. */
const API_SERVER_WAIT_MS = 5_000;
const fuzzCases = fuzzCasesUpTo(1_000_000);

const webhook = await startWebhook(['--max-in-flight', shippedEnv('GPU_ADMISSION_MAX_IN_FLIGHT')], shippedProcessEnv(), undefined, shippedNodeFlags());
const latencies: number[] = [];
const statuses = new Map<string, number>();
const failures: string[] = [];
const started = Date.now();
let sent = 0;

async function one(c: FuzzCase): Promise<void> {
  const t0 = performance.now();
  let answer: { status: number; text: string };
  try {
    answer = await webhook.post(c.path, c.body);
  } catch (err) {
    failures.push(`${(err as Error).message} for ${c.path} ${c.body.length} bytes after ${(performance.now() - t0).toFixed(0)} ms: ${c.body.slice(0, 160)}`);
    return;
  }
  const { status, text } = answer;
  const ms = performance.now() - t0;
  latencies.push(ms);
  if (ms > API_SERVER_WAIT_MS) failures.push(`${ms.toFixed(0)} ms for ${c.path} ${c.body.length} bytes: longer than the API server waits`);
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
  // Over the body limit nothing is read, so no uid can be echoed (the API server never sends such a body).
  else if (c.uid !== undefined && status !== 429 && Buffer.byteLength(c.body) <= MAX_REVIEW_BYTES && review.response?.uid !== c.uid) {
    failures.push(`uid ${c.uid.slice(0, 60)} not echoed (got "${review.response?.uid}", HTTP ${status}: ${review.response?.status?.reason} ${(review.response?.status as { message?: string } | undefined)?.message?.slice(0, 160)}) for ${c.path} ${c.body.length} bytes`);
  }
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
latencies.sort((a, b) => a - b);
const at = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1);

console.log(`fuzz: ${sent} reviews in ${seconds.toFixed(1)} s (seed ${seed}, ${concurrency} at a time); process alive: ${alive}; `
  + `peak RSS ${memory.peakMiB.toFixed(0)} MiB, RSS at the end ${memory.rssMiB.toFixed(0)} MiB; `
  + `ms per review (waiting included) p50 ${at(0.5)}, p99 ${at(0.99)}, max ${at(1)}`);
console.log('| answer | count |\n|---|---|');
for (const [key, n] of [...statuses].sort()) console.log(`| ${key} | ${n} |`);
if (!alive) failures.push('the webhook process died');

// Namespace rules: a second webhook on a policy that limits team-a to pool a100, the nodes known to the check.
const dir = mkdtempSync(join(tmpdir(), 'gpu-admission-rules-'));
const policyFile = join(dir, 'policy.yaml');
writeFileSync(policyFile, RULES_POLICY);
const rulesPolicy = parsePolicyOrThrow(RULES_POLICY);
const rules = await startWebhook(['--max-in-flight', shippedEnv('GPU_ADMISSION_MAX_IN_FLIGHT'), '--policy-source', 'file', '--policy-file', policyFile], shippedProcessEnv(), undefined, shippedNodeFlags());
const verdicts = new Map<string, number>();
const pods = fc.sample(ruleCases, { numRuns: ruleCount, seed });
let nextPod = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (nextPod < pods.length) {
    const pod = pods[nextPod] as Pod;
    const uid = `rules-${nextPod++}`;
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
      uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: RULES_NAMESPACE, operation: 'CREATE', userInfo: { username: 'tenant' }, object: pod,
    } });
    const { status, text } = await rules.post('/mutate', body);
    const response = (JSON.parse(text) as { response?: { uid?: string; allowed?: boolean; patch?: string } }).response;
    const verdict = status !== 200 ? `HTTP ${status}` : !response?.allowed ? 'denied' : response.patch ? 'patched' : 'allowed';
    verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
    if (status !== 200 || response?.uid !== uid) {
      failures.push(`rules: HTTP ${status}, uid ${response?.uid} for ${JSON.stringify(pod.spec).slice(0, 200)}`);
      continue;
    }
    if (!response.allowed) continue;
    const patch = response.patch ? JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as fjp.Operation[] : [];
    const admitted = fjp.applyPatch(structuredClone(pod), patch, true, false).newDocument;
    const reached = [...reachablePools(admitted, rulesPolicy, RULES_NODES)].filter((p) => !RULES_ALLOWED.includes(p));
    if (reached.length > 0) failures.push(`rules: admitted to ${reached.join(', ')}: ${JSON.stringify(admitted.spec).slice(0, 300)}`);
  }
}));
const rulesAlive = rules.child.exitCode === null;
rules.stop();
rmSync(dir, { recursive: true, force: true });
console.log(`\nnamespace rules: ${pods.length} pods of team-a (allowed pool a100 of a100, h100); every allowed answer keeps the pod to a100`);
console.log('| answer | count |\n|---|---|');
for (const [key, n] of [...verdicts].sort()) console.log(`| ${key} | ${n} |`);
if (!rulesAlive) failures.push('the rules webhook process died');
sent += pods.length;
for (const f of failures.slice(0, 20)) console.log(`FAIL ${f.slice(0, 400)}`);
console.log(`${sent - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
