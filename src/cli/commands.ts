import fjp from 'fast-json-patch';
import type { ClusterNode } from '../cluster/model.ts';
import { stringify } from 'yaml';
import { analyse, chosenPools, decide, decideAnalysed, type Analysis, type DecideContext } from '../engine/decide.ts';
import type { Decision } from '../engine/decision.ts';
import { describeContainer } from '../engine/message.ts';
import { parsePolicy } from '../policy/parse.ts';
import { policyDeviceClasses } from '../policy/dra.ts';
import { kueueObjects } from '../cluster/kueue.ts';
import { policySchema } from '../policy/schema.ts';
import { policyWarnings } from '../policy/warnings.ts';
import type { Policy } from '../policy/types.ts';
import type { Target } from './input.ts';
import type { KnownNodes } from '../engine/constraints.ts';
import { asNewPod, explainDecided, isStoredPod, notDecidedLine, placement, type StoredContext } from './stored.ts';

/** What a command prints and how it exits: 0 fine, 1 denied / invalid policy, 2 unusable input. */
export interface Outcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: 0 | 1 | 2;
}

export type OutputFormat = 'yaml' | 'json' | 'patch';

export interface PodOptions {
  readonly policy: Policy;
  /** The pools' nodes (with --cluster), which rule pools out as the webhook's node cache does. */
  readonly knownNodes?: KnownNodes;
  readonly namespace?: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Read from a cluster (--cluster): whether the policy is the one in force there, and its nodes when read. */
  readonly cluster?: { readonly policyInForce: boolean; readonly nodes?: readonly ClusterNode[] };
}

function contextFor(target: Target, options: PodOptions): DecideContext {
  const name = options.namespace ?? target.namespace ?? 'default';
  return { policy: options.policy, namespace: { name, labels: options.namespaceLabels }, ...(options.knownNodes ? { knownNodes: options.knownNodes } : {}) };
}

/** `gpu-admission mutate`: the objects as the webhook would leave them, or the JSON Patch. */
export function mutate(targets: readonly Target[], options: PodOptions, format: OutputFormat): Outcome {
  // One output per input document: a workload's templates are written back into the same copy.
  const out = new Map<number, { doc: Record<string, unknown>; current: Record<string, unknown>; denied: boolean }>();
  const errors: string[] = [];
  for (const target of targets) {
    const entry = out.get(target.document) ?? { doc: target.doc, current: target.doc, denied: false };
    out.set(target.document, entry);
    const decision = decide(target.pod, contextFor(target, options));
    switch (decision.kind) {
      case 'deny':
        errors.push(`${target.label}: denied: ${decision.message}`);
        entry.denied = true;
        break;
      case 'patch':
        errors.push(...decision.warnings.map((w) => `Warning: ${target.label}: ${w}`));
        entry.current = target.withPod(decision.pod, entry.current);
        break;
      case 'allow':
        errors.push(...decision.warnings.map((w) => `Warning: ${target.label}: ${w}`));
        break;
      case 'not-applicable':
        break;
    }
  }
  // A denied object is not printed: the webhook would not let it be created. Patches keep their
  // places (null for a denied document), so the nth patch is still the nth document's.
  const objects = format === 'patch'
    ? [...out.values()].map(({ doc, current, denied }) => (denied ? null : fjp.compare(doc, current)))
    : [...out.values()].filter((e) => !e.denied).map(({ current }) => current);
  const denied = errors.some((e) => e.includes(': denied: '));
  return { stdout: render(objects, format), stderr: lines(errors), exitCode: denied ? 1 : 0 };
}

function render(objects: readonly unknown[], format: OutputFormat): string {
  if (objects.length === 0) return '';
  if (format === 'yaml') return objects.map(kubectlYaml).join('---\n');
  const value = objects.length === 1 ? objects[0] : objects;
  return `${JSON.stringify(value, null, 2)}\n`;
}

const lines = (items: readonly string[]): string => items.map((l) => `${l}\n`).join('');

/**
 * `gpu-admission explain`: for each pool, whether it can serve the pod and why not; then what
 * mutate does. A pod read back from the cluster is not admitted again: its decision is explained.
 */
export function explain(targets: readonly Target[], options: PodOptions): Outcome {
  const report: string[] = [];
  let denied = false;
  for (const target of targets) {
    const context = contextFor(target, options);
    if (isStoredPod(target.doc, target.pod)) {
      const stored = explainStored(target, context, options);
      report.push(...stored.lines);
      denied ||= stored.denied;
      continue;
    }
    const analysis = analyse(target.pod, context);
    const decision = decideAnalysed(target.pod, analysis, context.policy);
    denied ||= decision.kind === 'deny';
    report.push(`${target.label} in namespace ${context.namespace.name} (policy ${options.policy.revision})`, ...verdicts(analysis));
    report.push(...outcome(decision).map((line) => `  ${line}`));
  }
  return { stdout: lines(report), stderr: '', exitCode: denied ? 1 : 0 };
}

/** A stored pod: its recorded decision and node; without one, what a new pod like it would get, so labelled. */
function explainStored(target: Target, context: DecideContext, options: PodOptions): { lines: string[]; denied: boolean } {
  const stored: StoredContext = {
    policy: options.policy,
    policyName: options.cluster?.policyInForce ? 'the policy in force' : 'the policy used here',
    ...(options.cluster ? { namespaceLabels: options.namespaceLabels } : {}),
    ...(options.cluster?.nodes ? { nodes: options.cluster.nodes } : {}),
  };
  const header = `${target.label} in namespace ${context.namespace.name}, as stored (policy ${options.policy.revision})`;
  const decided = explainDecided(target.pod, stored);
  if (decided) return { lines: [header, ...decided.lines.map((l) => `  ${l}`)], denied: decided.exitCode === 1 };
  const fresh = asNewPod(target.pod);
  const analysis = analyse(fresh, context);
  const decision = decideAnalysed(fresh, analysis, context.policy);
  return {
    lines: [header, `  ${notDecidedLine(context.namespace.name, stored.namespaceLabels)}`, ...placement(target.pod, stored).map((l) => `  ${l}`),
      '  what gpu-admission would decide now for a new pod like it (without spec.nodeName):',
      ...verdicts(analysis).map((l) => `  ${l}`), ...outcome(decision).map((l) => `    ${l}`)],
    denied: decision.kind === 'deny',
  };
}

/** Each pool's verdict, as the analysis found it. */
function verdicts(analysis: Analysis): string[] {
  switch (analysis.kind) {
    case 'problems':
    case 'no-gpu':
      return [];
    case 'natives': {
      const accepted = new Set(analysis.accepted.map((p) => p.name));
      return [...analysis.containers.map((c) => `  ${describeContainer(c)} (native: kept as written)`),
        ...analysis.verdicts.map(({ pool, reason }) => (reason === undefined
          ? `  pool ${pool.name}: takes it${accepted.has(pool.name) ? '  <- chosen' : ' (another scheduler\'s pools were chosen)'}`
          : `  pool ${pool.name}: ruled out: ${reason}`))];
    }
    case 'pools': {
      const chosen = new Set(chosenPools(analysis.outcomes));
      return [...analysis.gpuContainers.map((c) => `  ${describeContainer(c)}`), ...analysis.outcomes.map((o) => (o.ok
        ? `  pool ${o.plan.pool.name}: can serve: ${summarise(o.plan.containers)}${chosen.has(o.plan.pool.name) ? '  <- chosen' : ''}`
        : `  pool ${o.pool.name}: ruled out: ${o.reason}`))];
    }
  }
}

/** What mutate does with the pod, in one line, and its warnings. */
function outcome(decision: Decision): string[] {
  switch (decision.kind) {
    case 'not-applicable': return ['no GPU request: left alone'];
    case 'deny': return [`denied: ${decision.message}`];
    case 'allow': return [decision.warnings.length > 0 ? 'allowed unchanged' : 'nothing to change', ...decision.warnings.map((w) => `warning: ${w}`)];
    case 'patch': return [`routed to ${decision.record.pools.join(', ')} (${decision.record.backend})`
      + `${decision.record.scheduler ? `, scheduler ${decision.record.scheduler}` : ''}`, ...decision.warnings.map((w) => `warning: ${w}`)];
  }
}

function summarise(containers: ReadonlyMap<string, { resources: Readonly<Record<string, number>>; annotations?: Readonly<Record<string, string>> }>): string {
  // A share asked by pod annotations (KAI's gpu-fraction) is shown as what it writes there.
  const annotated = (t: { annotations?: Readonly<Record<string, string>> }): string => (t.annotations
    ? ` + pod annotations {${Object.entries(t.annotations).map(([k, v]) => `${k}: ${v}`).join(', ')}}` : '');
  return [...containers].map(([name, t]) =>
    `${name} {${Object.entries(t.resources).map(([r, v]) => `${r}: ${v}`).join(', ')}}${annotated(t)}`).join(', ');
}

/** YAML as kubectl reads it (YAML 1.1: `on`, `yes` quoted, so they stay strings). */
function kubectlYaml(object: unknown): string {
  return stringify(object, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' });
}

/** `gpu-admission policy check FILE`. */
export function checkPolicy(text: string, file: string): Outcome {
  const result = parsePolicy(text);
  if (result.ok) {
    const { policy } = result;
    const warnings = policyWarnings(policy).map((w) => `warning: ${w}`);
    // Unparsed, the revision is the content hash: the webhook's revision of this policy ends with it (`<resourceVersion>-<hash>`).
    return { stdout: `${file}: valid (content hash ${policy.revision}, ${policy.pools.length} pools: ${policy.pools.map((p) => p.name).join(', ')})\n`,
      stderr: lines(warnings), exitCode: 0 };
  }
  return { stdout: '', stderr: `${file}: invalid policy\n${lines(result.errors.map((e) => `  ${e}`))}`, exitCode: 1 };
}

/** `gpu-admission policy deviceclasses FILE`: the DeviceClasses its dra pools ask, as YAML to apply once. */
export function printDeviceClasses(text: string, file: string): Outcome {
  const result = parsePolicy(text);
  if (!result.ok) return { stdout: '', stderr: `${file}: invalid policy\n${lines(result.errors.map((e) => `  ${e}`))}`, exitCode: 1 };
  const classes = policyDeviceClasses(result.policy);
  if (classes.length === 0) return { stdout: '', stderr: `${file}: no pool has backend dra, so no DeviceClass is needed\n`, exitCode: 0 };
  const header = `# DeviceClasses for the dra pools of ${file} (gpu-admission policy deviceclasses). Apply once, before the policy:\n`
    + '#   gpu-admission policy deviceclasses FILE | kubectl apply -f -\n';
  return { stdout: header + classes.map((c) => stringify(c, { lineWidth: 0 })).join('---\n'), stderr: '', exitCode: 0 };
}

/**
 * `gpu-admission policy kueue [FILE] [--config]`: the ResourceFlavors and ClusterQueue skeleton
 * to apply, or (--config) the Kueue Configuration's transformations to merge; what Kueue cannot
 * see on stderr.
 */
export function printKueue(policy: Policy, source: string, config: boolean): Outcome {
  const objects = kueueObjects(policy);
  const stderr = lines(objects.notes.map((n) => `note: ${n}`));
  if (config) {
    const header = `# Kueue Configuration for ${source} (gpu-admission policy kueue --config): merge resources.transformations\n`
      + '# into the manager\'s configuration (Kueue v0.16 or later for multiplyBy), then restart it.\n';
    return { stdout: header + kubectlYaml(objects.configuration), stderr, exitCode: 0 };
  }
  const header = `# Kueue objects for ${source} (gpu-admission policy kueue): one ResourceFlavor per pool, and a ClusterQueue\n`
    + '# skeleton whose zero quotas keep Kueue off pools that must refuse. Scale the quotas, then:\n'
    + '#   gpu-admission policy kueue FILE | kubectl apply -f -\n';
  const docs = [...objects.flavors, objects.clusterQueue];
  return { stdout: header + docs.map(kubectlYaml).join('---\n'), stderr, exitCode: 0 };
}

export function printSchema(): Outcome {
  return { stdout: `${JSON.stringify(policySchema, null, 2)}\n`, stderr: '', exitCode: 0 };
}

