/**
 * What bench/engine.bench.ts measures, shared with its `--against` child (bench/engine-side.ts):
 * the pods, the policy's text, and the CPU-time medians. Imports nothing of src/ but types, so a
 * child measures only the checkout it is given.
 */
import { readFileSync } from 'node:fs';
import type { Decision } from '../src/engine/decision.ts';
import type { DecideContext } from '../src/engine/decide.ts';
import type { Pod } from '../src/engine/pod.ts';

/** The design policy (the embedded default) with a HAMi pool besides. */
export function benchPolicyYaml(defaultPolicyYaml: string): string {
  return defaultPolicyYaml.replace('namespaces:',
    '  - {name: l40s-hami, backend: hami, nodeSelector: {pool: l40s}, gpu: {model: L40S, memory: 48Gi, perNode: 8}, hami: {resourceName: hami.io/gpu}}\nnamespaces:');
}

export const namespace = { name: 'ml', labels: {} };

export function pod(containers: number, prefix = 'c', nodeSelector?: Record<string, string>): Pod {
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

/** One batch of a case: BATCH calls, and the µs of CPU time (this process's user + system) each took, on average. */
export type Batch = () => number;

export const BATCH = 50;
export const cpuMicros = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return used.user + used.system;
};

/** `fn` called in batches: CPU time, which on a shared machine moves far less with other load than wall time does. */
export const timed = (fn: () => unknown): Batch => () => {
  const start = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) fn();
  return cpuMicros(start) / BATCH;
};

/**
 * The median µs per call of each case over its batches, taken in `rounds` turns spread over the
 * run (each case in turn, `budgetMs / rounds` at a time), after half a second of each unread (the
 * JIT warmed up: optimised code, not its compilation, is measured). On this project's VMs the
 * machine slows for a second or two at a time: in turns, such a second falls on a few batches of
 * every case, where a case measured in one stretch could have all its batches in it (the NUMA pod
 * read 12.9 µs in such runs, 7.1–7.5 in the others). Every case also runs after the others have
 * warmed the engine up, as a webhook deciding a mix of pods does.
 */
export function mediansInTurns(cases: Readonly<Record<string, Batch>>, budgetMs: number, rounds = 6): Record<string, number> {
  for (const batch of Object.values(cases)) {
    const warm = performance.now() + 500;
    while (performance.now() < warm) batch();
  }
  const samples = new Map<string, number[]>(Object.keys(cases).map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, batch] of Object.entries(cases)) {
      const taken = samples.get(name) as number[];
      const deadline = performance.now() + budgetMs / rounds;
      do taken.push(batch()); while (performance.now() < deadline);
    }
  }
  const medians: Record<string, number> = {};
  for (const [name, taken] of samples) medians[name] = median(taken);
  return medians;
}

/** The middle figure (the upper of the two middle ones of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * Pods of the same size whose container names all differ, more of them than the engine keeps:
 * taken in turn, each is a demand decide() has not seen (src/engine/plain.ts), as the first pod
 * of a Deployment is.
 */
export function newDemands(containers: number): () => Pod {
  const pods = Array.from({ length: 600 }, (_, k) => pod(containers, `d${k}-`));
  let next = 0;
  return () => pods[next++ % pods.length] as Pod;
}

/** Pods that are not plain (src/engine/plain.ts): every one of them is judged whole, as the first pod of a demand is. */
export function notPlain(): { name: string; pod: Pod }[] {
  const numaPod = (JSON.parse(readFileSync(new URL('../test/fixtures/reviews/numa-pod.json', import.meta.url), 'utf8')) as { request: { object: Pod } }).request.object;
  return [
    { name: 'NUMA pod (numa-pod.json: SingleNUMANode, RDMA, 4 GPUs)', pod: numaPod },
    { name: 'own nodeSelector (1 container, 8Gi)', pod: pod(1, 'c', { 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }) },
  ];
}

type Decide = (pod: Pod, context: DecideContext) => Decision;

/**
 * Median µs of CPU time per call of the one-container cases `--against` compares, with this
 * decide() and policy, in turns; and a JSON round trip of the NUMA pod, which no checkout changes:
 * a round where it is slow too was a slow moment of the machine, not of the code.
 */
export function measureCases(decide: Decide, context: DecideContext, budgetMs: number): Record<string, number> {
  const same = pod(1);
  const first = newDemands(1);
  const cases: Record<string, Batch> = { 'same pod again': timed(() => decide(same, context)), 'first of a demand': timed(() => decide(first(), context)) };
  const judged = notPlain();
  for (const { name, pod: p } of judged) cases[name.split(' (')[0] as string] = timed(() => decide(p, context));
  const numa = judged[0]?.pod;
  cases['JSON round trip'] = timed(() => JSON.parse(JSON.stringify(numa)));
  return mediansInTurns(cases, budgetMs);
}
