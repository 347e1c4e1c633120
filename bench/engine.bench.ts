/**
 * Decision cost: median µs of CPU time per decide() for pods of 1, 10 and 100 GPU containers on the
 * design policy plus a HAMi pool (on ACK's shared modes a pod's containers share one card, so
 * 100 containers of 8 GiB fit only where each gets its own share), next to a baseline measured
 * in the same run — a JSON round trip of the same pod, the least a webhook does with it. Beside
 * it, the first pod of a demand: decide() keeps what a plain pod's pools come to per demand, so
 * the same pod again costs less than a pod of a demand it has not seen. Then pods that are not
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
  const warm = performance.now() + 500;
  while (performance.now() < warm) fn(); // warm up the JIT (optimised code, not its compilation, is measured)
  const samples: number[] = [];
  const deadline = performance.now() + budgetMs;
  const batch = 50;
  while (performance.now() < deadline) {
    const start = process.cpuUsage();
    for (let i = 0; i < batch; i++) fn();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / batch);
  }
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

const rows: { containers: number; decide: number; first: number; baseline: number }[] = [];
// The most containers a pod may have translated (MAX_GPU_CONTAINERS) is the largest size measured.
for (const n of [1, 8, MAX_GPU_CONTAINERS]) {
  const p = pod(n);
  const kind = decide(p, { policy, namespace }).kind;
  if (kind !== 'patch') throw new Error(`expected a patch for ${n} containers, got ${kind}`);
  const unseen = newDemands(n);
  rows.push({
    containers: n, decide: medianMicros(() => decide(p, { policy, namespace })), first: medianMicros(() => decide(unseen(), { policy, namespace })),
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
console.log('decide µs: the same pod again (its demand seen before); first of a demand µs: a pod of a demand not seen before');
console.log('containers  decide µs  first of a demand µs  JSON round-trip µs  decide/baseline  decide per container µs');
for (const r of rows) {
  console.log(`${String(r.containers).padStart(10)}  ${r.decide.toFixed(1).padStart(9)}  ${r.first.toFixed(1).padStart(20)}  ${r.baseline.toFixed(1).padStart(18)}  `
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
  console.log(`goal: 1-container decide ≤ 10 µs: same pod ${met(one.decide)}; first of a demand ${met(one.first)}; `
    + `${otherRows.map((r) => `${r.name.split(' (')[0]} ${met(r.decide)}`).join('; ')}; `
    + `linear in containers (${most.containers} cost ≤ ${most.containers}× one) ${most.decide / one.decide <= most.containers ? 'MET' : 'NOT MET'}`);
}
