import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PolicySource } from '../policy/source.ts';
import type { BackoffOptions } from './backoff.ts';
import type { Clock, Timers } from './clock.ts';
import { createEventRecorder, type EventRecorder } from './events.ts';
import { POLICY_CONFIGMAP } from '../vocabulary/names.ts';
import { kubeEventSink, kubeListWatchClient } from './kube-client.ts';
import { createPolicySource, type ConfigMapObject, type PolicyLocation } from './policy-reloader.ts';

/** The policy ConfigMap `gpu-admission-policy` in `gpu-admission`, key `policy.yaml`. */
export const POLICY_LOCATION: PolicyLocation = POLICY_CONFIGMAP;

export interface ConfigMapPolicySourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace?: string;
  readonly name?: string;
  readonly key?: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Periodic relist that catches a stalled watch. Default 5 min; 0 disables. */
  readonly resyncIntervalMs?: number;
  /** A list not answered by then is aborted and retried. Default 30 s. */
  readonly listTimeoutMs?: number;
  /** Retry delays. Default 1 s doubling to 30 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /** The Events' reportingInstance: this replica's pod name. Default the host name (the pod name in a pod). */
  readonly reportingInstance?: string;
  /** Where Warning Events go; by default events.k8s.io/v1 Events through `kubeConfig`. */
  readonly recorder?: EventRecorder;
}

/**
 * The policy from the watched ConfigMap (issue 4). Lists and watches only that ConfigMap —
 * `fieldSelector=metadata.name=<name>`, which also lets RBAC restrict list and watch to it by
 * `resourceNames` (src/kube/rbac.ts).
 */
export function createConfigMapPolicySource(options: ConfigMapPolicySourceOptions): PolicySource {
  const location: PolicyLocation = {
    namespace: options.namespace ?? POLICY_LOCATION.namespace,
    name: options.name ?? POLICY_LOCATION.name,
    key: options.key ?? POLICY_LOCATION.key,
  };
  const fieldSelector = `metadata.name=${location.name}`;
  const client = kubeListWatchClient<ConfigMapObject>({
    kubeConfig: options.kubeConfig,
    path: `/api/v1/namespaces/${encodeURIComponent(location.namespace)}/configmaps`,
    fieldSelector,
  });
  const recorder = options.recorder ?? createEventRecorder({
    sink: kubeEventSink(options.kubeConfig),
    logger: options.logger,
    reportingInstance: options.reportingInstance ?? hostname(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return createPolicySource({ ...options, location, client, recorder });
}
