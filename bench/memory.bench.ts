// Resident memory of the webhook process as the image runs it (dist/main.js: `npm run build`
// first; the sources, which Node strips of their types at load, otherwise), with the shipped
// Deployment's settings (manifests/base/deployment.yaml: GPU_ADMISSION_MAX_IN_FLIGHT,
// NODE_OPTIONS, MALLOC_*) and without them:
// 1. steady load: RSS idle, then after 100,000 reviews of the server benchmark's mix (16
//    connections), and the process's CPU time per review over them (from /proc); RSS after is
//    split (/proc/<pid>/smaps) into anonymous memory (V8's heap, malloc) and the pages of the node
//    binary itself (its code and read-only data, file-backed: no setting of ours changes them);
// 2. the max-size flood: 64 concurrent AdmissionReviews of ~3.7 MiB each (a pod with big
//    annotations, under the 4 MiB body limit), 3 rounds: peak RSS (VmHWM) against the
//    Deployment's memory limit, and every answer.
// Goals of issue #23: idle ≤ 80 MiB, ≤ 96 MiB after 100k reviews, the flood within 256Mi.
// npm run bench:memory [-- --reviews 100000] [--try='<NAME=value …> <NODE_OPTIONS>|…': these settings too]
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { shippedEnv, shippedMemoryLimit, shippedProcessEnv } from './shipped.ts';
import type { DriverJob, DriverResult } from './server-driver.ts';
import { startWebhook, type RunningWebhook } from '../test/fuzz/server.ts';

const { values } = parseArgs({ options: {
  reviews: { type: 'string', default: '100000' },
  /** More settings to compare, separated by '|': environment variables (`NAME=value`) and NODE_OPTIONS. */
  try: { type: 'string' },
} });
const REVIEWS = Number(values.reviews);
const GOAL = { idleMiB: 80, steadyMiB: 96, floodMiB: 256 };

const DIST = new URL('../dist/main.js', import.meta.url).pathname;
const entry = existsSync(DIST) ? DIST : undefined;
const shipped = { maxInFlight: shippedEnv('GPU_ADMISSION_MAX_IN_FLIGHT'), env: shippedProcessEnv() };
const limitMiB = Number(/^(\d+)Mi$/.exec(shippedMemoryLimit)?.[1] ?? NaN);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const fixture = (name: string): string => readFileSync(new URL(`../test/fixtures/reviews/${name}.json`, import.meta.url), 'utf8');
const MIX = ['plain-pod', 'shared-gpu-pod', 'numa-pod', 'denied-pod'].map(fixture);

const CONCURRENT = 64;
const review = JSON.parse(fixture('shared-gpu-pod')) as { request: { object: { metadata: { annotations?: Record<string, string> } } } };
review.request.object.metadata.annotations = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`example.com/blob-${i}`, 'x'.repeat(130_000)]));
const big = JSON.stringify(review);

/** `NAME=value … --flag …` (as --try takes them) as environment variables, the flags as NODE_OPTIONS. */
function settings(text: string): Record<string, string> {
  const words = text.split(' ').filter((w) => w !== '');
  const vars = Object.fromEntries(words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split('=', 2) as [string, string]));
  const options = words.filter((w) => !/^[A-Z_]+=/.test(w)).join(' ');
  return { ...vars, ...(options ? { NODE_OPTIONS: options } : {}) };
}
/** Settings as --try writes them: the environment variables first, then NODE_OPTIONS. */
const shown = (env: Record<string, string>): string => [...Object.entries(env).filter(([k]) => k !== 'NODE_OPTIONS').map(([k, v]) => `${k}=${v}`),
  env.NODE_OPTIONS ?? ''].join(' ').trim() || 'none';
/** The webhook with these variables added to its environment; NODE_OPTIONS empty unless given. */
const start = (maxInFlight: string, env: Record<string, string>): Promise<RunningWebhook> =>
  startWebhook(['--max-in-flight', maxInFlight], { NODE_OPTIONS: '', ...env }, entry);
const settle = (ms = 2_000): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** User + system CPU seconds of a process so far (/proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function drive(port: number, amount: number): Promise<DriverResult> {
  const child = fork(new URL('./server-driver.ts', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const job: DriverJob = { url: `https://127.0.0.1:${port}`, connections: 16, seconds: 0, amount, bodies: MIX };
  child.send(job);
  return new Promise((resolve, reject) => {
    child.once('message', (result) => resolve(result as DriverResult));
    child.once('exit', (code) => code !== 0 && reject(new Error(`driver exited with ${code}`)));
  });
}

/** Resident MiB of a process that is anonymous (heap, malloc, stacks), and that is the pages of its own executable (the node binary). */
function residentSplit(pid: number): { anonMiB: number; binaryMiB: number } {
  const anon = Number(/^Anonymous:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  const exe = readlinkSync(`/proc/${pid}/exe`);
  let binary = 0;
  let mine = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) mine = line.endsWith(` ${exe}`);
    else if (mine && line.startsWith('Rss:')) binary += Number(/(\d+) kB/.exec(line)?.[1] ?? 0);
  }
  return { anonMiB: anon / 1024, binaryMiB: binary / 1024 };
}

const mib = (n: number): string => `${n.toFixed(0)} MiB`;
const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

async function steady(label: string, maxInFlight: string, env: Record<string, string>): Promise<{ idle: number; after: number }> {
  const webhook = await start(maxInFlight, env);
  try {
    await settle();
    const idle = webhook.memory().rssMiB;
    const pid = webhook.child.pid as number;
    const cpuBefore = cpuSeconds(pid);
    const result = await drive(webhook.port, REVIEWS);
    const cpu = cpuSeconds(pid) - cpuBefore;
    await settle();
    const { rssMiB: after, peakMiB } = webhook.memory();
    const { anonMiB, binaryMiB } = residentSplit(pid);
    const failed = result.non2xx + result.errors + result.timeouts;
    console.log(`| ${label} | ${shown(env)} | ${mib(idle)} | ${mib(after)} | ${mib(anonMiB)} | ${mib(binaryMiB)} | ${mib(peakMiB)} | ${result.total} (${failed} failed) | `
      + `${(1e6 * cpu / Math.max(1, result.total)).toFixed(0)} µs |`);
    return { idle, after };
  } finally {
    webhook.stop();
  }
}

/**
 * Idle as the Deployment runs it: the policy from the ConfigMap (`--policy-source configmap`, with
 * the namespace and node watches), so @kubernetes/client-node is loaded, against a kubeconfig whose
 * API server does not answer (the lists retry): no review can be served, the idle RSS is measured.
 */
async function idleInClusterMode(env: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gpu-admission-kubeconfig-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, ['apiVersion: v1', 'kind: Config', 'current-context: none',
    'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: none, user: {token: none}}]',
    'contexts: [{name: none, context: {cluster: none, user: none}}]'].join('\n'));
  const webhook = await startWebhook(['--max-in-flight', shipped.maxInFlight, '--policy-source', 'configmap', '--kubeconfig', kubeconfig],
    { NODE_OPTIONS: '', ...env }, entry);
  try {
    await settle();
    const { rssMiB } = webhook.memory();
    const { anonMiB, binaryMiB } = residentSplit(webhook.child.pid as number);
    console.log(`| ConfigMap source (client-node loaded), no API server | ${shown(env)} | ${mib(rssMiB)} | ${mib(anonMiB)} | ${mib(binaryMiB)} |`);
  } finally {
    webhook.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function flood(label: string, maxInFlight: string, env: Record<string, string>): Promise<{ peak: number; all200: boolean }> {
  const webhook = await start(maxInFlight, env);
  try {
    await settle();
    const idle = webhook.memory().rssMiB;
    const answers: Record<string, number> = {};
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(Array.from({ length: CONCURRENT }, () => webhook.post('/mutate', big)
        .then((a) => String(a.status), (e: Error) => e.message)));
      for (const r of results) answers[r] = (answers[r] ?? 0) + 1;
    }
    const { peakMiB } = webhook.memory();
    console.log(`| ${label} | ${maxInFlight} | ${shown(env)} | ${mib(idle)} | ${mib(peakMiB)} | ${JSON.stringify(answers)} |`);
    return { peak: peakMiB, all200: answers['200'] === 3 * CONCURRENT };
  } finally {
    webhook.stop();
  }
}

console.log(`${process.version}, entry ${entry ? 'dist/main.js (as the image runs it)' : 'src/main.ts (no build: npm run build first for the image\'s figures)'}; `
  + `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; the Deployment: --max-in-flight ${shipped.maxInFlight}, `
  + `${shown(shipped.env)}, memory limit ${shippedMemoryLimit}`);
const tried = values.try?.split('|').map(settings) ?? [];
console.log(`\nSteady load: ${REVIEWS} reviews of the server benchmark's mix, 16 connections; RSS after = anonymous + the node binary's pages + other files`);
console.log('| run | settings | RSS idle | RSS after | anonymous | node binary | peak RSS | reviews | CPU per review |\n|---|---|---|---|---|---|---|---|---|');
const ours = await steady('as shipped', shipped.maxInFlight, shipped.env);
await steady('nothing set', shipped.maxInFlight, {});
for (const env of tried) await steady('tried', shipped.maxInFlight, env);
console.log('\nIdle as the Deployment runs it (the steady runs above use the embedded policy and no cluster)');
console.log('| run | settings | RSS idle | anonymous | node binary |\n|---|---|---|---|---|');
await idleInClusterMode(shipped.env);
console.log(`\nFlood: ${CONCURRENT} concurrent reviews of ${(big.length / 2 ** 20).toFixed(2)} MiB, 3 rounds`);
console.log('| run | --max-in-flight | settings | RSS idle | peak RSS | answers |\n|---|---|---|---|---|---|');
const flooded = await flood('as shipped', shipped.maxInFlight, shipped.env);
await flood('no cap, nothing set', '64', {});
for (const env of tried) await flood('tried', shipped.maxInFlight, env);
console.log(`\ngoals: idle ${mib(ours.idle)} ≤ ${GOAL.idleMiB} MiB ${verdict(ours.idle <= GOAL.idleMiB)}; after ${REVIEWS} reviews `
  + `${mib(ours.after)} ≤ ${GOAL.steadyMiB} MiB ${verdict(ours.after <= GOAL.steadyMiB)}; flood peak ${mib(flooded.peak)} within `
  + `${GOAL.floodMiB}Mi ${verdict(flooded.peak <= GOAL.floodMiB && flooded.all200)} (every review answered 200: ${flooded.all200}); `
  + `the Deployment's limit ${shippedMemoryLimit} leaves ${mib(limitMiB - flooded.peak)} over the flood's peak`);
