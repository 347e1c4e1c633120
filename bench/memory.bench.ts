// Resident memory of the webhook process as the image runs it (dist/main.js: `npm run build`
// first; the sources, which Node strips of their types at load, otherwise), with the shipped
// Deployment's settings (manifests/base/deployment.yaml: GPU_ADMISSION_MAX_IN_FLIGHT,
// NODE_OPTIONS, MALLOC_*; the Dockerfile's node flags, --no-maglev; Node's process metrics on, as
// it leaves them: before 2026-12-04 they were off here, as the fuzz suite runs the webhook) and
// without them, with the policy from
// a file and as the Deployment runs it: from the ConfigMap, with the namespace and node watches,
// against a real control plane (test/e2e/control-plane: etcd, kube-apiserver, scheduler,
// controller-manager, started once for the run and stopped at its end, also on failure or
// interrupt) holding the manifests' namespace and RBAC, the policy ConfigMap, the mix's namespaces
// and more opted in, and GPU nodes; the webhook reads it with its ServiceAccount's token (KUBECONFIG):
// 1. steady load: RSS idle (2 s after start, and settled: --idle-seconds after start, once V8's
//    memory reducer has collected what start-up left, as below), then after 100,000 reviews of the
//    server benchmark's mix (16 connections), and the process's CPU time per review over them (from
//    /proc); RSS after (2 s after the load) is split (/proc/<pid>/smaps) into anonymous memory
//    (V8's heap, malloc) and the pages of the node binary itself (its code and read-only data,
//    file-backed: no setting of ours changes them); then RSS once idle (--idle-seconds after the load, 120 by default): V8's memory
//    reducer, which in Node never sees the allocation rate fall, collects by its watchdog 100 s
//    after the last full collection (the load's), and gives back what the load left;
// 2. the max-size flood: 64 concurrent AdmissionReviews of ~3.7 MiB each (a pod with big
//    annotations, under the 4 MiB body limit), 3 rounds: peak RSS (VmHWM) against the
//    Deployment's memory limit, and every answer.
// Goals of issue #23: idle ≤ 80 MiB, ≤ 96 MiB after 100k reviews, the flood within 256Mi.
// npm run bench:memory [-- --reviews 100000] [--nodes 100] [--namespaces 50] [--idle-seconds 120 (0: not read)] [--process-metrics true]
//   [--try='<NAME=value …> <node flags …>|…': these settings too]
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { advertisesGpus, toClusterNode } from '../src/cluster/model.ts';
import { startControlPlane } from '../test/e2e/control-plane/control-plane.ts';
import { ensureBinaries, serviceAccountKubeconfig } from '../test/e2e/harness/cluster.ts';
import { Kubectl, eventually } from '../test/e2e/harness/kubectl.ts';
import { gpuNodes } from '../test/e2e/harness/nodes.ts';
import { shippedEnv, shippedMemoryLimit, shippedNodeFlags, shippedProcessEnv } from './shipped.ts';
import type { DriverJob, DriverResult } from './server-driver.ts';
import { startWebhook, type RunningWebhook } from '../test/fuzz/server.ts';

const { values } = parseArgs({ options: {
  reviews: { type: 'string', default: '100000' },
  /** GPU nodes registered (the node watch's list), and opted-in namespaces (the namespace watch's). */
  nodes: { type: 'string', default: '100' },
  namespaces: { type: 'string', default: '50' },
  /** Seconds after start and after the load at which RSS is read again, once V8's memory reducer has run; 0: not read. */
  'idle-seconds': { type: 'string', default: '120' },
  /** Node's process metrics (prom-client's default metrics) on /metrics, as the Deployment serves them; false: without. */
  'process-metrics': { type: 'string', default: 'true' },
  /** More settings to compare, separated by '|': environment variables (`NAME=value`) and node's flags. */
  try: { type: 'string' },
} });
const REVIEWS = Number(values.reviews);
const NODES = Number(values.nodes);
const IDLE_SECONDS = Number(values['idle-seconds']);
const GOAL = { idleMiB: 80, steadyMiB: 96, floodMiB: 256 };

const DIST = new URL('../dist/main.js', import.meta.url).pathname;
const entry = existsSync(DIST) ? DIST : undefined;
/** The process settings: environment variables added, and node's flags before the entry point. */
interface Settings { readonly env: Readonly<Record<string, string>>; readonly flags: readonly string[] }
const shipped: Settings = { env: shippedProcessEnv(), flags: shippedNodeFlags() };
const NOTHING: Settings = { env: {}, flags: [] };
const maxInFlight = shippedEnv('GPU_ADMISSION_MAX_IN_FLIGHT');
/** Whether the webhook serves Node's process metrics: the Deployment leaves GPU_ADMISSION_PROCESS_METRICS unset (true); --process-metrics false for the figures without them. */
const PROCESS_METRICS = values['process-metrics'];
const limitMiB = Number(/^(\d+)Mi$/.exec(shippedMemoryLimit)?.[1] ?? NaN);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const fixture = (name: string): string => readFileSync(new URL(`../test/fixtures/reviews/${name}.json`, import.meta.url), 'utf8');
const MIX = ['plain-pod', 'shared-gpu-pod', 'numa-pod', 'denied-pod'].map(fixture);
/** Opted-in namespaces (the namespace watch's list in ConfigMap mode): the mix's reviews', then team-1, team-2, … */
const MIX_NAMESPACES = [...new Set(MIX.map((r) => (JSON.parse(r) as { request: { namespace: string } }).request.namespace))];
const NAMESPACES = [...MIX_NAMESPACES, ...Array.from({ length: Math.max(0, Number(values.namespaces) - MIX_NAMESPACES.length) }, (_, i) => `team-${i + 1}`)];
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
/** The collections the webhook lists and watches as the Deployment runs it (the API server's resource names). */
const WATCHED = ['configmaps', 'namespaces', 'nodes'];

/** The cluster the Deployment's webhook reads, and the kubeconfig it reads it with (its ServiceAccount's token). */
interface Cluster { readonly kubeconfig: string; readonly kubectl: Kubectl; readonly gpuNodes: number; stop(): Promise<void> }

/**
 * A real control plane (test/e2e/control-plane, binaries from build.sh), then what the operator
 * installs (docs/operators.md): the manifests' namespace, ServiceAccount and RBAC (the e2e
 * overlay without the webhook configurations: nothing here calls the webhook), the policy
 * ConfigMap (the design's policy); then the opted-in namespaces and NODES nodes (the e2e suite's
 * kinds, cycled: GPU nodes of every backend and a CPU node), with status set as a kubelet would.
 */
async function startCluster(): Promise<Cluster> {
  const { kubectl: kubectlBin } = await ensureBinaries(() => {});
  const workDir = await mkdtemp(join(tmpdir(), 'gpu-admission-bench-memory-'));
  const cp = await startControlPlane({ workDir, log: () => {} });
  const stop = async (): Promise<void> => {
    await cp.stop();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const kubectl = new Kubectl(kubectlBin, cp.kubeconfig);
    const objects = (await kubectl.ok(['kustomize', new URL('../test/e2e/overlay', import.meta.url).pathname])).split(/^---$/m)
      .filter((o) => !/kind: (Mutating|Validating)WebhookConfiguration/.test(o));
    await kubectl.ok(['apply', '-f', '-'], objects.join('---\n'));
    await eventually('the gpu-admission ServiceAccount', async () =>
      (await kubectl.run(['get', 'serviceaccount', 'gpu-admission', '-n', 'gpu-admission'])).code === 0 ? true : undefined);
    await kubectl.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${POLICY_FILE}`]);
    await kubectl.ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: NAMESPACES.map((name) =>
      ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'gpu-admission.io/enabled': 'true' } } })) }));
    const kinds = gpuNodes() as { metadata: { name: string; labels: Record<string, string> } }[];
    const nodes = Array.from({ length: NODES }, (_, i) => {
      const kind = structuredClone(kinds[i % kinds.length]!);
      const name = `${kind.metadata.name}-${Math.floor(i / kinds.length)}`;
      return { ...kind, metadata: { ...kind.metadata, name, labels: { ...kind.metadata.labels, 'kubernetes.io/hostname': name } } };
    });
    for (let i = 0; i < nodes.length; i += 500) await kubectl.ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes.slice(i, i + 500) }));
    const gpu = nodes.filter((n) => advertisesGpus(toClusterNode(n))).length; // what the webhook's node cache keeps
    return { kubeconfig: await serviceAccountKubeconfig(kubectl, cp, workDir), kubectl, gpuNodes: gpu, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The watches the API server holds open, by resource (its own gauge apiserver_longrunning_requests). */
async function watchesHeld(kubectl: Kubectl): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  for (const line of (await kubectl.ok(['get', '--raw', '/metrics'])).split('\n')) {
    const m = /^apiserver_longrunning_requests\{(.*)\} (\d+)$/.exec(line);
    const resource = m && /verb="WATCH"/.test(m[1]!) ? /resource="([^"]*)"/.exec(m[1]!)?.[1] : undefined;
    if (resource) held.set(resource, (held.get(resource) ?? 0) + Number(m![2]));
  }
  return held;
}

/**
 * The webhook with these settings (NODE_OPTIONS empty unless given) and the policy from `source`:
 * a file (read before it listens), or the ConfigMap of the cluster, read with the ServiceAccount's
 * kubeconfig (KUBECONFIG: the Deployment's in-cluster credentials are a token file at a fixed path
 * in the pod); then resolved once the API server holds one more watch of each of the three
 * collections than before it started (each watch follows its list). No review has been sent:
 * `checked()` sends one and fails unless it is answered with a patch (the policy and the
 * namespaces' labels are in).
 */
async function start(source: Source, s: Settings, inFlight = maxInFlight): Promise<RunningWebhook & { checked(): Promise<void> }> {
  const before = source === 'ConfigMap' ? await watchesHeld(cluster.kubectl) : undefined;
  const policy = before ? ['--policy-source', 'configmap'] : ['--policy-source', 'file', '--policy-file', POLICY_FILE];
  const webhook = await startWebhook(['--max-in-flight', inFlight, '--process-metrics', PROCESS_METRICS, ...policy], { NODE_OPTIONS: '', ...(before ? { KUBECONFIG: cluster.kubeconfig } : {}), ...s.env }, entry, s.flags);
  running = webhook;
  const checked = async (): Promise<void> => {
    const answer = await webhook.post('/mutate', MIX[1] as string);
    if (answer.status !== 200 || !answer.text.includes('"patch"')) throw new Error(`no patch from the webhook (${source}): ${answer.status} ${answer.text.slice(0, 200)}`);
  };
  try {
    if (before) {
      await eventually(`the webhook's watches of ${WATCHED.join(', ')}`, async () => {
        const now = await watchesHeld(cluster.kubectl);
        return WATCHED.every((r) => (now.get(r) ?? 0) > (before.get(r) ?? 0)) ? true : undefined;
      });
    }
  } catch (err) {
    webhook.stop();
    throw err;
  }
  return { ...webhook, checked };
}

/** User + system CPU seconds of a process so far (/proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function drive(port: number, amount: number): Promise<DriverResult> {
  const child = fork(new URL('./server-driver.ts', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  driver = child;
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

/** RSS --idle-seconds after a reading taken 2 s after start or after the load (undefined when 0): once V8's memory reducer has run. */
async function onceIdle(webhook: RunningWebhook): Promise<number | undefined> {
  if (IDLE_SECONDS <= 0) return undefined;
  await settle(Math.max(0, IDLE_SECONDS * 1000 - 2_000));
  return webhook.memory().rssMiB;
}

interface Steady { readonly label: string; readonly idle: number; readonly settled?: number; readonly after: number; readonly onceIdle?: number }
async function steady(label: string, source: Source, s: Settings): Promise<Steady> {
  const webhook = await start(source, s);
  try {
    await settle();
    const idle = webhook.memory().rssMiB;
    const settled = await onceIdle(webhook);
    await webhook.checked();
    const pid = webhook.child.pid as number;
    const cpuBefore = cpuSeconds(pid);
    const result = await drive(webhook.port, REVIEWS);
    const cpu = cpuSeconds(pid) - cpuBefore;
    await settle();
    const { rssMiB: after, peakMiB } = webhook.memory();
    const { anonMiB, binaryMiB } = residentSplit(pid);
    const idleAfter = await onceIdle(webhook);
    const failed = result.non2xx + result.errors + result.timeouts;
    const maybe = (n: number | undefined): string => (n === undefined ? '—' : mib1(n));
    console.log(`| ${label} | ${source} | ${shown(s)} | ${mib1(idle)} | ${maybe(settled)} | ${mib1(after)} | ${mib(anonMiB)} | ${mib(binaryMiB)} | ${mib(peakMiB)} | `
      + `${maybe(idleAfter)} | ${result.total} (${failed} failed) | ${(1e6 * cpu / Math.max(1, result.total)).toFixed(0)} µs |`);
    return { label: `${label}, ${source}`, idle, after, ...(settled === undefined ? {} : { settled }), ...(idleAfter === undefined ? {} : { onceIdle: idleAfter }) };
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

/** The webhook and the load driver running now, and the control plane once up: stopped on an interrupt. */
let running: RunningWebhook | undefined;
let driver: ChildProcess | undefined;
let stopCluster: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running?.stop();
    driver?.kill('SIGKILL');
    // process.exit also runs the control plane's own last resort (its components SIGKILLed on exit), should it be starting.
    void (stopCluster?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
const t0 = performance.now();
const cluster = await startCluster();
stopCluster = cluster.stop;
console.log(`${process.version}, entry ${entry ? 'dist/main.js (as the image runs it)' : 'src/main.ts (no build: npm run build first for the image\'s figures)'}; `
  + `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; the Deployment: --max-in-flight ${maxInFlight}, process metrics ${PROCESS_METRICS === 'true' ? 'on' : 'off'}, `
  + `${shown(shipped)}, memory limit ${shippedMemoryLimit}; the cluster (a real control plane, up in ${((performance.now() - t0) / 1000).toFixed(0)} s, `
  + `for every row): ${NAMESPACES.length} opted-in namespaces, ${NODES} nodes (${cluster.gpuNodes} with GPUs)`);
try {
  const tried = values.try?.split('|').map(settings) ?? [];
  console.log(`\nSteady load: ${REVIEWS} reviews of the server benchmark's mix, 16 connections, the design's policy from a file or from the ConfigMap `
    + '(with the namespace and node watches, as the Deployment runs it); RSS after (2 s after the load) = anonymous + the node binary\'s pages + other files; '
    + `RSS idle 2 s after start, settled ${IDLE_SECONDS} s after start; RSS once idle ${IDLE_SECONDS} s after the load (V8's memory reducer has run)`);
  console.log('| run | policy | settings | RSS idle | RSS idle, settled | RSS after | anonymous | node binary | peak RSS | RSS once idle | reviews | CPU per review |\n|---|---|---|---|---|---|---|---|---|---|---|---|');
  const ours = [await steady('as shipped', 'file', shipped), await steady('as shipped', 'ConfigMap', shipped)];
  await steady('nothing set', 'file', NOTHING);
  for (const s of tried) for (const source of ['file', 'ConfigMap'] as const) await steady('tried', source, s);
  console.log(`\nFlood: ${CONCURRENT} concurrent reviews of ${(big.length / 2 ** 20).toFixed(2)} MiB, 3 rounds`);
  console.log('| run | --max-in-flight | settings | RSS idle | peak RSS | answers |\n|---|---|---|---|---|---|');
  const flooded = await flood('as shipped', maxInFlight, shipped);
  await flood('no cap, nothing set', '64', NOTHING);
  for (const s of tried) await flood('tried', maxInFlight, s);
  const goals = ours.map((o) => `${o.label}: idle ${mib1(o.idle)} ≤ ${GOAL.idleMiB} MiB ${verdict(o.idle <= GOAL.idleMiB)} (2 s after start)`
    + (o.settled === undefined ? '' : `, ${mib1(o.settled)} ${verdict(o.settled <= GOAL.idleMiB)} (${IDLE_SECONDS} s after, settled)`)
    + `; after ${REVIEWS} reviews `
    + `${mib1(o.after)} ≤ ${GOAL.steadyMiB} MiB ${verdict(o.after <= GOAL.steadyMiB)} (2 s after the load)`
    + (o.onceIdle === undefined ? '' : `, ${mib1(o.onceIdle)} ≤ ${GOAL.steadyMiB} MiB ${verdict(o.onceIdle <= GOAL.steadyMiB)} (${IDLE_SECONDS} s after, once idle)`));
  console.log(`\ngoals: ${goals.join('; ')}; flood peak ${mib(flooded.peak)} within `
    + `${GOAL.floodMiB}Mi ${verdict(flooded.peak <= GOAL.floodMiB && flooded.all200)} (every review answered 200: ${flooded.all200}); `
    + `the Deployment's limit ${shippedMemoryLimit} leaves ${mib(limitMiB - flooded.peak)} over the flood's peak`);
} finally {
  await cluster.stop();
}
