import {
  EventsV1Api, Observable, PatchStrategy, V1MicroTime, Watch, setHeaderOptions,
  type ConfigurationOptions, type KubeConfig, type ObservableMiddleware, type RequestContext, type ResponseContext,
} from '@kubernetes/client-node';
import type { EventSink } from './events.ts';
import type { KubeObject, ListWatchClient } from './list-watch.ts';

/** A generated client's list call, given the options that carry the abort signal. */
export type ListCall<T> = (options: ConfigurationOptions) => Promise<{
  readonly items: T[];
  readonly metadata?: { readonly resourceVersion?: string };
}>;

export interface KubeListWatchOptions<T> {
  readonly kubeConfig: KubeConfig;
  /** The collection's API path, such as `/api/v1/namespaces/gpu-admission/configmaps`. */
  readonly path: string;
  /** The same collection listed through the generated client, with the same selectors. */
  readonly list: ListCall<T>;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

export const WATCH_IDLE_TIMEOUT_MS = 90_000;

/**
 * The list-watch loop's I/O on @kubernetes/client-node: the generated client's list (aborted
 * through a request middleware, so a hung list does not linger) and the plain `Watch`.
 */
export function kubeListWatchClient<T extends KubeObject>(options: KubeListWatchOptions<T>): ListWatchClient<T> {
  const watcher = new Watch(options.kubeConfig);
  // client-node ends a watch after 30 s without data; the API server sends bookmarks about once a
  // minute (cacher defaultBookmarkFrequency), so a quiet watch would be cut before its first
  // bookmark and never advance its resourceVersion. Wait longer than one bookmark period.
  // The field is private in client-node 2.0.1's types (kubernetes-client/javascript#3020).
  (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_IDLE_TIMEOUT_MS;
  return {
    async list(signal) {
      const list = await options.list(abortable(signal));
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    async watch(request, onEvent, onDone) {
      const params = {
        resourceVersion: request.resourceVersion || undefined,
        timeoutSeconds: request.timeoutSeconds,
        allowWatchBookmarks: true,
        fieldSelector: options.fieldSelector,
        labelSelector: options.labelSelector,
      };
      const controller = await watcher.watch(options.path, params, (type: string, object: unknown) => onEvent(type, object), onDone);
      return { abort: () => controller.abort() };
    },
  };
}

/** Request options that tie the request to `signal`. */
function abortable(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre(context: RequestContext) {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post(context: ResponseContext) {
      return new Observable(Promise.resolve(context));
    },
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function eventName(object: string, at: Date): string {
  const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  return `${object}.${nanos.toString(16)}`;
}

/** Events go to events.k8s.io/v1 (RBAC: `create` for new Events, `patch` for series). */
export function kubeEventSink(kubeConfig: KubeConfig): EventSink {
  const api = kubeConfig.makeApiClient(EventsV1Api);
  return {
    async create(event) {
      const created = await api.createNamespacedEvent({
        namespace: event.regarding.namespace,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          // Named as client-go names events (<object>.<unix nanos in hex>). A generateName of
          // "<object>." is refused by current API servers: a prefix must end alphanumeric.
          metadata: { name: eventName(event.regarding.name, event.eventTime), namespace: event.regarding.namespace },
          regarding: { ...event.regarding },
          type: event.type,
          reason: event.reason,
          action: event.action,
          note: event.note,
          // eventTime must carry microseconds; a plain Date is refused (kubernetes/kubernetes#94748).
          eventTime: new V1MicroTime(event.eventTime.getTime()),
          reportingController: event.reportingController,
          reportingInstance: event.reportingInstance,
        },
      });
      return created.metadata?.name ?? '';
    },
    async patchSeries(namespace, name, series) {
      await api.patchNamespacedEvent(
        { namespace, name, body: { series: { count: series.count, lastObservedTime: new V1MicroTime(series.lastObservedTime.getTime()) } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
  };
}
