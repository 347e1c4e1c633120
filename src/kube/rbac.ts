import { POLICY_LOCATION } from './configmap-watch.ts';

/** One RBAC rule the webhook needs, with the reason for each verb (for docs/operators.md and the manifests). */
export interface RbacRule {
  /** `Role` in the webhook's namespace, or `ClusterRole` for cluster-scoped resources. */
  readonly kind: 'Role' | 'ClusterRole';
  readonly namespace?: string;
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
  readonly why: Readonly<Record<string, string>>;
}

/**
 * Everything the webhook's ServiceAccount needs — nothing more. The /mutate and /validate-policy
 * webhooks need no RBAC at all: the API server sends them the objects. `get` is not needed on
 * anything: the ConfigMap and Namespaces are read only through list + watch.
 */
export function webhookRbac(location = POLICY_LOCATION): readonly RbacRule[] {
  return [
    {
      kind: 'Role',
      namespace: location.namespace,
      apiGroups: [''],
      resources: ['configmaps'],
      // Works for list and watch because every request carries fieldSelector=metadata.name=<name>;
      // without that selector the API server would refuse them (RBAC docs: "Referring to resources").
      resourceNames: [location.name],
      verbs: ['list', 'watch'],
      why: {
        list: 'read the policy ConfigMap at start-up, after a 410 Gone and in the periodic relist',
        watch: 'apply policy edits within seconds',
      },
    },
    {
      kind: 'Role',
      namespace: location.namespace,
      apiGroups: ['events.k8s.io'],
      resources: ['events'],
      verbs: ['create', 'patch'],
      why: {
        create: 'record InvalidPolicy and PolicyDeleted Warning Events on the policy ConfigMap',
        patch: 'count a repeated Event in its series instead of writing a new one',
      },
    },
    {
      kind: 'ClusterRole',
      apiGroups: [''],
      resources: ['namespaces'],
      verbs: ['list', 'watch'],
      why: {
        list: 'fill the namespace-label cache (AdmissionReviews do not carry namespace labels)',
        watch: 'keep it current as namespaces and their labels change',
      },
    },
    {
      kind: 'ClusterRole',
      apiGroups: [''],
      resources: ['nodes'],
      verbs: ['list', 'watch'],
      why: {
        list: 'fill the GPU node cache (--node-watch): pools without a Ready node, gpu_admission_pool_nodes',
        watch: 'keep it current as nodes join, leave and change readiness',
      },
    },
  ];
}
