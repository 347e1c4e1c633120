/**
 * One side of `npm run bench:engine -- --against DIR`, in a process of its own: the decide() of the
 * checkout DIR (same node_modules) on bench/engine-cases.ts's one-container cases, whose medians it
 * prints as one line of JSON. A fresh process per side and round, so that neither side's figures
 * depend on what the other ran before it in the same process (its JIT state, its heap).
 * `node bench/engine-side.ts DIR [budgetMs]`.
 */
import { pathToFileURL } from 'node:url';
import type { decide as Decide } from '../src/engine/decide.ts';
import type { parsePolicyOrThrow as Parse } from '../src/policy/parse.ts';
import { benchPolicyYaml, measureCases, namespace, pod } from './engine-cases.ts';

const [dir, budget = '1000'] = process.argv.slice(2);
if (!dir) throw new Error('usage: node bench/engine-side.ts DIR [budgetMs]');
const from = (path: string): string => new URL(path, pathToFileURL(`${dir.replace(/\/$/, '')}/`)).href;
const { decide } = (await import(from('src/engine/decide.ts'))) as { decide: typeof Decide };
const { parsePolicyOrThrow } = (await import(from('src/policy/parse.ts'))) as { parsePolicyOrThrow: typeof Parse };
const { DEFAULT_POLICY_YAML } = (await import(from('src/policy/default-policy.ts'))) as { DEFAULT_POLICY_YAML: string };
const policy = parsePolicyOrThrow(benchPolicyYaml(DEFAULT_POLICY_YAML));
const kind = decide(pod(1), { policy, namespace }).kind;
if (kind !== 'patch') throw new Error(`expected a patch from ${dir}'s decide, got ${kind}`);
console.log(JSON.stringify(measureCases(decide, { policy, namespace }, Number(budget))));

