// `gpu-admission inspect` at scale: the real API server (built by test/e2e/control-plane/build.sh)
// holding 1,000 GPU nodes (five kinds, as ACK's device plugins, GFD and HAMi publish them) and
// 20,000 bound pods. Baseline, in the same run: the API server's own paginated list of the same
// objects (raw HTTPS GETs of /api/v1/nodes and /api/v1/pods, 500 per page, bytes read, nothing
// parsed). Measured: the whole CLI (`node src/cli/main.ts inspect`, a fresh process: start-up,
// paginated lists, the report) — wall time and peak RSS (the child's VmHWM).
// With --against DIR, the CLI of another checkout (same node_modules) is run too, in the same
// rounds, so a change is measured before and after against the same API server and baseline.
// --cpu-prof DIR writes a CPU profile of each inspect process there. --hold keeps the populated
// control plane up after the rounds, its kubeconfig printed, until the process is interrupted.
// --kubeconfig FILE uses a control plane held up that way instead of starting and populating one.
// --built runs each checkout's installed command (bin/gpu-admission.cjs, which runs the build,
// dist/cli/main.js; `npm run build` first) instead of its TypeScript sources; each target runs
// once, unmeasured, before the rounds (Node's compile cache filled, files in the page cache);
// --cold gives every run an empty cache directory instead (XDG_CACHE_HOME, where the command keeps its
// compile cache, a fresh directory; a checkout without the cache is unaffected).
// Each run's CPU time (user + system, from /proc) is printed beside its wall time.
//   npm run bench:inspect [-- --nodes 1000 --pods 20000 --runs 3 --against DIR --cpu-prof DIR]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { startControlPlane } from '../test/e2e/control-plane/control-plane.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '1000' }, pods: { type: 'string', default: '20000' }, runs: { type: 'string', default: '3' },
  against: { type: 'string' }, 'cpu-prof': { type: 'string' }, hold: { type: 'boolean' }, built: { type: 'boolean' }, cold: { type: 'boolean' },
  kubeconfig: { type: 'string' } } });
const NODES = Number(values.nodes);
const PODS = Number(values.pods);
const RUNS = Number(values.runs);
const ROOT = new URL('../', import.meta.url).pathname;

const KINDS = [
  { prefix: 't4', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }, res: { 'aliyun.com/gpu-mem': '30', 'aliyun.com/gpu-count': '2' }, pod: { 'aliyun.com/gpu-mem': '2' } },
  { prefix: 'a10', labels: { 'ack.node.gpu.schedule': 'core_mem', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' }, res: { 'aliyun.com/gpu-mem': '96', 'aliyun.com/gpu-count': '4', 'aliyun.com/gpu-core.percentage': '400' }, pod: { 'aliyun.com/gpu-mem': '4', 'aliyun.com/gpu-core.percentage': '20' } },
  { prefix: 'topo', labels: { 'ack.node.gpu.schedule': 'topology', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A100-SXM4-80GB' }, res: { 'aliyun.com/gpu': '8' }, pod: { 'aliyun.com/gpu': '1' } },
  { prefix: 'h100', labels: { 'node-pool': 'h100', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.memory': '81559', 'nvidia.com/gpu.count': '8' }, res: { 'nvidia.com/gpu': '8' }, pod: { 'nvidia.com/gpu': '1' } },
  { prefix: 'l20', labels: { gpu: 'on' }, res: { 'hami.io/gpu': '40', 'hami.io/gpumem': '184272', 'hami.io/gpucores': '400' }, pod: { 'hami.io/gpu': '1', 'hami.io/gpumem': '4096' } },
];

/** The API server and the admin's credentials: the started control plane's, or those embedded in --kubeconfig. */
interface Cluster {
  readonly apiServerUrl: string;
  readonly kubeconfig: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

function heldCluster(kubeconfig: string): Cluster {
  const config = parseYaml(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  const { cluster } = config.clusters[0]!;
  const { user } = config.users[0]!;
  const data = (text: string | undefined): Buffer => Buffer.from(text ?? '', 'base64');
  return { apiServerUrl: cluster.server!, kubeconfig, ca: data(cluster['certificate-authority-data']), cert: data(user['client-certificate-data']), key: data(user['client-key-data']) };
}

function call(cp: Cluster, method: string, path: string, body?: unknown): Promise<{ status: number; bytes: number; text: string }> {
  const url = new URL(cp.apiServerUrl);
  const options: RequestOptions = {
    host: url.hostname, port: url.port, path, method, ca: cp.ca, cert: cp.cert, key: cp.key,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, agent: AGENT,
  };
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, bytes: buf.length, text: method === 'GET' ? buf.toString() : '' });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
let AGENT: import('node:https').Agent | undefined;

async function pool<T>(items: readonly T[], width: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await each(items[next++] as T);
  }));
}

async function populate(cp: Cluster): Promise<void> {
  const nodes = Array.from({ length: NODES }, (_, i) => ({ i, kind: KINDS[i % KINDS.length]! }));
  await pool(nodes, 16, async ({ i, kind }) => {
    const name = `${kind.prefix}-${i}`;
    const capacity = { cpu: '64', memory: '512Gi', pods: '110', ...kind.res };
    const r = await call(cp, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...kind.labels } } });
    if (r.status >= 300) throw new Error(`node ${name}: HTTP ${r.status}`);
    await new Promise<void>((resolve, reject) => {
      const url = new URL(cp.apiServerUrl);
      const req = request({ host: url.hostname, port: url.port, path: `/api/v1/nodes/${name}/status`, method: 'PATCH', agent: AGENT,
        ca: cp.ca, cert: cp.cert, key: cp.key,
        headers: { 'Content-Type': 'application/merge-patch+json' } }, (res) => { res.resume(); res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`status ${name}: ${res.statusCode}`)))); });
      req.on('error', reject);
      req.end(JSON.stringify({ status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'bench' }] } }));
    });
  });
  await call(cp, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  const pods = Array.from({ length: PODS }, (_, i) => ({ i, node: nodes[i % NODES]! }));
  await pool(pods, 16, async ({ i, node }) => {
    const r = await call(cp, 'POST', '/api/v1/namespaces/bench/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, annotations: node.kind.prefix === 't4' ? { ALIYUN_COM_GPU_MEM_IDX: String(i % 2) } : {} },
      spec: { nodeName: `${node.kind.prefix}-${node.i}`, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits: node.kind.pod } }] },
    });
    if (r.status >= 300) throw new Error(`pod ${i}: HTTP ${r.status}`);
  });
}

/** The API server's own paginated list of nodes and pods: bytes read, nothing parsed but the continue token. */
async function rawList(cp: Cluster): Promise<number> {
  const started = performance.now();
  for (const path of ['/api/v1/nodes', '/api/v1/pods']) {
    let token = '';
    do {
      const r = await call(cp, 'GET', `${path}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
      token = /"continue":"([^"]*)"/.exec(r.text.slice(0, 400))?.[1] ?? '';
    } while (token);
  }
  return performance.now() - started;
}

interface Run { ms: number; cpuMs: number; peakMiB: number; lines: number; out: string }

/** User + system CPU of a live process in ms (/proc/PID/stat, clock ticks of 10 ms), or undefined once it has exited. */
function cpuOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of stat)
  } catch {
    return undefined;
  }
}

/** The CLI as a user runs it, in a fresh process; its wall time, CPU time (sampled every 20 ms, so up to 20 ms short) and peak RSS. */
async function inspect(root: string, kubeconfig: string, policy: string): Promise<Run> {
  const cold = values.cold ? await mkdtemp(join(tmpdir(), 'gpu-admission-bench-cache-')) : undefined;
  try {
    return await new Promise((resolve, reject) => {
      const started = performance.now();
      const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
      const env = cold ? { ...process.env, XDG_CACHE_HOME: cold } : process.env;
      const child = spawn(process.execPath, [...prof, join(root, values.built ? 'bin/gpu-admission.cjs' : 'src/cli/main.ts'), 'inspect', '--policy', policy, '--kubeconfig', kubeconfig], { cwd: root, env });
      let out = '';
      let peak = 0;
      let cpu = 0;
      const timer = setInterval(() => {
        try {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
          if (hwm) peak = Math.max(peak, Number(hwm) / 1024);
        } catch { /* exited */ }
        cpu = cpuOf(child.pid) ?? cpu;
      }, 20);
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        clearInterval(timer);
        if (code !== 0) reject(new Error(`inspect exited ${code}`));
        else resolve({ ms: performance.now() - started, cpuMs: cpu, peakMiB: peak, lines: out.split('\n').length, out });
      });
    });
  } finally {
    if (cold) await rm(cold, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const work = values.kubeconfig ? undefined : await mkdtemp(join(tmpdir(), 'gpu-admission-bench-inspect-'));
let started: { stop(): Promise<void> } | undefined;
let cp: Cluster;
if (values.kubeconfig) cp = heldCluster(values.kubeconfig);
else {
  execFileSync('bash', [join(ROOT, 'test/e2e/control-plane/build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const plane = await startControlPlane({ workDir: work!, log: () => {} });
  started = plane;
  cp = { apiServerUrl: plane.apiServerUrl, kubeconfig: plane.kubeconfig, ca: readFileSync(plane.caCertPath), cert: readFileSync(plane.adminCertPath), key: readFileSync(plane.adminKeyPath) };
}
const { Agent } = await import('node:https');
AGENT = new Agent({ keepAlive: true, maxSockets: 16 });
try {
  if (started) {
    const t0 = performance.now();
    await populate(cp);
    console.log(`populated ${NODES} nodes and ${PODS} pods in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const policy = join(ROOT, 'test/e2e/cluster-policy.yaml');
  const targets = [{ name: 'inspect', root: ROOT }, ...(values.against ? [{ name: 'against', root: values.against }] : [])];
  const base: number[] = [];
  const runs = new Map(targets.map((t) => [t.name, [] as Run[]]));
  if (values.built && !values.cold) for (const t of targets) await inspect(t.root, cp.kubeconfig, policy); // warm-up, not measured
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order of the targets from round to round, so neither always runs first.
    const order = i % 2 === 0 ? targets : [...targets].reverse();
    base.push(await rawList(cp));
    for (const t of order) {
      const r = await inspect(t.root, cp.kubeconfig, policy);
      runs.get(t.name)!.push(r);
      console.log(`round ${i + 1}: ${t.name} ${r.ms.toFixed(0)} ms (CPU ${r.cpuMs.toFixed(0)} ms), peak RSS ${r.peakMiB.toFixed(0)} MiB (baseline ${base.at(-1)!.toFixed(0)} ms, load ${loadavg()[0]!.toFixed(2)})`);
    }
  }
  const b = median(base);
  console.log(`| target | API server list (baseline) | inspect (whole CLI) | ratio | median of round ratios | inspect CPU | inspect peak RSS (median, max) | report lines |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  for (const [name, rs] of runs) {
    const m = median(rs.map((r) => r.ms));
    const perRound = median(rs.map((r, i) => r.ms / base[i]!));
    const peak = median(rs.map((r) => r.peakMiB));
    console.log(`| ${name} | ${b.toFixed(0)} ms | ${m.toFixed(0)} ms | ${(m / b).toFixed(1)}× | ${perRound.toFixed(1)}× | ${median(rs.map((r) => r.cpuMs)).toFixed(0)} ms | ${peak.toFixed(0)}, ${Math.max(...rs.map((r) => r.peakMiB)).toFixed(0)} MiB | ${rs[0]?.lines} |`);
  }
  const outs = [...runs.values()].map((rs) => rs[0]?.out);
  if (outs.length > 1) console.log(outs.every((o) => o === outs[0]) ? 'the reports are identical' : 'THE REPORTS DIFFER');
  console.log(`(${NODES} nodes, ${PODS} pods${values.kubeconfig ? ' (held)' : ''}; ${values.built ? `built${values.cold ? ', cold compile cache' : ''}` : 'sources'}; medians of ${RUNS} rounds, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  if (values.hold && started) {
    console.log(`holding the control plane: --kubeconfig ${cp.kubeconfig}; interrupt to stop it`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
} finally {
  AGENT.destroy();
  await started?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}
