// The ValidatingWebhookConfiguration of the workload webhooks, generated from the workload table
// so that a kind added there is sent, filtered and compared the same way everywhere:
// manifests/base/validating-workloads.yaml and the chart's files/workload-webhooks.yaml are this
// module's output (`npm run manifests`; test/admission/webhook-configuration.test.ts keeps them equal).
import { stringify } from 'yaml';
import { GPU_RESOURCE_PREFIXES, NAMESPACE_OPT_IN } from '../vocabulary/names.ts';
import { WORKLOAD_KINDS, templateSegments, type WorkloadKind } from '../vocabulary/workloads.ts';

// The pod webhook's matchConditions in manifests/base and the chart are written by hand;
// test/admission/webhook-configuration.test.ts checks they hold each of GPU_RESOURCE_PREFIXES.
export { GPU_RESOURCE_PREFIXES } from '../vocabulary/names.ts';
/**
 * Annotation prefixes that make a pod the pod webhook's business: KAI's share annotations
 * (gpu-fraction, gpu-fraction-num-devices, gpu-fraction-container-name, gpu-memory) ask for GPUs too.
 */
export const GPU_ANNOTATION_PREFIXES = ['gpu-admission.io/', 'ALIYUN_COM_GPU_MEM_', 'hami.io/', 'gpu-fraction', 'gpu-memory'] as const;
/** The portable vocabulary alone: what no node advertises, so it must never be stored untranslated. */
export const GENERIC_RESOURCE_PREFIXES = ['gpu-admission.io/'] as const;

const startsWithAny = (v: string, prefixes: readonly string[]): string => prefixes.map((p) => `${v}.startsWith('${p}')`).join(' || ');

/** CEL: the pod or pod template `t` asks a resource with one of the prefixes (or carries such an annotation). */
function mentions(t: string, resources: readonly string[], annotations: readonly string[]): string {
  const asks = (list: string): string => `(has(${t}.spec.${list}) ? ${t}.spec.${list} : []).exists(c, has(c.resources) && (`
    + `(has(c.resources.limits) && c.resources.limits.exists(k, ${startsWithAny('k', resources)})) || `
    + `(has(c.resources.requests) && c.resources.requests.exists(k, ${startsWithAny('k', resources)}))))`;
  const annotated = annotations.length === 0 ? ''
    : ` || (has(${t}.metadata) && has(${t}.metadata.annotations) && ${t}.metadata.annotations.exists(k, ${startsWithAny('k', annotations)}))`;
  return `(has(${t}.spec) && (${asks('initContainers')} || ${asks('containers')})${annotated})`;
}

/**
 * CEL: the list of the templates at one path from `root`, absent ones left out. A path may
 * cross one map (`*`) or list (`[]`): CEL has no flatten, and no kind of the table needs two.
 */
function templatesAt(root: string, path: string): string {
  if (path === '') return `[${root}]`;
  const segments = templateSegments(path);
  const at = segments.findIndex((s) => s === '*' || s === '[]');
  if (segments.slice(at + 1).some((s) => s === '*' || s === '[]')) throw new Error(`${path}: only one * or [] per template path`);
  const guard = (expr: string, fields: readonly string[]): string[] =>
    fields.map((_, i) => `has(${[expr, ...fields.slice(0, i + 1)].join('.')})`);
  if (at < 0) return `(${guard(root, segments).join(' && ')} ? [${[root, ...segments].join('.')}] : [])`;
  const outer = segments.slice(0, at);
  const inner = segments.slice(at + 1);
  const list = [root, ...outer].join('.');
  const item = segments[at] === '*' ? (v: string): string => `${list}[${v}]` : (v: string): string => v;
  const v = segments[at] === '*' ? 'r' : 'i';
  const picked = `${list}.filter(${v}, ${guard(item(v), inner).join(' && ')}).map(${v}, ${[item(v), ...inner].join('.')})`;
  return outer.length === 0 ? picked : `(${guard(root, outer).join(' && ')} ? ${picked} : [])`;
}

/** Kinds grouped by where they keep templates, so each shape is written once; the Pod is its own template (''). */
function shapes(withPods: boolean): { kinds: string[]; paths: readonly string[] }[] {
  const groups = new Map<string, { kinds: string[]; paths: readonly string[] }>();
  if (withPods) groups.set('', { kinds: ['Pod'], paths: [''] });
  for (const w of WORKLOAD_KINDS) {
    const key = w.templates.join('|');
    const group = groups.get(key) ?? { kinds: [], paths: w.templates };
    group.kinds.push(w.kind);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** CEL: every pod template of `root` (the Pod itself for a Pod), chosen by the kind under review. */
function templates(root: string, withPods: boolean): string {
  const branches = shapes(withPods).map(({ kinds, paths }) => {
    const test = kinds.length === 1 ? `request.kind.kind == '${kinds[0]}'` : `request.kind.kind in [${kinds.map((k) => `'${k}'`).join(', ')}]`;
    return `${test} ? ${paths.map((p) => templatesAt(root, p)).join(' + ')}`;
  });
  return `(${branches.join('\n  : ')}\n  : [])`;
}

/** CEL: the object (a Pod or a workload of the table) has a template that mentions these prefixes. */
export function mentionsCondition(withPods: boolean, resources: readonly string[], annotations: readonly string[]): string {
  return `${templates('object', withPods)}.exists(t, ${mentions('t', resources, annotations)})`;
}

/**
 * CEL: not an UPDATE, or an UPDATE that brings a pod template the old object did not have: a
 * change of replicas, labels, suspend or status, or a template only moved, is not sent.
 */
export function templateChangedCondition(withPods: boolean): string {
  // Membership, not list equality: CEL iterates maps in no fixed order (Kubeflow's replica
  // specs by role), and a worker group inserted before others moves them.
  return `request.operation != 'UPDATE'\n|| ${templates('object', withPods)}\n.exists(t, !(t in ${templates('oldObject', withPods)}))`;
}

/**
 * CEL: not made by a controller of the table (a Deployment's ReplicaSet, a CronJob's Job, a
 * JobSet's Jobs, a RayJob's RayCluster, a ReplicaSet's pods): those were checked as their owner's
 * templates. An object a controller outside the table made (a KServe InferenceService's
 * Deployment) is still sent. `podsAlways` keeps every Pod, whoever made it.
 */
export function notMadeByTableControllerCondition(podsAlways: boolean): string {
  const kinds = WORKLOAD_KINDS.map((w) => `'${w.kind}'`).join(', ');
  return `${podsAlways ? "request.kind.kind == 'Pod'\n|| " : ''}!has(object.metadata.ownerReferences)\n`
    + `|| !object.metadata.ownerReferences.exists(o, has(o.controller) && o.controller && o.kind in [${kinds}])`;
}

type Obj = Record<string, unknown>;

/** Webhook rules for the table's kinds (CREATE, UPDATE), one rule per API group and versions; pods (CREATE) first when asked. */
function rules(withPods: boolean): Obj[] {
  const out: Obj[] = [];
  if (withPods) out.push({ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' });
  const byGroup = new Map<string, WorkloadKind[]>();
  for (const w of WORKLOAD_KINDS) {
    const key = `${w.group} ${w.versions.join(',')}`;
    byGroup.set(key, [...(byGroup.get(key) ?? []), w]);
  }
  for (const kinds of byGroup.values()) {
    out.push({
      operations: ['CREATE', 'UPDATE'], apiGroups: [kinds[0]!.group], apiVersions: [...kinds[0]!.versions],
      resources: kinds.map((k) => k.resource), scope: 'Namespaced',
    });
  }
  return out;
}

/** One workload webhook as the chart keeps it: everything but the clientConfig and the own-namespace exclusion. */
export interface WorkloadWebhook {
  readonly name: string;
  readonly path: string;
  readonly rules: Obj[];
  readonly namespaceSelector: { readonly matchExpressions: Obj[] };
  readonly matchConditions: { readonly name: string; readonly expression: string }[];
}

/** Namespaces the webhook never sees (besides its own, which depends on the install). */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-node-lease'] as const;

export function workloadWebhooks(): WorkloadWebhook[] {
  const optIn = (values: string[]): Obj => ({ key: NAMESPACE_OPT_IN.key, operator: 'In', values });
  return [
    {
      name: 'workloads.gpu-admission.io',
      path: '/validate-workloads',
      rules: rules(false),
      namespaceSelector: { matchExpressions: [optIn([NAMESPACE_OPT_IN.value])] },
      matchConditions: [
        { name: 'not-made-by-a-controller', expression: notMadeByTableControllerCondition(true) },
        { name: 'pod-template-changed', expression: templateChangedCondition(false) },
        { name: 'gpu-templates-only', expression: mentionsCondition(false, GPU_RESOURCE_PREFIXES, GPU_ANNOTATION_PREFIXES) },
      ],
    },
    {
      name: 'audit.gpu-admission.io',
      path: '/audit',
      rules: rules(true),
      namespaceSelector: { matchExpressions: [optIn([NAMESPACE_OPT_IN.audit])] },
      // Each object the author applies is audited once: a Deployment, not also its ReplicaSet
      // and each of its pods; a bare pod, or one of a controller outside the table, is.
      matchConditions: [
        { name: 'not-made-by-a-controller', expression: notMadeByTableControllerCondition(false) },
        { name: 'pod-template-changed', expression: templateChangedCondition(true) },
        { name: 'gpu-only', expression: mentionsCondition(true, GPU_RESOURCE_PREFIXES, GPU_ANNOTATION_PREFIXES) },
      ],
    },
    {
      name: 'not-opted-in.gpu-admission.io',
      path: '/validate-not-opted-in',
      rules: rules(true),
      namespaceSelector: { matchExpressions: [{ key: NAMESPACE_OPT_IN.key, operator: 'NotIn', values: [NAMESPACE_OPT_IN.value, NAMESPACE_OPT_IN.audit] }] },
      matchConditions: [
        { name: 'not-made-by-a-controller', expression: notMadeByTableControllerCondition(true) },
        { name: 'pod-template-changed', expression: templateChangedCondition(true) },
        { name: 'generic-vocabulary-only', expression: mentionsCondition(true, GENERIC_RESOURCE_PREFIXES, []) },
      ],
    },
  ];
}

/** The whole ValidatingWebhookConfiguration for an install in `namespace`, its Service named gpu-admission. */
export function workloadWebhookConfiguration(namespace: string): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'gpu-admission-workloads' },
    webhooks: workloadWebhooks().map((w) => ({
      name: w.name,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      // The pod webhook stays the enforcement point: these only bring its answer forward (or,
      // outside opted-in namespaces, refuse what could never be scheduled), so they fail open.
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
      clientConfig: { service: { name: 'gpu-admission', namespace, path: w.path, port: 443 } },
      rules: w.rules,
      namespaceSelector: { matchExpressions: [...w.namespaceSelector.matchExpressions,
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES, namespace] }] },
      matchConditions: w.matchConditions,
    })),
  };
}

const HEADER = (what: string): string => `# Generated from src/vocabulary/workloads.ts by \`npm run manifests\`: do not edit; ${what}\n`;

/** The generated files, by path from the repository root. */
export function generatedFiles(): Record<string, string> {
  return {
    'manifests/base/validating-workloads.yaml': HEADER('add a kind as a row of the table.')
      + stringify(workloadWebhookConfiguration('gpu-admission'), { lineWidth: 0 }),
    'charts/gpu-admission/files/workload-webhooks.yaml': HEADER('templates/webhooks.yaml adds clientConfig and the release namespace.')
      + stringify({ webhooks: workloadWebhooks() }, { lineWidth: 0 }),
  };
}
