/**
 * Decision cost: median µs of CPU time per decide() for pods of 1, 10 and 100 GPU containers on the
 * design policy plus a HAMi pool (on ACK's shared modes a pod's containers share one card, so
 * 100 containers of 8 GiB fit only where each gets its own share), next to a baseline measured
 * in the same run — a JSON round trip of the same pod, the least a webhook does with it. Beside
 * it, the first and the second pod of a demand: decide() keeps what a plain pod's pools come to
 * per demand from its second pod on (the second pays for keeping it), so the same pod again costs
 * less than a pod of a demand it has not seen. Then pods that are not
 * plain, which are judged whole every time: the NUMA pod of the server benchmark's mix
 * (test/fixtures/reviews/numa-pod.json) and the one-container pod with a nodeSelector of its own.
 * Figures, not assertions. `npm run bench:engine`.
 */
import { readFileSync } from 'node:fs';
import { decide } from '../src/engine/decide.ts';
import { MAX_GPU_CONTAINERS } from '../src/engine/demand.ts';
import type { Pod } from '../src/engine/pod.ts';
import { DEFAULT_POLICY_YAML } from '../src/policy/default-policy.ts';
import { parsePolicyOrThrow } from '../src/policy/parse.ts';

const policy = parsePolicyOrThrow(DEFAULT_POLICY_YAML.replace('namespaces:',
  '  - {name: l40s-hami, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}, hami: {resourceName: hami.io/gpu}}\nnamespaces:'));
const namespace = { name: 'ml', labels: {} };

function pod(containers: number, prefix = 'c', nodeSelector?: Record<string, string>): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'train-', namespace: 'ml', labels: { app: 'train' } },
    spec: {
      ...(nodeSelector ? { nodeSelector } : {}),
      containers: Array.from({ length: containers }, (_, i) => ({
        name: `${prefix}${i}`, image: 'registry.example.com/train:1.0',
        env: [{ name: 'MODE', value: 'train' }],
        resources: {
          limits: { cpu: '4', memory: '16Gi', 'gpu-admission.io/gpu-memory': '8Gi' },
          requests: { cpu: '4', memory: '16Gi', 'gpu-admission.io/gpu-memory': '8Gi' },
        },
      })),
    },
  };
}

/**
 * Median µs of CPU time (this process's user + system, from process.cpuUsage) per call, over
 * batches: on a shared machine CPU time moves far less with other load than wall time does.
 */
function medianMicros(fn: () => unknown, budgetMs = 1500): number {
  return medianOfBatches(() => {
    const start = process.cpuUsage();
    for (let i = 0; i < BATCH; i++) fn();
    return cpuMicros(start) / BATCH;
  }, budgetMs);
}

const BATCH = 50;
const cpuMicros = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return used.user + used.system;
};

/** The median of `batch()`'s figures over `budgetMs`, after half a second of them unread (the JIT warmed up: optimised code, not its compilation, is measured). */
function medianOfBatches(batch: () => number, budgetMs: number): number {
  const warm = performance.now() + 500;
  while (performance.now() < warm) batch();
  const samples: number[] = [];
  const deadline = performance.now() + budgetMs;
  while (performance.now() < deadline) samples.push(batch());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? NaN;
}

/**
 * Pods of the same size whose container names all differ, more of them than the engine keeps:
 * taken in turn, each is a demand decide() has not seen (src/engine/plain.ts), as the first pod
 * of a Deployment is.
 */
function newDemands(containers: number): () => Pod {
  const pods = Array.from({ length: 600 }, (_, k) => pod(containers, `d${k}-`));
  let next = 0;
  return () => pods[next++ % pods.length] as Pod;
}

/**
 * Median µs of CPU time of the second pod of a demand: in each batch, pods of demands not seen
 * before under a policy of its own (a copy, so no batch finds what another kept), each decided once
 * unmeasured, then each again, measured: the decision that keeps what the demand comes to.
 */
function secondMicros(containers: number, budgetMs = 1500): number {
  const unseen = newDemands(containers);
  return medianOfBatches(() => {
    const context = { policy: { ...policy }, namespace };
    const pods = Array.from({ length: BATCH }, unseen);
    for (const p of pods) decide(p, context);
    const start = process.cpuUsage();
    for (const p of pods) decide(p, context);
    return cpuMicros(start) / BATCH;
  }, budgetMs);
}

const rows: { containers: number; decide: number; first: number; second: number; baseline: number }[] = [];
// The most containers a pod may have translated (MAX_GPU_CONTAINERS) is the largest size measured.
for (const n of [1, 8, MAX_GPU_CONTAINERS]) {
  const p = pod(n);
  const kind = decide(p, { policy, namespace }).kind;
  if (kind !== 'patch') throw new Error(`expected a patch for ${n} containers, got ${kind}`);
  const unseen = newDemands(n);
  rows.push({
    containers: n, decide: medianMicros(() => decide(p, { policy, namespace })), first: medianMicros(() => decide(unseen(), { policy, namespace })),
    second: secondMicros(n),
    baseline: medianMicros(() => JSON.parse(JSON.stringify(p))),
  });
}

/** Pods that are not plain (src/engine/plain.ts): every one of them is judged whole, as the first pod of a demand is. */
const numaPod = (JSON.parse(readFileSync(new URL('../test/fixtures/reviews/numa-pod.json', import.meta.url), 'utf8')) as { request: { object: Pod } }).request.object;
const others: { name: string; pod: Pod }[] = [
  { name: 'NUMA pod (numa-pod.json: SingleNUMANode, RDMA, 4 GPUs)', pod: numaPod },
  { name: 'own nodeSelector (1 container, 8Gi)', pod: pod(1, 'c', { 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }) },
];
const otherRows = others.map(({ name, pod: p }) => {
  const kind = decide(p, { policy, namespace }).kind;
  if (kind !== 'patch') throw new Error(`expected a patch for ${name}, got ${kind}`);
  return { name, decide: medianMicros(() => decide(p, { policy, namespace })), baseline: medianMicros(() => JSON.parse(JSON.stringify(p))) };
});

console.log(`node ${process.version}, ${policy.pools.length} pools (the design policy and a HAMi pool)`);
console.log('decide µs: the same pod again (its demand kept); first of a demand µs: a pod of a demand not seen before; '
  + 'second µs: the next pod of that demand (which keeps it)');
console.log('containers  decide µs  first of a demand µs  second µs  JSON round-trip µs  decide/baseline  decide per container µs');
for (const r of rows) {
  console.log(`${String(r.containers).padStart(10)}  ${r.decide.toFixed(1).padStart(9)}  ${r.first.toFixed(1).padStart(20)}  ${r.second.toFixed(1).padStart(9)}  ${r.baseline.toFixed(1).padStart(18)}  `
    + `${(r.decide / r.baseline).toFixed(1).padStart(15)}  ${(r.decide / r.containers).toFixed(2).padStart(23)}`);
}
console.log('pods that are not plain (judged whole every time)  decide µs  JSON round-trip µs  decide/baseline');
for (const r of otherRows) {
  console.log(`${r.name.padEnd(52)}  ${r.decide.toFixed(1).padStart(9)}  ${r.baseline.toFixed(1).padStart(18)}  ${(r.decide / r.baseline).toFixed(1).padStart(15)}`);
}
const [one, , most] = rows;
if (one && most) console.log(`cost of ${most.containers} containers / cost of 1: ${(most.decide / one.decide).toFixed(1)} (linear would be ≤ ${most.containers})`);
// Issue #23's goal for the decision: ≤ 10 µs for a one-container pod on the design policy, linear in containers;
// for the pod seen before, the first pod of a demand and the pods that are not plain alike.
if (one && most) {
  const met = (us: number): string => `${us.toFixed(1)} µs ${us <= 10 ? 'MET' : 'NOT MET'}`;
  console.log(`goal: 1-container decide ≤ 10 µs: same pod ${met(one.decide)}; first of a demand ${met(one.first)}; second ${met(one.second)}; `
    + `${otherRows.map((r) => `${r.name.split(' (')[0]} ${met(r.decide)}`).join('; ')}; `
    + `linear in containers (${most.containers} cost ≤ ${most.containers}× one) ${most.decide / one.decide <= most.containers ? 'MET' : 'NOT MET'}`);
}

/**
 * `--against DIR`: another checkout's decide() (same node_modules) in the same process, on the
 * one-container rows, in alternating batches: CPU µs per call of each and the median of the
 * rounds' ratios. On a shared machine the medians above move by more than a change of 10 %;
 * alternating batches in one process put both sides under the same load.
 */
const against = process.argv.indexOf('--against');
if (against !== -1) {
  const dir = process.argv[against + 1];
  if (!dir) throw new Error('--against needs a checkout directory');
  const from = (path: string): string => new URL(`file://${dir.replace(/\/$/, '')}/${path}`).href;
  const other = (await import(from('src/engine/decide.ts'))) as { decide: typeof decide };
  const otherParse = (await import(from('src/policy/parse.ts'))) as { parsePolicyOrThrow: typeof parsePolicyOrThrow };
  const otherYaml = (await import(from('src/policy/default-policy.ts'))) as { DEFAULT_POLICY_YAML: string };
  const otherPolicy = otherParse.parsePolicyOrThrow(otherYaml.DEFAULT_POLICY_YAML.replace('namespaces:',
    '  - {name: l40s-hami, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}, hami: {resourceName: hami.io/gpu}}\nnamespaces:'));
  const sides = [{ decide: other.decide, context: { policy: otherPolicy, namespace } }, { decide, context: { policy, namespace } }];
  const same = pod(1);
  const cases: [string, () => Pod][] = [['same pod again', () => same], ['first of a demand', newDemands(1)],
    ...others.map(({ name, pod: p }): [string, () => Pod] => [name.split(' (')[0] as string, () => p])];
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const rounds = 15;
  const calls = 4000;
  console.log(`\nagainst ${dir}: ${rounds} alternating rounds of ${calls} calls, CPU µs per call (medians), this checkout ÷ the other (median of the rounds' ratios)`);
  for (const [name, next] of cases) {
    for (const side of sides) for (let i = 0; i < calls; i++) side.decide(next(), side.context); // warm up both
    const times: [number[], number[]] = [[], []];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const got = [0, 0];
      for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const side = sides[k] as (typeof sides)[number];
        const start = process.cpuUsage();
        for (let i = 0; i < calls; i++) side.decide(next(), side.context);
        const used = process.cpuUsage(start);
        got[k] = (used.user + used.system) / calls;
      }
      times[0].push(got[0] as number);
      times[1].push(got[1] as number);
      ratios.push((got[1] as number) / (got[0] as number));
    }
    console.log(`${name.padEnd(20)} other ${median(times[0]).toFixed(1).padStart(6)} µs  this ${median(times[1]).toFixed(1).padStart(6)} µs  this/other ${median(ratios).toFixed(2)}`);
  }
}
