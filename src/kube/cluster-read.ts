// Reads what the cluster view needs: Nodes, non-terminated Pods (both paginated, as kubectl
// does), the policy ConfigMap and a namespace's labels. The caller's own credentials: kubectl's
// kubeconfig, never the webhook's ServiceAccount.
import type { AdmissionregistrationV1Api, CoreV1Api, KubeConfig, ResourceV1Api } from '@kubernetes/client-node';
import type { MutatingConfiguration } from '../cluster/webhook-order.ts';
import type { PolicyRefusal } from '../cluster/inspect.ts';
import { toClusterNode, toClusterPod, toDraView, type ClusterNode, type ClusterPod, type DraView } from '../cluster/model.ts';
import { POLICY_CONFIGMAP } from '../vocabulary/names.ts';
import { keptRevision, POLICY_EVENT_REASONS } from './policy-reloader.ts';
import { NODE_LIST, POD_LIST } from './protobuf-list.ts';
import { listRaw, readRaw } from './raw-list.ts';

const PAGE = 500;

async function pages<T>(list: (token: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    out.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return out;
}

interface GeneratedClients {
  readonly core: CoreV1Api;
  readonly resource: ResourceV1Api;
  readonly admission: AdmissionregistrationV1Api;
}

export class ClusterReader {
  readonly #kubeConfig: KubeConfig;
  #generated: Promise<GeneratedClients> | undefined;
  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
  }

  /**
   * client-node's generated clients, loaded on first use: the package's index loads every
   * generated API and model, which inspect's usual reads (nodes, pods, the policy ConfigMap, as
   * plain JSON) do without.
   */
  #clients(): Promise<GeneratedClients> {
    this.#generated ??= import('@kubernetes/client-node').then((k) => ({
      core: this.#kubeConfig.makeApiClient(k.CoreV1Api),
      resource: this.#kubeConfig.makeApiClient(k.ResourceV1Api),
      admission: this.#kubeConfig.makeApiClient(k.AdmissionregistrationV1Api),
    }));
    return this.#generated;
  }

  /** Every MutatingWebhookConfiguration: its name, and each webhook's name and match conditions, in list order. */
  async mutatingWebhooks(): Promise<MutatingConfiguration[]> {
    const { admission } = await this.#clients();
    const items = await pages((token) => admission.listMutatingWebhookConfiguration({ limit: PAGE, ...(token ? { _continue: token } : {}) }));
    return items.map((c) => ({
      name: c.metadata?.name ?? '',
      webhooks: (c.webhooks ?? []).map((w) => ({ name: w.name, matchConditions: (w.matchConditions ?? []).map((m) => ({ name: m.name, expression: m.expression })) })),
    }));
  }

  /** DeviceClasses, ResourceSlices and ResourceClaims (resource.k8s.io/v1), for dra pools. */
  async dra(): Promise<DraView> {
    const at = (token: string | undefined) => ({ limit: PAGE, ...(token ? { _continue: token } : {}) });
    const { resource } = await this.#clients();
    try {
      const [classes, slices, claims] = await Promise.all([
        pages((t) => resource.listDeviceClass(at(t))),
        pages((t) => resource.listResourceSlice(at(t))),
        pages((t) => resource.listResourceClaimForAllNamespaces(at(t))),
      ]);
      return toDraView(classes, slices, claims);
    } catch (err) {
      if ((err as { code?: number }).code === 404) {
        throw new Error('the cluster does not serve resource.k8s.io/v1 (Dynamic Resource Allocation, Kubernetes 1.34 or later), which the policy\'s dra pools need');
      }
      throw err;
    }
  }

  // Nodes and pods are the large lists (20,000 pods): read in Kubernetes' protobuf, only the fields
  // the cluster view reads decoded (plain JSON where the server has no protobuf), not as
  // client-node's model objects, each reduced to the cluster view's fields as its page arrives.
  async nodes(signal?: AbortSignal): Promise<ClusterNode[]> {
    return listRaw(this.#kubeConfig, '/api/v1/nodes', { limit: PAGE }, toClusterNode, signal, NODE_LIST);
  }

  /** Pods that hold or wait for resources (Succeeded and Failed ones are left out by the API server). */
  async pods(signal?: AbortSignal): Promise<ClusterPod[]> {
    const fieldSelector = 'status.phase!=Succeeded,status.phase!=Failed';
    return listRaw(this.#kubeConfig, '/api/v1/pods', { limit: PAGE, fieldSelector }, toClusterPod, signal, POD_LIST);
  }

  /** The policy text in force (the ConfigMap gpu-admission-policy, key policy.yaml), or why there is none. */
  async policyText(namespace: string = POLICY_CONFIGMAP.namespace): Promise<{ text: string; resourceVersion?: string } | { missing: string }> {
    // As plain JSON: inspect's usual reads then load none of client-node's generated code.
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(POLICY_CONFIGMAP.name)}`;
    try {
      const cm = await readRaw(this.#kubeConfig, path) as { data?: Record<string, unknown>; metadata?: { resourceVersion?: unknown } } | null;
      const text = cm?.data?.[POLICY_CONFIGMAP.key];
      if (typeof text !== 'string') return { missing: `ConfigMap ${namespace}/${POLICY_CONFIGMAP.name} has no key ${POLICY_CONFIGMAP.key}` };
      const version = cm?.metadata?.resourceVersion;
      return { text, ...(typeof version === 'string' && version ? { resourceVersion: version } : {}) };
    } catch (err) {
      if ((err as { code?: number }).code === 404) return { missing: `no ConfigMap ${namespace}/${POLICY_CONFIGMAP.name}: the webhook has no policy` };
      throw err;
    }
  }

  /**
   * The newest InvalidPolicy Event the webhook recorded on the policy ConfigMap, or undefined when
   * there is none (Events expire after an hour) or the caller may not list Events.
   */
  async policyRefusal(namespace: string = POLICY_CONFIGMAP.namespace): Promise<PolicyRefusal | undefined> {
    const fieldSelector = `involvedObject.kind=ConfigMap,involvedObject.name=${POLICY_CONFIGMAP.name},reason=${POLICY_EVENT_REASONS.invalid}`;
    const { core } = await this.#clients();
    let events;
    try {
      events = await pages((token) => core.listNamespacedEvent({ namespace, fieldSelector, limit: PAGE, ...(token ? { _continue: token } : {}) }));
    } catch (err) {
      if ([403, 404].includes((err as { code?: number }).code ?? 0)) return undefined;
      throw err;
    }
    // MicroTime fields come as strings whatever the generated types say: read every time through Date.
    const when = (e: (typeof events)[number]): number => {
      const at = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      return at === undefined ? 0 : new Date(at).getTime() || 0;
    };
    const newest = events.sort((a, b) => when(b) - when(a))[0];
    if (!newest) return undefined;
    return { at: when(newest) > 0 ? new Date(when(newest)).toISOString() : 'an unknown time', kept: keptRevision(newest.message ?? '') };
  }

  /** A namespace's labels, or undefined when it does not exist. */
  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const { core } = await this.#clients();
    try {
      return (await core.readNamespace({ name })).metadata?.labels ?? {};
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }
}
