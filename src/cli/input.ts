import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { asPod } from '../admission/decode.ts';
import type { Pod } from '../engine/pod.ts';
import { podTemplates, workloadKindOf, WORKLOAD_KINDS } from '../vocabulary/workloads.ts';

/** Something in an input file that holds a pod: a Pod, a workload's pod template, or a review. */
export interface Target {
  /** The whole document, as read. */
  readonly doc: Record<string, unknown>;
  /** Which document of the input it came from: a workload with several templates gives several targets. */
  readonly document: number;
  /** `Kind/name` for messages, with the template's path for a workload (`PyTorchJob/train spec.pytorchReplicaSpecs.Worker.template`). */
  readonly label: string;
  readonly pod: Pod;
  readonly namespace?: string;
  /** Writes a (mutated) pod back into a copy of `into` (default: the document as read). */
  readonly withPod: (pod: Pod, into?: Record<string, unknown>) => Record<string, unknown>;
}

/** Input the CLI cannot use: exit code 2. */
export class InputError extends Error {
  readonly code = 'GA_CLI_INPUT';
}

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
    targets.push(...toTargets(value, `${source}: document ${i + 1}`, i));
  });
  if (targets.length === 0) throw new InputError(`${source}: no Pod, workload or AdmissionReview found`);
  return targets;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(obj: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((o, k) => (isObject(o) || Array.isArray(o) ? (o as Record<string | number, unknown>)[k] : undefined), obj);
}

function requirePodSpec(spec: unknown, where: string): void {
  if (!isObject(spec) || !Array.isArray(spec.containers)) throw new InputError(`${where}: has no pod spec with containers`);
}

/** The same shape checks as the webhook's (string annotations, named containers, …). */
function checkedPod(pod: Record<string, unknown>, where: string): Pod {
  return asPod({ ...pod, kind: 'Pod' }, (why) => new InputError(`${where}: ${why}`));
}

function toTargets(doc: unknown, where: string, document: number): Target[] {
  if (!isObject(doc)) throw new InputError(`${where}: not an object`);
  const kind = String(doc.kind ?? '');
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const label = `${kind}/${String(meta.name ?? meta.generateName ?? '?')}`;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const inNamespace = namespace ? { namespace } : {};
  if (kind === 'Pod') {
    requirePodSpec(doc.spec, where);
    return [{ doc, document, label, pod: checkedPod(doc, where), ...inNamespace, withPod: (pod) => pod as unknown as Record<string, unknown> }];
  }
  if (kind === 'AdmissionReview') return reviewTarget(doc, where, document);
  const workload = workloadKindOf(doc.apiVersion, kind);
  if (!workload) {
    const known = WORKLOAD_KINDS.some((w) => w.kind === kind);
    throw new InputError(known
      ? `${where}: ${kind} of apiVersion ${String(doc.apiVersion)} is not one gpu-admission knows (${WORKLOAD_KINDS.filter((w) => w.kind === kind).map((w) => w.versions.map((v) => (w.group ? `${w.group}/${v}` : v)).join(', ')).join(', ')})`
      : `${where}: kind "${kind}" holds no pod (expected Pod, AdmissionReview or a workload: ${WORKLOAD_KINDS.map((w) => w.kind).join(', ')})`);
  }
  const templates = podTemplates(workload, doc);
  if (templates.length === 0) throw new InputError(`${where}: ${kind} has no pod template at ${workload.templates.join(' or ')}`);
  // A kind with one fixed template (a Deployment) is named as before; others name the template too.
  const single = workload.templates.length === 1 && !/[*[]/.test(workload.templates[0] ?? '');
  return templates.map(({ path, keys, template }) => {
    requirePodSpec(template.spec, `${where}: ${path}`);
    const pod = checkedPod({ apiVersion: 'v1', kind: 'Pod', metadata: template.metadata ?? {}, spec: template.spec }, `${where}: ${path}`);
    const withPod = (mutated: Pod, into: Record<string, unknown> = doc): Record<string, unknown> => {
      const copy = structuredClone(into);
      const target = get(copy, keys) as Record<string, unknown>;
      target.metadata = mutated.metadata;
      target.spec = mutated.spec;
      return copy;
    };
    return { doc, document, label: single ? label : `${label} ${path}`, pod, ...inNamespace, withPod };
  });
}

function reviewTarget(doc: Record<string, unknown>, where: string, document: number): Target[] {
  const request = doc.request;
  if (!isObject(request) || !isObject(request.object)) throw new InputError(`${where}: AdmissionReview has no request.object`);
  const object = request.object;
  const namespace = typeof request.namespace === 'string' ? request.namespace : undefined;
  const meta = isObject(object.metadata) ? object.metadata : {};
  // The review's namespace wins over the object's (the API server fills it in on CREATE).
  const placed = namespace ? { ...object, metadata: { ...meta, namespace } } : object;
  if (object.kind !== 'Pod') return toTargets(placed, `${where}: request.object`, document);
  requirePodSpec(object.spec, `${where}: request.object`);
  return [{
    doc: object, document, label: `Pod/${String(meta.name ?? meta.generateName ?? '?')}`, pod: checkedPod(object, `${where}: request.object`),
    ...(namespace ? { namespace } : {}), withPod: (p) => p as unknown as Record<string, unknown>,
  }];
}
