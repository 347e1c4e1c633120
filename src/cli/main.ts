#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { defaultPolicy } from '../policy/default-policy.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { Policy } from '../policy/types.ts';
import { checkPolicy, explain, mutate, printSchema, type OutputFormat, type Outcome } from './commands.ts';
import { InputError, readTargets, readText } from './input.ts';

const USAGE = `Usage:
  gpu-admission mutate  -f FILE [--policy FILE] [--namespace NAME] [--namespace-labels k=v,...] [-o yaml|json|patch]
  gpu-admission explain -f FILE [--policy FILE] [--namespace NAME] [--namespace-labels k=v,...]
  gpu-admission policy check FILE
  gpu-admission policy schema

FILE holds a Pod, a workload with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job, CronJob) or an AdmissionReview; several YAML documents are fine; - reads standard input.
Without --policy the embedded default policy is used. Exit codes: 0 done, 1 denied or invalid
policy, 2 unusable input.
`;

function labelsFrom(text: string | undefined): Record<string, string> {
  if (!text) return {};
  return Object.fromEntries(text.split(',').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InputError(`--namespace-labels: "${pair}" is not key=value`);
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  }));
}

function loadPolicy(file: string | undefined): Policy {
  if (!file) return defaultPolicy();
  const result = parsePolicy(readText(file));
  if (!result.ok) throw new InputError(`${file}: invalid policy\n  ${result.errors.join('\n  ')}`);
  return result.policy;
}

/** Runs the CLI on its arguments; never throws, never exits (main does). */
export function run(argv: readonly string[], stdin?: () => string): Outcome {
  try {
    return dispatch(argv, stdin);
  } catch (e) {
    const message = e instanceof InputError ? e.message : `unexpected error: ${(e as Error).stack ?? String(e)}`;
    return { stdout: '', stderr: `gpu-admission: ${message}\n`, exitCode: 2 };
  }
}

function dispatch(argv: readonly string[], stdin?: () => string): Outcome {
  const [command, ...rest] = argv;
  if (command === 'policy') {
    const [sub, file] = rest;
    if (sub === 'schema') return printSchema();
    if (sub === 'check' && file) return checkPolicy(readText(file, stdin), file);
    throw new InputError(`policy: expected "check FILE" or "schema"\n${USAGE}`);
  }
  if (command !== 'mutate' && command !== 'explain') {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { stdout: USAGE, stderr: '', exitCode: 0 };
    throw new InputError(`unknown command "${command}"\n${USAGE}`);
  }
  const { values } = parseArgs({
    args: [...rest],
    options: {
      file: { type: 'string', short: 'f' },
      policy: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'namespace-labels': { type: 'string' },
      output: { type: 'string', short: 'o', default: 'yaml' },
    },
    strict: true,
  });
  if (!values.file) throw new InputError(`${command}: -f FILE is required (- for standard input)`);
  const format = values.output as OutputFormat;
  if (!['yaml', 'json', 'patch'].includes(format)) throw new InputError(`-o must be yaml, json or patch, not "${format}"`);
  const options = {
    policy: loadPolicy(values.policy),
    namespaceLabels: labelsFrom(values['namespace-labels']),
    ...(values.namespace ? { namespace: values.namespace } : {}),
  };
  const targets = readTargets(readText(values.file, stdin), values.file);
  return command === 'mutate' ? mutate(targets, options, format) : explain(targets, options);
}

if (import.meta.main) {
  const outcome = run(process.argv.slice(2));
  process.stdout.write(outcome.stdout);
  process.stderr.write(outcome.stderr);
  process.exitCode = outcome.exitCode;
}
