import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { asPod } from '../admission/decode.ts';
import type { Pod } from '../engine/pod.ts';

/** Something in an input file that holds a pod: a Pod, a workload's pod template, or a review. */
export interface Target {
  /** The whole document, as read. */
  readonly doc: Record<string, unknown>;
  /** `Kind/name` for messages. */
  readonly label: string;
  readonly pod: Pod;
  readonly namespace?: string;
  /** Writes a (mutated) pod back into a copy of the document. */
  readonly withPod: (pod: Pod) => Record<string, unknown>;
}

/** Input the CLI cannot use: exit code 2. */
export class InputError extends Error {
  readonly code = 'GA_CLI_INPUT';
}

const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'], StatefulSet: ['spec', 'template'], DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'], ReplicationController: ['spec', 'template'], Job: ['spec', 'template'],
  PodTemplate: ['template'], CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export function readText(file: string, stdin: () => string = () => readFileSync(0, 'utf8')): string {
  try {
    return file === '-' ? stdin() : readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Parses one or more YAML/JSON documents into targets; anything else is an InputError. */
export function readTargets(text: string, source: string): Target[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new InputError(`${source}: not YAML`);
  const targets: Target[] = [];
  docs.forEach((d, i) => {
    if (d.errors.length > 0) throw new InputError(`${source}: document ${i + 1}: ${d.errors[0]?.message.split('\n')[0]}`);
    const value: unknown = d.toJS();
    if (value === null || value === undefined) return;
    targets.push(toTarget(value, `${source}: document ${i + 1}`));
  });
  if (targets.length === 0) throw new InputError(`${source}: no Pod, workload or AdmissionReview found`);
  return targets;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(obj: Record<string, unknown>, path: readonly string[]): unknown {
  return path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), obj);
}

function requirePodSpec(spec: unknown, where: string): void {
  if (!isObject(spec) || !Array.isArray(spec.containers)) throw new InputError(`${where}: has no pod spec with containers`);
}

/** The same shape checks as the webhook's (string annotations, named containers, …). */
function checkedPod(pod: Record<string, unknown>, where: string): Pod {
  return asPod({ ...pod, kind: 'Pod' }, (why) => new InputError(`${where}: ${why}`));
}

function toTarget(doc: unknown, where: string): Target {
  if (!isObject(doc)) throw new InputError(`${where}: not an object`);
  const kind = String(doc.kind ?? '');
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const label = `${kind}/${String(meta.name ?? meta.generateName ?? '?')}`;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  if (kind === 'Pod') {
    requirePodSpec(doc.spec, where);
    return { doc, label, pod: checkedPod(doc, where), ...(namespace ? { namespace } : {}), withPod: (pod) => pod as unknown as Record<string, unknown> };
  }
  if (kind === 'AdmissionReview') return reviewTarget(doc, where);
  const path = TEMPLATE_PATHS[kind];
  if (!path) throw new InputError(`${where}: kind "${kind}" holds no pod (expected Pod, a workload or AdmissionReview)`);
  const template = get(doc, path);
  if (!isObject(template)) throw new InputError(`${where}: ${kind} has no ${path.join('.')}`);
  requirePodSpec(template.spec, `${where}: ${path.join('.')}`);
  const pod = checkedPod({ apiVersion: 'v1', kind: 'Pod', metadata: template.metadata ?? {}, spec: template.spec }, `${where}: ${path.join('.')}`);
  const withPod = (mutated: Pod): Record<string, unknown> => {
    const copy = structuredClone(doc);
    const target = get(copy, path) as Record<string, unknown>;
    target.metadata = mutated.metadata;
    target.spec = mutated.spec;
    return copy;
  };
  return { doc, label, pod, ...(namespace ? { namespace } : {}), withPod };
}

function reviewTarget(doc: Record<string, unknown>, where: string): Target {
  const request = doc.request;
  if (!isObject(request) || !isObject(request.object)) throw new InputError(`${where}: AdmissionReview has no request.object`);
  const pod = request.object;
  if (pod.kind !== 'Pod') throw new InputError(`${where}: AdmissionReview object is a ${String(pod.kind)}, not a Pod`);
  requirePodSpec(pod.spec, `${where}: request.object`);
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const namespace = typeof request.namespace === 'string' ? request.namespace : undefined;
  return {
    doc: pod, label: `Pod/${String(meta.name ?? meta.generateName ?? '?')}`, pod: checkedPod(pod, `${where}: request.object`),
    ...(namespace ? { namespace } : {}), withPod: (p) => p as unknown as Record<string, unknown>,
  };
}
