// `explain` of a pod read back from the API server (`kubectl get pod X -o yaml`): the webhook
// decided it when it was created, so explain that decision (from its gpu-admission.io/decision
// annotation) and where the pod runs, rather than admitting it again — a stored pod carries
// spec.nodeName once scheduled, which a new pod may not.
import { poolsOfNode, type ClusterNode } from '../cluster/model.ts';
import { describeRequest } from '../engine/message.ts';
import type { Container, Pod } from '../engine/pod.ts';
import { podContainers, type GpuRequest } from '../engine/demand.ts';
import { readRecord, type DecisionRecord } from '../engine/record.ts';
import { revisionContent } from '../policy/parse.ts';
import type { Policy } from '../policy/types.ts';
import { ANNOTATION, NAMESPACE_OPT_IN, isReservedAnnotation } from '../vocabulary/names.ts';

/** What a stored pod's explanation is told of its surroundings. */
export interface StoredContext {
  readonly policy: Policy;
  /** `the policy in force` with --cluster, else `the policy used here`. */
  readonly policyName: string;
  /** The namespace's labels, when read from the cluster. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** The cluster's nodes, when read (--cluster): a node's pool is then named. */
  readonly nodes?: readonly ClusterNode[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether a Pod document is one the API server stored: it carries what only the server (uid,
 * creationTimestamp, resourceVersion, status) or the webhook (the decision annotation) writes.
 * A manifest with spec.nodeName alone is a pod still to be created, and is explained as one.
 */
export function isStoredPod(doc: Record<string, unknown>, pod: Pod): boolean {
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  return doc.kind === 'Pod' && (['uid', 'creationTimestamp', 'resourceVersion'].some((k) => meta[k] !== undefined)
    || doc.status !== undefined || pod.metadata?.annotations?.[ANNOTATION.decision] !== undefined);
}

/** The explanation of a stored pod the webhook decided; undefined when it has no decision annotation. */
export function explainDecided(pod: Pod, context: StoredContext): { lines: string[]; exitCode: 0 | 1 } | undefined {
  const read = readRecord(pod.metadata?.annotations ?? {});
  switch (read.kind) {
    case 'absent':
      return undefined;
    case 'malformed':
      return { lines: [`its ${ANNOTATION.decision} annotation is not a decision of gpu-admission: ${read.problem}`, ...placement(pod, context)], exitCode: 1 };
    case 'present': {
      const { record } = read;
      const asked = podContainers(pod).map(({ container }) => containerLine(container, read.requests.get(container.name)));
      return { lines: [decidedLine(record, context), revisionLine(record, context), ...asked.filter((l) => l !== undefined), ...placement(pod, context, record)], exitCode: 0 };
    }
  }
}

function decidedLine(record: DecisionRecord, context: StoredContext): string {
  const gone = record.pools.filter((name) => !context.policy.pools.some((p) => p.name === name));
  return `decided by gpu-admission when it was created: ${record.pools.length === 1 ? 'pool' : 'pools'} ${record.pools.join(', ')} `
    + `(backend ${record.backend}${record.scheduler ? `, scheduler ${record.scheduler}` : ''})`
    + (gone.length > 0 ? `; ${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'} not a pool of ${context.policyName}` : '');
}

/** A revision's content hash: `<resourceVersion>-<hash>` from a ConfigMap, `embedded-<hash>`, or the hash alone. */

function revisionLine(record: DecisionRecord, context: StoredContext): string {
  const now = context.policy.revision;
  if (record.revision === now) return `under policy revision ${record.revision}, the revision of ${context.policyName}`;
  if (revisionContent(record.revision) === revisionContent(now)) return `under policy revision ${record.revision}, the same policy text as ${context.policyName} (revision ${now})`;
  return `under policy revision ${record.revision}; ${context.policyName} is revision ${now}, so a new pod like it may be decided otherwise`;
}

/** The GPU-looking extended resources a container holds (`aliyun.com/gpu-mem: 4`), as stored. */
function held(container: Container): string {
  const limits = container.resources?.limits ?? {};
  return Object.entries(limits).filter(([name]) => name.includes('/')).map(([name, v]) => `${name}: ${String(v)}`).join(', ');
}

function containerLine(container: Container, request: GpuRequest | undefined): string | undefined {
  const holds = held(container);
  if (request) return `container "${container.name}" asked ${describeRequest(request)}; holds ${holds || 'no extended resource'}`;
  return holds ? `container "${container.name}" holds ${holds} (asked natively)` : undefined;
}

/** Where the pod runs: its node and that node's pool (with the cluster's nodes), or that it waits. */
export function placement(pod: Pod, context: StoredContext, record?: DecisionRecord): string[] {
  const node = pod.spec.nodeName;
  const phase = isObject(pod.status) && typeof pod.status.phase === 'string' ? pod.status.phase : undefined;
  if (!node) return [`not on a node yet${phase ? ` (phase ${phase})` : ''}`];
  const where = `runs on node ${node}${phase ? ` (phase ${phase})` : ''}`;
  if (!context.nodes) return [where];
  const found = context.nodes.find((n) => n.name === node);
  if (!found) return [`${where}, which is not among the cluster's nodes now`];
  const pools = poolsOfNode(context.policy, found).map((p) => p.name);
  if (pools.length === 0) return [`${where}, in no pool of ${context.policyName}`];
  const named = record && !pools.some((p) => record.pools.includes(p)) ? ', not a pool its decision named' : '';
  return [`${where}, in ${pools.length === 1 ? 'pool' : 'pools'} ${pools.join(', ')}${named}`];
}

/** Why a stored pod has no decision, as far as can be told. */
export function notDecidedLine(namespace: string, labels: Readonly<Record<string, string>> | undefined): string {
  const head = `not decided by gpu-admission: it has no ${ANNOTATION.decision} annotation`;
  const value = labels?.[NAMESPACE_OPT_IN.key];
  if (labels && value !== NAMESPACE_OPT_IN.value) {
    return `${head}, and namespace ${namespace} is not opted in (label ${NAMESPACE_OPT_IN.key} is ${value === undefined ? 'absent' : `"${value}"`}), so the webhook does not rewrite its pods`;
  }
  return `${head} (its namespace was not opted in when it was created, it was created before the webhook, or the webhook had nothing to rewrite)`;
}

/** The same pod as a new one: without spec.nodeName and what a scheduler or device plugin wrote on it. */
export function asNewPod(pod: Pod): Pod {
  const copy = structuredClone(pod);
  delete copy.spec.nodeName;
  delete copy.status;
  const annotations = copy.metadata?.annotations;
  if (annotations) for (const key of Object.keys(annotations)) if (isReservedAnnotation(key)) delete annotations[key];
  return copy;
}
