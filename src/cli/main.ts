import { parseArgs } from 'node:util';
import { defaultPolicy } from '../policy/default-policy.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { Policy } from '../policy/types.ts';
import { checkPolicy, explain, mutate, printDeviceClasses, printKueue, printSchema, type OutputFormat, type Outcome } from './commands.ts';
import { clusterCommand, type OpenCluster } from './cluster.ts';
import { InputError, readTargets, readText } from './input.ts';

const USAGE = `Usage:
  gpu-admission mutate  -f FILE [--policy FILE] [--namespace NAME] [--namespace-labels k=v,...] [-o yaml|json|patch]
  gpu-admission explain -f FILE [--policy FILE] [--namespace NAME] [--namespace-labels k=v,...]
  gpu-admission mutate|explain -f FILE --cluster [--namespace NAME] [CLUSTER]
  gpu-admission inspect [--policy FILE] [--pool NAME] [--node NAME] [-d] [-o text|json] [CLUSTER]
  gpu-admission policy check FILE [--cluster [CLUSTER]]
  gpu-admission policy init --from-cluster [CLUSTER]
  gpu-admission policy deviceclasses FILE
  gpu-admission policy kueue [FILE] [--config]
  gpu-admission policy schema

FILE holds a Pod, a workload with pod templates (Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job, CronJob, Kubeflow jobs, Ray, LeaderWorkerSet, JobSet) or an AdmissionReview; several YAML
documents are fine; - reads standard input. Without --policy the embedded default policy is used
offline, and the policy in force (ConfigMap gpu-admission/gpu-admission-policy) with --cluster.
CLUSTER: --kubeconfig FILE (else KUBECONFIG, ~/.kube/config, in-cluster), --context NAME,
--policy-namespace NAME. Exit codes: 0 done, 1 denied, invalid policy or findings, 2 unusable
input or no cluster.
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

/** `policy kueue [FILE] [--config]`: without FILE, the embedded default policy. */
function kueueCommand(args: readonly string[], stdin?: () => string): Outcome {
  const { values, positionals } = parseArgs({ args: [...args], options: { config: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const [file, extra] = positionals;
  if (extra !== undefined) throw new InputError(`policy kueue: one FILE at most\n${USAGE}`);
  if (file === undefined) return printKueue(defaultPolicy(), 'the embedded default policy', values.config);
  const result = parsePolicy(readText(file, stdin));
  if (!result.ok) return { stdout: '', stderr: `${file}: invalid policy\n${result.errors.map((e) => `  ${e}\n`).join('')}`, exitCode: 1 };
  return printKueue(result.policy, file, values.config);
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
    if (sub === 'deviceclasses' && file) return printDeviceClasses(readText(file, stdin), file);
    if (sub === 'kueue') return kueueCommand(rest.slice(1), stdin);
    throw new InputError(`policy: expected "check FILE", "deviceclasses FILE", "kueue [FILE]" or "schema"\n${USAGE}`);
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

/** The cluster of the user's kubeconfig, read with their credentials. */
const openCluster: OpenCluster = async ({ kubeconfig, context }) => {
  (await import('../kube/lean-client-node.ts')).leanClientNode(); // before client-node is first loaded
  const { loadKubeConfig } = await import('../kube/kubeconfig.ts');
  const { ClusterReader } = await import('../kube/cluster-read.ts');
  return new ClusterReader(await loadKubeConfig(kubeconfig ?? process.env.KUBECONFIG, 'read nodes, pods and the policy from', context));
};

/** The message of a Kubernetes Status in an API error's body (403: which verb on which resource). */
function apiMessage(body: unknown): string | undefined {
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
    return typeof status?.message === 'string' ? status.message : undefined;
  } catch {
    return typeof body === 'string' ? body.slice(0, 300) : undefined;
  }
}

/** Runs any verb, the cluster ones included; never throws. */
export async function runAsync(argv: readonly string[], open: OpenCluster = openCluster, stdin?: () => string): Promise<Outcome> {
  const verb = clusterCommand(argv);
  if (!verb) return run(argv, stdin);
  try {
    return await verb(open, stdin);
  } catch (e) {
    const err = e as Error & { code?: unknown; body?: unknown; cause?: { code?: string; message?: string } };
    const message = e instanceof InputError || err.name === 'NoClusterError' ? err.message
      : typeof err.code === 'number' ? `the API server answered ${err.code}: ${apiMessage(err.body) ?? err.message}`
        : err.cause ? `cannot reach the API server: ${err.cause.code ?? err.cause.message ?? err.message}`
          : `cannot read the cluster: ${err.message}`;
    return { stdout: '', stderr: `gpu-admission: ${message}\n`, exitCode: 2 };
  }
}

/** The command: runs `argv` and prints the outcome. The installed bin (bin/gpu-admission.cjs) calls it. */
export async function main(argv: readonly string[]): Promise<void> {
  const outcome = await runAsync(argv);
  process.stdout.write(outcome.stdout);
  process.stderr.write(outcome.stderr);
  process.exitCode = outcome.exitCode;
}

// `node src/cli/main.ts` (npm run cli) on Node 24; installed, bin/gpu-admission.cjs checks the Node first.
if (import.meta.main) await main(process.argv.slice(2));
