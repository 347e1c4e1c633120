// Resident memory of the webhook process as the image runs it (dist/main.js: `npm run build`
// first; the sources, which Node strips of their types at load, otherwise), with the shipped
// Deployment's settings (manifests/base/deployment.yaml: GPU_ADMISSION_MAX_IN_FLIGHT,
// NODE_OPTIONS, MALLOC_*) and without them, with the policy from
// a file and as the Deployment runs it: from the ConfigMap, with the namespace and node watches,
// against an API server that answers the lists and holds the watches (bench/fake-api-server.ts):
// 1. steady load: RSS idle, then after 100,000 reviews of the server benchmark's mix (16
//    connections), and the process's CPU time per review over them (from /proc); RSS after is
//    split (/proc/<pid>/smaps) into anonymous memory (V8's heap, malloc) and the pages of the node
//    binary itself (its code and read-only data, file-backed: no setting of ours changes them);
// 2. the max-size flood: 64 concurrent AdmissionReviews of ~3.7 MiB each (a pod with big
//    annotations, under the 4 MiB body limit), 3 rounds: peak RSS (VmHWM) against the
//    Deployment's memory limit, and every answer.
// Goals of issue #23: idle ≤ 80 MiB, ≤ 96 MiB after 100k reviews, the flood within 256Mi.
// npm run bench:memory [-- --reviews 100000] [--try='<NAME=value …> <node flags …>|…': these settings too]
import { execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startFakeApiServer } from './fake-api-server.ts';
import { shippedEnv, shippedMemoryLimit, shippedProcessEnv } from './shipped.ts';
import type { DriverJob, DriverResult } from './server-driver.ts';
import { startWebhook, type RunningWebhook } from '../test/fuzz/server.ts';

const { values } = parseArgs({ options: {
  reviews: { type: 'string', default: '100000' },
  /** More settings to compare, separated by '|': environment variables (`NAME=value`) and node's flags. */
  try: { type: 'string' },
} });
const REVIEWS = Number(values.reviews);
const GOAL = { idleMiB: 80, steadyMiB: 96, floodMiB: 256 };

const DIST = new URL('../dist/main.js', import.meta.url).pathname;
const entry = existsSync(DIST) ? DIST : undefined;
/** The process settings: environment variables added, and node's flags before the entry point. */
interface Settings { readonly env: Readonly<Record<string, string>>; readonly flags: readonly string[] }
const shipped: Settings = { env: shippedProcessEnv(), flags: [] };
const NOTHING: Settings = { env: {}, flags: [] };
const maxInFlight = shippedEnv('GPU_ADMISSION_MAX_IN_FLIGHT');
const limitMiB = Number(/^(\d+)Mi$/.exec(shippedMemoryLimit)?.[1] ?? NaN);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const fixture = (name: string): string => readFileSync(new URL(`../test/fixtures/reviews/${name}.json`, import.meta.url), 'utf8');
const MIX = ['plain-pod', 'shared-gpu-pod', 'numa-pod', 'denied-pod'].map(fixture);
/** The namespaces of the mix's reviews, opted in (the namespace watch's list in ConfigMap mode). */
const NAMESPACES = [...new Set(MIX.map((r) => (JSON.parse(r) as { request: { namespace: string } }).request.namespace))];
/** The design's policy (DESIGN.md §3), from a file or the ConfigMap. */
const POLICY_FILE = new URL('../test/fixtures/policies/design.yaml', import.meta.url).pathname;

const CONCURRENT = 64;
const review = JSON.parse(fixture('shared-gpu-pod')) as { request: { object: { metadata: { annotations?: Record<string, string> } } } };
review.request.object.metadata.annotations = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`example.com/blob-${i}`, 'x'.repeat(130_000)]));
const big = JSON.stringify(review);

/** `NAME=value … --flag …` (as --try takes them): the variables in the environment, the flags on node's command line. */
function settings(text: string): Settings {
  const words = text.split(' ').filter((w) => w !== '');
  const isVariable = (w: string): boolean => /^[A-Z_]+=/.test(w);
  return { env: Object.fromEntries(words.filter(isVariable).map((w) => w.split('=', 2) as [string, string])), flags: words.filter((w) => !isVariable(w)) };
}
/** Settings as --try writes them: the environment variables, NODE_OPTIONS, then node's flags. */
const shown = ({ env, flags }: Settings): string => [...Object.entries(env).filter(([k]) => k !== 'NODE_OPTIONS').map(([k, v]) => `${k}=${v}`),
  env.NODE_OPTIONS ?? '', ...flags].filter((w) => w !== '').join(' ') || 'none';
const settle = (ms = 2_000): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Source = 'file' | 'ConfigMap';
const WATCHED = ['/api/v1/namespaces/gpu-admission/configmaps', '/api/v1/namespaces', '/api/v1/nodes'];
/**
 * The webhook with these settings (NODE_OPTIONS empty unless given) and the policy from `source`:
 * a file (read before it listens), or the ConfigMap of an API server started for it (stopped with
 * the webhook); then resolved once each of its three collections is listed and watched. No review
 * has been sent: `checked()` sends one and fails unless it is answered with a patch (the policy and
 * the namespaces' labels are in).
 */
async function start(source: Source, s: Settings, inFlight = maxInFlight): Promise<RunningWebhook & { checked(): Promise<void> }> {
  const api = source === 'ConfigMap'
    ? await startFakeApiServer({ namespace: 'gpu-admission', configMap: 'gpu-admission-policy', policyYaml: readFileSync(POLICY_FILE, 'utf8'), namespaces: NAMESPACES })
    : undefined;
  const policy = api ? ['--policy-source', 'configmap', '--kubeconfig', api.kubeconfig] : ['--policy-source', 'file', '--policy-file', POLICY_FILE];
  const webhook = await startWebhook(['--max-in-flight', inFlight, ...policy], { NODE_OPTIONS: '', ...s.env }, entry, s.flags)
    .catch(async (err: unknown) => { await api?.close(); throw err; });
  const stop = webhook.stop;
  const running = {
    ...webhook,
    stop: () => { stop(); void api?.close(); },
    async checked() {
      const answer = await webhook.post('/mutate', MIX[1] as string);
      if (answer.status !== 200 || !answer.text.includes('"patch"')) throw new Error(`no patch from the webhook (${source}): ${answer.status} ${answer.text.slice(0, 200)}`);
    },
  };
  for (let waited = 0; api && !WATCHED.every((path) => api.requests.has(`GET ${path}`) && api.requests.has(`WATCH ${path}`)); waited += 100) {
    if (waited > 10_000) {
      running.stop();
      throw new Error(`the webhook did not list and watch ${WATCHED.join(', ')}: ${JSON.stringify([...api.requests])}`);
    }
    await settle(100);
  }
  return running;
}

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
/** Idle and after-load to a tenth, so a figure at a goal's line reads as what it is. */
const mib1 = (n: number): string => `${n.toFixed(1)} MiB`;
const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

interface Steady { readonly label: string; readonly idle: number; readonly after: number }
async function steady(label: string, source: Source, s: Settings): Promise<Steady> {
  const webhook = await start(source, s);
  try {
    await settle();
    const idle = webhook.memory().rssMiB;
    await webhook.checked();
    const pid = webhook.child.pid as number;
    const cpuBefore = cpuSeconds(pid);
    const result = await drive(webhook.port, REVIEWS);
    const cpu = cpuSeconds(pid) - cpuBefore;
    await settle();
    const { rssMiB: after, peakMiB } = webhook.memory();
    const { anonMiB, binaryMiB } = residentSplit(pid);
    const failed = result.non2xx + result.errors + result.timeouts;
    console.log(`| ${label} | ${source} | ${shown(s)} | ${mib1(idle)} | ${mib1(after)} | ${mib(anonMiB)} | ${mib(binaryMiB)} | ${mib(peakMiB)} | `
      + `${result.total} (${failed} failed) | ${(1e6 * cpu / Math.max(1, result.total)).toFixed(0)} µs |`);
    return { label: `${label}, ${source}`, idle, after };
  } finally {
    webhook.stop();
  }
}

async function flood(label: string, inFlight: string, s: Settings): Promise<{ peak: number; all200: boolean }> {
  const webhook = await start('file', s, inFlight);
  try {
    await settle();
    const idle = webhook.memory().rssMiB;
    await webhook.checked();
    const answers: Record<string, number> = {};
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(Array.from({ length: CONCURRENT }, () => webhook.post('/mutate', big)
        .then((a) => String(a.status), (e: Error) => e.message)));
      for (const r of results) answers[r] = (answers[r] ?? 0) + 1;
    }
    const { peakMiB } = webhook.memory();
    console.log(`| ${label} | ${inFlight} | ${shown(s)} | ${mib(idle)} | ${mib(peakMiB)} | ${JSON.stringify(answers)} |`);
    return { peak: peakMiB, all200: answers['200'] === 3 * CONCURRENT };
  } finally {
    webhook.stop();
  }
}

console.log(`${process.version}, entry ${entry ? 'dist/main.js (as the image runs it)' : 'src/main.ts (no build: npm run build first for the image\'s figures)'}; `
  + `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; the Deployment: --max-in-flight ${maxInFlight}, `
  + `${shown(shipped)}, memory limit ${shippedMemoryLimit}`);
const tried = values.try?.split('|').map(settings) ?? [];
console.log(`\nSteady load: ${REVIEWS} reviews of the server benchmark's mix, 16 connections, the design's policy from a file or from the ConfigMap `
  + '(with the namespace and node watches, as the Deployment runs it); RSS after = anonymous + the node binary\'s pages + other files');
console.log('| run | policy | settings | RSS idle | RSS after | anonymous | node binary | peak RSS | reviews | CPU per review |\n|---|---|---|---|---|---|---|---|---|---|');
const ours = [await steady('as shipped', 'file', shipped), await steady('as shipped', 'ConfigMap', shipped)];
await steady('nothing set', 'file', NOTHING);
for (const s of tried) for (const source of ['file', 'ConfigMap'] as const) await steady('tried', source, s);
console.log(`\nFlood: ${CONCURRENT} concurrent reviews of ${(big.length / 2 ** 20).toFixed(2)} MiB, 3 rounds`);
console.log('| run | --max-in-flight | settings | RSS idle | peak RSS | answers |\n|---|---|---|---|---|---|');
const flooded = await flood('as shipped', maxInFlight, shipped);
await flood('no cap, nothing set', '64', NOTHING);
for (const s of tried) await flood('tried', maxInFlight, s);
const goals = ours.map((o) => `${o.label}: idle ${mib1(o.idle)} ≤ ${GOAL.idleMiB} MiB ${verdict(o.idle <= GOAL.idleMiB)}, after ${REVIEWS} reviews `
  + `${mib1(o.after)} ≤ ${GOAL.steadyMiB} MiB ${verdict(o.after <= GOAL.steadyMiB)}`);
console.log(`\ngoals: ${goals.join('; ')}; flood peak ${mib(flooded.peak)} within `
  + `${GOAL.floodMiB}Mi ${verdict(flooded.peak <= GOAL.floodMiB && flooded.all200)} (every review answered 200: ${flooded.all200}); `
  + `the Deployment's limit ${shippedMemoryLimit} leaves ${mib(limitMiB - flooded.peak)} over the flood's peak`);
