export { createBackoff, type Backoff, type BackoffOptions } from './backoff.ts';
export { systemClock, systemTimers, type Clock, type TimerId, type Timers } from './clock.ts';
export {
  createConfigMapPolicySource, POLICY_LOCATION, type ConfigMapPolicySourceOptions,
} from './configmap-watch.ts';
export {
  createEventRecorder, type EventBody, type EventRecorder, type EventRecorderOptions, type EventSink,
  type ObjectReference, type RecordedEvent,
} from './events.ts';
export { kubeEventSink, kubeListWatchClient, type KubeListWatchOptions } from './kube-client.ts';
export {
  ListWatch, type ListWatchClient, type ListWatchHandler, type ListWatchOptions, type WatchFailure,
} from './list-watch.ts';
export {
  createNamespaceSource, createNamespaceWatch, NamespaceCache, OPT_IN_SELECTOR, type NamespaceWatchOptions,
} from './namespace-watch.ts';
export {
  createPolicySource, POLICY_EVENT_REASONS, PolicyReloader, type ConfigMapObject, type PolicyLocation,
  type PolicySourceOptions,
} from './policy-reloader.ts';
export { webhookRbac, type RbacRule } from './rbac.ts';
export { createNodeSource, createNodeWatch, NodeCache, type NodeSource, type NodeSourceOptions } from './node-watch.ts';
