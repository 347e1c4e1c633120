// The CLI verbs that read a live cluster: inspect, policy check --cluster, policy init
// --from-cluster, and mutate/explain --cluster. The cluster is found as kubectl finds it.
import { parseArgs } from 'node:util';
import { checkAgainstCluster } from '../cluster/check.ts';
import { checkWebhookOrder, type MutatingConfiguration } from '../cluster/webhook-order.ts';
import { draftPolicy } from '../cluster/init.ts';
import { formatInspect, inspect, inspectWithoutPolicy, type InspectReport, type PolicyRefusal } from '../cluster/inspect.ts';
import { advertisesGpus, needsDra, poolNodeSummary, withDevices, type ClusterNode, type ClusterPod, type DraView } from '../cluster/model.ts';
import { parsePolicy, revisionContent } from '../policy/parse.ts';
import type { Policy } from '../policy/types.ts';
import { POLICY_CONFIGMAP } from '../vocabulary/names.ts';
import { checkPolicy, explain, mutate, type OutputFormat, type Outcome } from './commands.ts';
import { InputError, readTargets, readText } from './input.ts';
import { isStoredPod } from './stored.ts';

/** What the cluster verbs read; src/kube/cluster-read.ts reads it from the API server. */
export interface Cluster {
  /** The nodes; `signal` aborts the list (its requests in flight, its connections closed). */
  nodes(signal?: AbortSignal): Promise<ClusterNode[]>;
  /** The pods that hold or wait for resources; `signal` aborts the list. */
  pods(signal?: AbortSignal): Promise<ClusterPod[]>;
  /** The policy ConfigMap's text, and its resourceVersion: the webhook's revision of it is `<resourceVersion>-<hash>`. */
  policyText(namespace?: string): Promise<{ text: string; resourceVersion?: string } | { missing: string }>;
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  /** The webhook's newest InvalidPolicy Event on the policy ConfigMap, or undefined when none can be read. */
  policyRefusal(namespace?: string): Promise<PolicyRefusal | undefined>;
  /** DRA's DeviceClasses, ResourceSlices and ResourceClaims; read only for policies with dra pools. */
  dra(): Promise<DraView>;
  /** The MutatingWebhookConfigurations; read only for policies with kai pools (the order of KAI's webhook and ours). */
  mutatingWebhooks(): Promise<MutatingConfiguration[]>;
}

/** The nodes, with their DRA devices when the policy has dra pools (and the DRA objects read); `listed`, nodes asked for already. */
async function policyNodes(cluster: Cluster, policy: Policy, listed: Promise<ClusterNode[]> = cluster.nodes()): Promise<{ nodes: ClusterNode[]; dra?: DraView }> {
  if (!needsDra(policy)) return { nodes: await listed };
  const [nodes, dra] = await Promise.all([listed, cluster.dra()]);
  return { nodes: withDevices(nodes, dra), dra };
}

/** The nodes and pods, asked for before anything needs them; each rejection is also handled here, so one nobody reads is not unhandled. */
interface Lists {
  readonly nodes: Promise<ClusterNode[]>;
  readonly pods: Promise<ClusterPod[]>;
}

function askForLists(cluster: Cluster, signal: AbortSignal): Lists {
  const nodes = cluster.nodes(signal);
  const pods = cluster.pods(signal);
  nodes.catch(() => {});
  pods.catch(() => {});
  return { nodes, pods };
}

export interface ClusterFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** Opens the cluster for a verb; the CLI's main gives one that loads the kubeconfig. */
export type OpenCluster = (flags: ClusterFlags) => Promise<Cluster>;

const CLUSTER_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'policy-namespace': { type: 'string' },
} as const;

/** The policy of --policy FILE or of the ConfigMap, or the ConfigMap's errors when its policy is invalid. */
async function readPolicy(cluster: Cluster, file: string | undefined, namespace: string | undefined, stdin?: () => string):
Promise<{ policy: Policy } | { where: string; errors: readonly string[] }> {
  const where = file ?? `${namespace ?? POLICY_CONFIGMAP.namespace}/${POLICY_CONFIGMAP.name}`;
  let text: string;
  let version: string | undefined;
  if (file) text = readText(file, stdin);
  else {
    const found = await cluster.policyText(namespace);
    if ('missing' in found) throw new InputError(`${found.missing} (give one with --policy FILE)`);
    ({ text, resourceVersion: version } = found);
  }
  const result = parsePolicy(text, version);
  if (!result.ok) {
    if (file) throw new InputError(`${file}: invalid policy\n  ${result.errors.join('\n  ')}`);
    return { where, errors: result.errors };
  }
  return { policy: result.policy };
}

async function policyInForce(cluster: Cluster, file: string | undefined, namespace: string | undefined, stdin?: () => string): Promise<Policy> {
  const read = await readPolicy(cluster, file, namespace, stdin);
  if ('policy' in read) return read.policy;
  throw new InputError(`ConfigMap ${read.where}: invalid policy\n  ${read.errors.join('\n  ')}`);
}

/** The cluster when the ConfigMap's policy is invalid: what the webhook said of it, and the nodes by their own resources. */
async function inspectInvalid(cluster: Cluster, lists: Lists, invalid: { where: string; errors: readonly string[] }, namespace: string | undefined,
  node: string | undefined): Promise<InspectReport> {
  const [nodes, pods, refusal] = await Promise.all([lists.nodes, lists.pods, cluster.policyRefusal(namespace)]);
  if (node !== undefined && !nodes.some((n) => n.name === node)) throw new InputError(`--node ${node}: no such node`);
  return inspectWithoutPolicy({ configMap: invalid.where, errors: invalid.errors, ...(refusal ? { refusal } : {}) }, nodes, pods,
    node === undefined ? {} : { node });
}

const printReport = (report: InspectReport, output: string): string => (output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatInspect(report));

/** `gpu-admission inspect`; exit 1 when the ConfigMap's policy is invalid (the nodes are still shown). */
async function inspectVerb(args: readonly string[], open: OpenCluster, stdin?: () => string): Promise<Outcome> {
  const { values } = parseArgs({
    args: [...args], strict: true,
    options: { ...CLUSTER_OPTIONS, policy: { type: 'string' }, pool: { type: 'string' }, node: { type: 'string' }, details: { type: 'boolean', short: 'd' }, output: { type: 'string', short: 'o', default: 'text' } },
  });
  if (!['text', 'json'].includes(values.output)) throw new InputError(`-o must be text or json, not "${values.output}"`);
  const cluster = await open(values);
  // The nodes and pods are asked for first, so the API server lists them while the policy is read
  // and parsed; when the verb ends without them (no policy, an invalid file, no such pool) their
  // requests are aborted, so nothing waits for lists nobody reads.
  const unread = new AbortController();
  try {
    return await inspectListed(values, cluster, askForLists(cluster, unread.signal), stdin);
  } finally {
    unread.abort();
  }
}

interface InspectFlags {
  readonly policy?: string | undefined;
  readonly 'policy-namespace'?: string | undefined;
  readonly pool?: string | undefined;
  readonly node?: string | undefined;
  readonly details?: boolean | undefined;
  readonly output: string;
}

async function inspectListed(values: InspectFlags, cluster: Cluster, lists: Lists, stdin?: () => string): Promise<Outcome> {
  const read = await readPolicy(cluster, values.policy, values['policy-namespace'], stdin);
  if (!('policy' in read)) {
    const report = await inspectInvalid(cluster, lists, read, values['policy-namespace'], values.node);
    return { stdout: printReport(report, values.output), stderr: '', exitCode: 1 };
  }
  const { policy } = read;
  if (values.pool !== undefined && !policy.pools.some((p) => p.name === values.pool)) {
    throw new InputError(`--pool ${values.pool}: the policy has no such pool (${policy.pools.map((p) => p.name).join(', ')})`);
  }
  const [{ nodes }, pods] = await Promise.all([policyNodes(cluster, policy, lists.nodes), lists.pods]);
  if (values.node !== undefined && !nodes.some((n) => n.name === values.node)) throw new InputError(`--node ${values.node}: no such node`);
  const report = inspect(policy, nodes, pods, {
    ...(values.pool ? { pool: values.pool } : {}), ...(values.node ? { node: values.node } : {}), details: values.details ?? false,
  });
  return { stdout: printReport(report, values.output), stderr: '', exitCode: 0 };
}

/** `gpu-admission policy check FILE --cluster`: the offline checks, then the nodes. */
async function checkVerb(args: readonly string[], open: OpenCluster, stdin?: () => string): Promise<Outcome> {
  const { values, positionals } = parseArgs({ args: [...args], strict: true, allowPositionals: true, options: { ...CLUSTER_OPTIONS, cluster: { type: 'boolean' } } });
  const [file] = positionals;
  if (!file) throw new InputError('policy check: FILE is required');
  const text = readText(file, stdin); // once: standard input cannot be read twice
  const offline = checkPolicy(text, file);
  if (offline.exitCode !== 0 || !values.cluster) return offline;
  const policy = parsePolicy(text);
  if (!policy.ok) return offline;
  const cluster = await open(values);
  const [{ nodes, dra }, inForce] = await Promise.all([policyNodes(cluster, policy.policy), inForceLine(cluster, file, policy.policy.revision, values['policy-namespace'])]);
  const findings = [...checkAgainstCluster(policy.policy, nodes, dra), ...await webhookFindings(cluster, policy.policy)];
  const stdout = `${offline.stdout}${inForce}`;
  if (findings.length === 0) return { ...offline, stdout: `${stdout}${file}: matches the cluster's nodes\n` };
  return { stdout, stderr: `${offline.stderr}${findings.map((f) => `${file}: ${f}\n`).join('')}`, exitCode: 1 };
}

/** The order of the schedulers' mutating webhooks and ours, for policies with kai pools; a finding when they cannot be read. */
async function webhookFindings(cluster: Cluster, policy: Policy): Promise<string[]> {
  if (!policy.pools.some((p) => p.backend === 'kai')) return [];
  const read = await cluster.mutatingWebhooks().catch((e: Error) => e);
  if (read instanceof Error) return [`webhooks: the MutatingWebhookConfigurations could not be read (${read.message}), so the order of KAI's webhook and gpu-admission's is unchecked`];
  return checkWebhookOrder(policy, read);
}

/** Whether the ConfigMap in force holds the file's policy: the same content hash, whatever its key order or comments. */
async function inForceLine(cluster: Cluster, file: string, hash: string, namespace: string | undefined): Promise<string> {
  const where = `ConfigMap ${namespace ?? POLICY_CONFIGMAP.namespace}/${POLICY_CONFIGMAP.name}`;
  const found = await cluster.policyText(namespace);
  if ('missing' in found) return `${file}: not in force: ${found.missing}\n`;
  const live = parsePolicy(found.text, found.resourceVersion);
  if (!live.ok) return `${file}: not in force: ${where} holds an invalid policy\n`;
  return revisionContent(live.policy.revision) === hash ? `${file}: in force: ${where} holds it (revision ${live.policy.revision})\n`
    : `${file}: not in force: ${where} holds another policy (revision ${live.policy.revision})\n`;
}

/** `gpu-admission policy init --from-cluster`. */
async function initVerb(args: readonly string[], open: OpenCluster): Promise<Outcome> {
  const { values } = parseArgs({ args: [...args], strict: true, options: { ...CLUSTER_OPTIONS, 'from-cluster': { type: 'boolean' } } });
  if (!values['from-cluster']) throw new InputError('policy init: --from-cluster is required (it drafts the policy from the nodes)');
  const cluster = await open(values);
  // DRA nodes publish their GPUs in ResourceSlices; a cluster without DRA (or without the right to read it) has none.
  const [nodes, dra] = await Promise.all([cluster.nodes(), cluster.dra().catch(() => undefined)]);
  const { yaml, notes } = draftPolicy(dra ? withDevices(nodes, dra) : nodes);
  return { stdout: yaml, stderr: notes.map((n) => `note: ${n}\n`).join(''), exitCode: 0 };
}

/** `mutate` and `explain` with --cluster: the policy in force and the namespace's real labels. */
async function podVerb(command: 'mutate' | 'explain', args: readonly string[], open: OpenCluster, stdin?: () => string): Promise<Outcome> {
  const { values } = parseArgs({
    args: [...args], strict: true,
    options: { ...CLUSTER_OPTIONS, cluster: { type: 'boolean' }, file: { type: 'string', short: 'f' }, policy: { type: 'string' },
      namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o', default: 'yaml' } },
  });
  if (!values.file) throw new InputError(`${command}: -f FILE is required (- for standard input)`);
  const format = values.output as OutputFormat;
  if (!['yaml', 'json', 'patch'].includes(format)) throw new InputError(`-o must be yaml, json or patch, not "${format}"`);
  const cluster = await open(values);
  const policy = await policyInForce(cluster, values.policy, values['policy-namespace'], undefined);
  // The GPU nodes, as the webhook's node cache holds them: pools none of whose nodes a pod allows are
  // ruled out. Without the right to list nodes, pools are judged by their labels, as offline.
  const read = await cluster.nodes().catch((e: Error) => e);
  const knownNodes = read instanceof Error ? undefined : poolNodeSummary(policy, read.filter(advertisesGpus));
  const unread = read instanceof Error ? `note: the nodes could not be read (${read.message}): pools are judged by their labels only\n` : '';
  const targets = readTargets(readText(values.file, stdin), values.file);
  const names = [...new Set(targets.map((t) => values.namespace ?? t.namespace ?? 'default'))];
  const labels = new Map<string, Record<string, string>>();
  for (const name of names) {
    const found = await cluster.namespaceLabels(name);
    if (found === undefined) throw new InputError(`namespace ${name} does not exist in the cluster`);
    labels.set(name, found);
  }
  // A stored pod's node is named with its pool: the nodes are read only for such pods.
  const placed = command === 'explain' && targets.some((t) => isStoredPod(t.doc, t.pod) && t.pod.spec.nodeName);
  const nodes = placed && !(read instanceof Error) ? read : undefined;
  const inCluster = { policyInForce: values.policy === undefined, ...(nodes ? { nodes } : {}) };
  // One run per namespace, so each target is decided with its own namespace's labels.
  const outcomes = names.map((name) => {
    const mine = targets.filter((t) => (values.namespace ?? t.namespace ?? 'default') === name);
    const options = { policy, namespace: name, namespaceLabels: labels.get(name) ?? {}, cluster: inCluster, ...(knownNodes ? { knownNodes } : {}) };
    return command === 'mutate' ? mutate(mine, options, format) : explain(mine, options);
  });
  return {
    stdout: outcomes.map((o) => o.stdout).join(format === 'yaml' && command === 'mutate' ? '---\n' : ''),
    stderr: unread + outcomes.map((o) => o.stderr).join(''),
    exitCode: Math.max(...outcomes.map((o) => o.exitCode)) as Outcome['exitCode'],
  };
}

/** The cluster verbs, or undefined when `argv` is an offline command. */
export function clusterCommand(argv: readonly string[]): ((open: OpenCluster, stdin?: () => string) => Promise<Outcome>) | undefined {
  const [command, ...rest] = argv;
  if (command === 'inspect') return (open, stdin) => inspectVerb(rest, open, stdin);
  if (command === 'policy' && rest[0] === 'init') return (open) => initVerb(rest.slice(1), open);
  if (command === 'policy' && rest[0] === 'check' && rest.includes('--cluster')) return (open, stdin) => checkVerb(rest.slice(1), open, stdin);
  if ((command === 'mutate' || command === 'explain') && rest.includes('--cluster')) return (open, stdin) => podVerb(command, rest, open, stdin);
  return undefined;
}
