/**
 * Decision cost: median µs of CPU time per decide() for pods of 1, 8 and 64 GPU containers on the
 * design policy plus a HAMi pool (on ACK's shared modes a pod's containers share one card, so
 * 64 containers of 8 GiB fit only where each gets its own share), next to a baseline measured
 * in the same run — a JSON round trip of the same pod, the least a webhook does with it. Beside
 * it, the first and the second pod of a demand: decide() keeps what a plain pod's pools come to
 * per demand from its second pod on (the second pays for keeping it), so the same pod again costs
 * less than a pod of a demand it has not seen. Then pods that are not
 * plain, which are judged whole every time: the NUMA pod of the server benchmark's mix
 * (test/fixtures/reviews/numa-pod.json) and the one-container pod with a nodeSelector of its own.
 * Figures, not assertions. `npm run bench:engine`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decide } from '../src/engine/decide.ts';
import { MAX_GPU_CONTAINERS } from '../src/engine/demand.ts';
import { DEFAULT_POLICY_YAML } from '../src/policy/default-policy.ts';
import { parsePolicyOrThrow } from '../src/policy/parse.ts';
import { BATCH, benchPolicyYaml, cpuMicros, median, mediansInTurns, namespace, newDemands, notPlain, pod, timed, type Batch } from './engine-cases.ts';

const { values } = parseArgs({ options: {
  /** Another checkout (same node_modules): its decide() and this one's, each in processes of their own, alternating. */
  against: { type: 'string' },
  /** Rounds of --against: each runs both sides once, in turn (which goes first alternates). */
  rounds: { type: 'string', default: '6' },
} });

const policy = parsePolicyOrThrow(benchPolicyYaml(DEFAULT_POLICY_YAML));

/**
 * Batches of the second pod of a demand: in each, pods of demands not seen before under a policy of
 * its own (a copy, so no batch finds what another kept), each decided once unmeasured, then each
 * again, measured: the decision that keeps what the demand comes to.
 */
function second(containers: number): Batch {
  const unseen = newDemands(containers);
  return () => {
    const context = { policy: { ...policy }, namespace };
    const pods = Array.from({ length: BATCH }, unseen);
    for (const p of pods) decide(p, context);
    const start = process.cpuUsage();
    for (const p of pods) decide(p, context);
    return cpuMicros(start) / BATCH;
  };
}

// Every case of the tables below, measured in turns (mediansInTurns): 1.5 s of batches each.
const cases: Record<string, Batch> = {};
// The most containers a pod may have translated (MAX_GPU_CONTAINERS) is the largest size measured.
const SIZES = [1, 8, MAX_GPU_CONTAINERS];
for (const n of SIZES) {
  const p = pod(n);
  const kind = decide(p, { policy, namespace }).kind;
  if (kind !== 'patch') throw new Error(`expected a patch for ${n} containers, got ${kind}`);
  const unseen = newDemands(n);
  cases[`decide ${n}`] = timed(() => decide(p, { policy, namespace }));
  cases[`first ${n}`] = timed(() => decide(unseen(), { policy, namespace }));
  cases[`second ${n}`] = second(n);
  cases[`baseline ${n}`] = timed(() => JSON.parse(JSON.stringify(p)));
}
const others = notPlain();
for (const { name, pod: p } of others) {
  const kind = decide(p, { policy, namespace }).kind;
  if (kind !== 'patch') throw new Error(`expected a patch for ${name}, got ${kind}`);
  cases[`decide ${name}`] = timed(() => decide(p, { policy, namespace }));
  cases[`baseline ${name}`] = timed(() => JSON.parse(JSON.stringify(p)));
}
const medians = mediansInTurns(cases, 1500);
const at = (name: string): number => medians[name] as number;
const rows = SIZES.map((n) => ({ containers: n, decide: at(`decide ${n}`), first: at(`first ${n}`), second: at(`second ${n}`), baseline: at(`baseline ${n}`) }));
const otherRows = others.map(({ name }) => ({ name, decide: at(`decide ${name}`), baseline: at(`baseline ${name}`) }));

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
 * `--against DIR`: another checkout's decide() (same node_modules) beside this one's, on the
 * one-container cases: each side in a process of its own (bench/engine-side.ts), in alternating
 * rounds (which side goes first alternates), so both sides run under the same load and neither's
 * figures depend on what ran before it in its process. Both sides in one process, as before
 * 2026-12-04, read an unchanged checkout against itself as 0.64–1.04: the side that had run the
 * table above was the warmer. Prints each side's median over the rounds, with its range, and the
 * median of the rounds' ratios.
 */
if (values.against !== undefined) {
  const sides = [values.against, fileURLToPath(new URL('..', import.meta.url))];
  const rounds = Number(values.rounds);
  const side = fileURLToPath(new URL('./engine-side.ts', import.meta.url));
  const runs: [Record<string, number>[], Record<string, number>[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      runs[k as 0 | 1].push(JSON.parse(execFileSync(process.execPath, [side, sides[k] as string], { encoding: 'utf8' })) as Record<string, number>);
    }
  }
  const spread = (xs: number[]): string => `${median(xs).toFixed(1).padStart(5)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  console.log(`\nagainst ${values.against}: ${rounds} rounds, each side in its own process per round (bench/engine-side.ts), CPU µs per call: `
    + 'median over the rounds (range); this checkout ÷ the other: median of the rounds\' ratios (range)');
  for (const name of Object.keys(runs[0][0] ?? {})) {
    const other = runs[0].map((f) => f[name] as number);
    const mine = runs[1].map((f) => f[name] as number);
    const ratios = mine.map((m, i) => m / (other[i] as number));
    console.log(`${name.padEnd(20)} other ${spread(other)} µs  this ${spread(mine)} µs  this/other ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
  }
}
