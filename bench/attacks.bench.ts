// Each attack of the reliability review (issue #24) against the real HTTPS server as shipped
// (manifests/base/deployment.yaml: GPU_ADMISSION_MAX_IN_FLIGHT, NODE_OPTIONS, MALLOC_*; the Dockerfile's node flags), a fresh process per
// attack: what the attacker got, the process's peak RSS (VmHWM) against the Deployment's memory
// limit, whether it lived, and how long a normal review sent during the attack took. Loopback
// only; every attack is bounded in count and time.   npm run bench:attacks
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { shippedEnv, shippedMemoryLimit, shippedNodeFlags, shippedProcessEnv } from './shipped.ts';
import { startWebhook, type RunningWebhook } from '../test/fuzz/server.ts';

const env = shippedEnv;

type Review = { request: { uid: string; namespace?: string; object: Record<string, any>; oldObject?: unknown; kind: unknown; resource: unknown; operation: string } };
const fixture = (name: string): Review => JSON.parse(readFileSync(new URL(`../test/fixtures/reviews/${name}.json`, import.meta.url), 'utf8')) as Review;
const NORMAL = JSON.stringify(fixture('shared-gpu-pod'));

/** A GPU pod review with `edit` applied to its pod. */
function podReview(edit: (pod: Record<string, any>) => void): string {
  const r = fixture('shared-gpu-pod');
  edit(r.request.object);
  return JSON.stringify(r);
}
const ATTACKER = '127.0.0.2';
const values = (n: number): string[] => Array.from({ length: n }, (_, i) => `z${i.toString(36)}`);

interface Attack {
  readonly name: string;
  readonly run: (w: RunningWebhook) => Promise<string>;
}

/** `n` copies of a review sent `concurrent` at a time; returns the answers counted. */
async function flood(w: RunningWebhook, path: string, body: string, n: number, concurrent: number): Promise<string> {
  const answers: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: concurrent }, async () => {
    while (next++ < n) {
      const a = await w.post(path, body).then((x) => {
        const review = JSON.parse(x.text) as { response?: { allowed?: boolean; status?: { message?: string } } };
        return `${x.status} ${review.response?.allowed ? 'allowed' : (review.response?.status?.message ?? '').slice(0, 48)} (${x.text.length} B)`;
      }, (e: Error) => e.message);
      answers[a] = (answers[a] ?? 0) + 1;
    }
  }));
  return Object.entries(answers).map(([a, c]) => `${c}× ${a}`).join('; ');
}

/** Raw TLS connections that send `head` and then `drip` a byte every 200 ms, or nothing; closed after `ms`. */
async function holders(w: RunningWebhook, n: number, head: string | undefined, drip: boolean, ms: number, tls = true): Promise<string> {
  const sockets: Socket[] = [];
  let cut = 0;
  for (let i = 0; i < n; i++) {
    // From another loopback address than the normal review's, as a pod's address differs from the API server's.
    const raw = netConnect({ host: '127.0.0.1', port: w.port, localAddress: ATTACKER });
    const s: Socket = tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
    raw.on('error', () => {});
    s.on('error', () => {});
    s.on('close', () => { cut++; });
    if (head !== undefined) s.write(head);
    if (drip) { const t = setInterval(() => s.writable && s.write(' '), 200); s.on('close', () => clearInterval(t)); }
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, ms));
  const left = n - cut;
  for (const s of sockets) s.destroy();
  return `${n} connections, ${n - left} closed by the server within ${ms / 1000} s`;
}

const policyReview = (policy: string): string => {
  const r = fixture('policy-configmap-create');
  r.request.object.data = { 'policy.yaml': policy };
  return JSON.stringify(r);
};

const ATTACKS: Attack[] = [
  { name: 'C3: 1 M empty tolerations (3 MB), 4 at a time', run: (w) => flood(w, '/mutate', podReview((p) => {
    p.spec.tolerations = Array.from({ length: 1_000_000 }, () => ({})); }), 8, 4) },
  { name: 'C4: /validate-policy with 400 k empty pools (1.2 MB), 4 at a time', run: (w) => flood(w, '/validate-policy',
    policyReview(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools: [${'{},'.repeat(400_000)}]`), 8, 4) },
  { name: 'C5: two In lists of 125 k values on one key (1.9 MB)', run: (w) => flood(w, '/mutate', podReview((p) => {
    const v = values(125_000);
    p.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [
      { key: 'zone', operator: 'In', values: v }, { key: 'zone', operator: 'In', values: v }] }] } } }; }), 4, 2) },
  // Under the value budget, so the engine judges it: two long In lists must cost their length, not its square.
  { name: 'C5c: two In lists of 45 k values on one key (0.7 MB, under the value budget)', run: (w) => flood(w, '/mutate', podReview((p) => {
    p.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [
      { key: 'zone', operator: 'In', values: values(45_000) }, { key: 'zone', operator: 'In', values: values(45_000).map((v) => `${v}b`) }] }] } } }; }), 4, 2) },
  { name: 'C5b: 60 k values In and NotIn, 40 k-entry nodeSelector (2 MB)', run: (w) => flood(w, '/mutate', podReview((p) => {
    const v = values(60_000);
    p.spec.nodeSelector = Object.fromEntries(values(40_000).map((k) => [k, 'x']));
    p.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [
      { key: 'zone', operator: 'In', values: v }, { key: 'zone', operator: 'NotIn', values: v }] }] } } }; }), 4, 2) },
  { name: 'C6: 90 k containers (1.5 MB, under the value budget)', run: (w) => flood(w, '/mutate', podReview((p) => {
    p.spec.containers = values(90_000).map((name) => ({ name })); p.metadata.annotations = { 'gpu-admission.io/gpu-model': 'A10' }; }), 4, 2) },
  // Each container's request refused with its own message: the problems must be deduplicated in their number, not its square.
  { name: 'C6b: 18 k containers, each with an invalid generic request (1.3 MB, under the value budget)', run: (w) => flood(w, '/mutate', podReview((p) => {
    p.spec.containers = values(18_000).map((name) => ({ name, resources: { limits: { 'gpu-admission.io/gpu': `x${name}` } } })); }), 4, 2) },
  { name: 'C7: RayCluster UPDATE, 2,000 worker groups a side', run: (w) => {
    const group = (i: number, image: string) => ({ groupName: `g${i}`, template: { spec: { containers: [{ name: 'w', image, resources: { limits: { 'gpu-admission.io/gpu': '1' } } }] } } });
    const ray = (image: string) => ({ apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: 'r', namespace: 'ml' },
      spec: { headGroupSpec: { template: { spec: { containers: [{ name: 'h', image }] } } }, workerGroupSpecs: Array.from({ length: 2000 }, (_, i) => group(i, `${image}${i}`)) } });
    const r = fixture('shared-gpu-pod');
    Object.assign(r.request, { kind: { group: 'ray.io', version: 'v1', kind: 'RayCluster' }, resource: { group: 'ray.io', version: 'v1', resource: 'rayclusters' },
      operation: 'UPDATE', object: ray('a'), oldObject: ray('b') });
    return flood(w, '/validate-workloads', JSON.stringify(r), 4, 2);
  } },
  { name: 'H2: gpu-model annotation of 1.9 M names (3.8 MB)', run: (w) => flood(w, '/mutate', podReview((p) => {
    p.metadata.annotations = { 'gpu-admission.io/gpu-model': values(1_900_000).join(',').slice(0, 3_900_000) }; }), 4, 2) },
  { name: 'M4: 20 k init containers asking 1 GPU each (1.3 MB)', run: (w) => flood(w, '/mutate', podReview((p) => {
    p.spec.initContainers = values(20_000).map((name) => ({ name, resources: { limits: { 'gpu-admission.io/gpu': '1' } } })); }), 4, 2) },
  { name: 'C8: 8 clients send a 1.3 MB review and never read, held 20 s', run: async (w) => {
    const body = podReview((p) => { p.spec.initContainers = values(20_000).map((name) => ({ name, resources: { limits: { 'gpu-admission.io/gpu': '1' } } })); });
    return holders(w, 8, `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, false, 20_000);
  } },
  { name: 'H4: 300 uploads that trickle a byte every 200 ms, 20 s', run: (w) =>
    holders(w, 300, 'POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{', true, 20_000) },
  { name: 'H3: 5,000 TCP connections that never start TLS, 20 s', run: (w) => holders(w, 5_000, undefined, false, 20_000, false) },
];

const processEnv = shippedProcessEnv();
const nodeFlags = shippedNodeFlags();
console.log(`as shipped: --max-in-flight ${env('GPU_ADMISSION_MAX_IN_FLIGHT')}, process metrics on, ${Object.entries(processEnv).map(([k, v]) => `${k}=${v}`).join(' ')} node ${nodeFlags.join(' ')}; the Deployment's memory limit: ${shippedMemoryLimit}`);
console.log('| attack | what the attacker got | peak RSS | alive | a normal review during it |\n|---|---|---|---|---|');
for (const attack of ATTACKS) {
  // Node's process metrics on, as the Deployment leaves them (the fuzz suite's webhook has them off).
  const w = await startWebhook(['--max-in-flight', env('GPU_ADMISSION_MAX_IN_FLIGHT'), '--process-metrics', 'true'], processEnv, undefined, nodeFlags);
  try {
    const started = performance.now();
    const result = attack.run(w);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    const normal = await w.post('/mutate', NORMAL).then((a) => `HTTP ${a.status} in ${(performance.now() - t0).toFixed(0)} ms`, (e: Error) => e.message);
    const got = await result;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`| ${attack.name} | ${got} (${seconds} s) | ${w.memory().peakMiB.toFixed(0)} MiB | ${w.child.exitCode === null ? 'yes' : 'NO'} | ${normal} |`);
  } finally {
    w.stop();
  }
}
