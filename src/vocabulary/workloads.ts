// Where each kind keeps its pod templates: the one table the workload webhook, its generated
// matchConditions and the CLI read. Adding a kind is one row. Sources, path by path, are in
// docs/workloads.md (Kubernetes API types, Kubeflow training-operator v1.9.0, KubeRay v1.7.0,
// LeaderWorkerSet v0.10.0, JobSet v0.12.0).

/**
 * A kind that holds pod templates. A template path is dot-separated from the object's root;
 * `*` stands for every value of a map (Kubeflow's replica specs by role), `[]` for every item of
 * a list (Ray's worker groups, JobSet's replicated jobs).
 */
export interface WorkloadKind {
  readonly group: string;
  readonly versions: readonly string[];
  readonly kind: string;
  /** The plural resource name, as webhook rules name it. */
  readonly resource: string;
  readonly templates: readonly string[];
}

const kubeflow = (kind: string, resource: string, field: string, versions: readonly string[] = ['v1']): WorkloadKind =>
  ({ group: 'kubeflow.org', versions, kind, resource, templates: [`spec.${field}.*.template`] });

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { group: 'apps', versions: ['v1'], kind: 'Deployment', resource: 'deployments', templates: ['spec.template'] },
  { group: 'apps', versions: ['v1'], kind: 'StatefulSet', resource: 'statefulsets', templates: ['spec.template'] },
  { group: 'apps', versions: ['v1'], kind: 'DaemonSet', resource: 'daemonsets', templates: ['spec.template'] },
  { group: 'apps', versions: ['v1'], kind: 'ReplicaSet', resource: 'replicasets', templates: ['spec.template'] },
  { group: '', versions: ['v1'], kind: 'ReplicationController', resource: 'replicationcontrollers', templates: ['spec.template'] },
  { group: '', versions: ['v1'], kind: 'PodTemplate', resource: 'podtemplates', templates: ['template'] },
  { group: 'batch', versions: ['v1'], kind: 'Job', resource: 'jobs', templates: ['spec.template'] },
  { group: 'batch', versions: ['v1'], kind: 'CronJob', resource: 'cronjobs', templates: ['spec.jobTemplate.spec.template'] },
  kubeflow('PyTorchJob', 'pytorchjobs', 'pytorchReplicaSpecs'),
  kubeflow('TFJob', 'tfjobs', 'tfReplicaSpecs'),
  // training-operator's v1 and mpi-operator's v2beta1 share the CRD name mpijobs.kubeflow.org
  // (a cluster serves one of them) and the field.
  kubeflow('MPIJob', 'mpijobs', 'mpiReplicaSpecs', ['v1', 'v2beta1']),
  kubeflow('XGBoostJob', 'xgboostjobs', 'xgbReplicaSpecs'),
  kubeflow('PaddleJob', 'paddlejobs', 'paddleReplicaSpecs'),
  kubeflow('JAXJob', 'jaxjobs', 'jaxReplicaSpecs'),
  { group: 'ray.io', versions: ['v1'], kind: 'RayCluster', resource: 'rayclusters',
    templates: ['spec.headGroupSpec.template', 'spec.workerGroupSpecs[].template'] },
  { group: 'ray.io', versions: ['v1'], kind: 'RayJob', resource: 'rayjobs',
    templates: ['spec.rayClusterSpec.headGroupSpec.template', 'spec.rayClusterSpec.workerGroupSpecs[].template', 'spec.submitterPodTemplate'] },
  { group: 'ray.io', versions: ['v1'], kind: 'RayService', resource: 'rayservices',
    templates: ['spec.rayClusterConfig.headGroupSpec.template', 'spec.rayClusterConfig.workerGroupSpecs[].template'] },
  { group: 'leaderworkerset.x-k8s.io', versions: ['v1'], kind: 'LeaderWorkerSet', resource: 'leaderworkersets',
    templates: ['spec.leaderWorkerTemplate.leaderTemplate', 'spec.leaderWorkerTemplate.workerTemplate'] },
  { group: 'jobset.x-k8s.io', versions: ['v1alpha2'], kind: 'JobSet', resource: 'jobsets', templates: ['spec.replicatedJobs[].template.spec.template'] },
];

/** The row of a kind, by API group and kind (as an AdmissionReview's request.kind names them). */
export function workloadKind(group: string, kind: string): WorkloadKind | undefined {
  return WORKLOAD_KINDS.find((w) => w.group === group && w.kind === kind);
}

/** The row of a document, by its apiVersion (`group/version`, or `v1` for the core group) and kind. */
export function workloadKindOf(apiVersion: unknown, kind: unknown): WorkloadKind | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const slash = apiVersion.lastIndexOf('/');
  return workloadKind(slash < 0 ? '' : apiVersion.slice(0, slash), kind);
}

/** One pod template found in an object, with the path that names it in messages. */
export interface FoundTemplate {
  /** e.g. `spec.template`, `spec.pytorchReplicaSpecs.Worker.template`, `spec.workerGroupSpecs[1].template`. */
  readonly path: string;
  /** The path as keys, to read or write the template in a copy of the object. */
  readonly keys: readonly (string | number)[];
  readonly template: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Splits `spec.workerGroupSpecs[].template` into `spec`, `workerGroupSpecs`, `[]`, `template`. */
export function templateSegments(path: string): string[] {
  return path.split('.').flatMap((s) => (s.endsWith('[]') ? [s.slice(0, -2), '[]'] : [s]));
}

/**
 * Every pod template of an object of this kind that is there (optional ones may be absent;
 * a template that is not an object is skipped: the API server's validation owns that).
 */
export function podTemplates(kind: WorkloadKind, object: unknown): FoundTemplate[] {
  const found: FoundTemplate[] = [];
  const walk = (node: unknown, segments: readonly string[], keys: readonly (string | number)[]): void => {
    const [segment, ...rest] = segments;
    if (segment === undefined) {
      if (isObject(node)) found.push({ path: formatPath(keys), keys, template: node });
      return;
    }
    if (segment === '[]') {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, rest, [...keys, i]));
    } else if (segment === '*') {
      if (isObject(node)) for (const key of Object.keys(node).sort()) walk(node[key], rest, [...keys, key]);
    } else if (isObject(node)) {
      walk(node[segment], rest, [...keys, segment]);
    }
  };
  for (const path of kind.templates) walk(object, templateSegments(path), []);
  return found;
}

function formatPath(keys: readonly (string | number)[]): string {
  return keys.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? key : `${out}.${key}`), '');
}
