// The webhook's requests to the API server — its watches' lists and watches, its Events — as plain
// JSON over node:https (src/kube/https-client.ts) with client-node's KubeConfig for the
// credentials: with leanServeMode() registered (src/main.ts), serve mode loads none of client-node's
// generated APIs and models, nor its Watch, nor npm's undici (ADR 0009, ADR 0012).
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from './events.ts';
import { apiJson, watchLines } from './https-client.ts';
import type { KubeObject, ListWatchClient } from './list-watch.ts';

export interface KubeListWatchOptions {
  readonly kubeConfig: KubeConfig;
  /** The collection's API path, such as `/api/v1/namespaces/gpu-admission/configmaps`. */
  readonly path: string;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

export const WATCH_IDLE_TIMEOUT_MS = 90_000;

/** A List as the API server sends it. */
interface ListAnswer {
  readonly items?: unknown;
  readonly metadata?: { readonly resourceVersion?: unknown };
}

/**
 * The list-watch loop's I/O: the list as plain JSON, in one answer as the generated client asked
 * for it (aborted through `signal`, so a hung list does not linger; an ApiException for an answer
 * outside 2xx), and a watch as client-node's plain `Watch` made it (watchLines). The objects are
 * the API server's JSON, as a watch's events are: timestamps stay strings.
 */
export function kubeListWatchClient<T extends KubeObject>(options: KubeListWatchOptions): ListWatchClient<T> {
  return {
    async list(signal) {
      const query = { fieldSelector: options.fieldSelector, labelSelector: options.labelSelector };
      const list = (await apiJson(options.kubeConfig, options.path, { query, signal })) as ListAnswer | null;
      const resourceVersion = list?.metadata?.resourceVersion;
      return { items: Array.isArray(list?.items) ? (list.items as T[]) : [], resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '' };
    },
    async watch(request, onEvent, onDone) {
      const params = {
        resourceVersion: request.resourceVersion || undefined,
        timeoutSeconds: request.timeoutSeconds,
        allowWatchBookmarks: true,
        fieldSelector: options.fieldSelector,
        labelSelector: options.labelSelector,
      };
      // client-node's Watch ended a watch after 30 s without data; the API server sends bookmarks
      // about once a minute (cacher defaultBookmarkFrequency), so a quiet watch would be cut before
      // its first bookmark and never advance its resourceVersion. Wait longer than one bookmark period.
      return watchLines(options.kubeConfig, options.path, { query: params, idleTimeoutMs: WATCH_IDLE_TIMEOUT_MS }, onEvent, onDone);
    },
  };
}

function eventName(object: string, at: Date): string {
  const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  return `${object}.${nanos.toString(16)}`;
}

/**
 * A time as a MicroTime: RFC 3339 with six digits of fraction, as client-node's V1MicroTime
 * writes it. eventTime must carry microseconds; a plain Date is refused (kubernetes/kubernetes#94748).
 */
export function microTime(at: Date): string {
  return `${at.toISOString().slice(0, -1)}000Z`;
}

const eventsPath = (namespace: string): string => `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`;

/**
 * Events go to events.k8s.io/v1 (RBAC: `create` for new Events, `patch` for series), as plain
 * JSON: the bodies EventsV1Api sends, the same ApiException when refused.
 */
export function kubeEventSink(kubeConfig: KubeConfig): EventSink {
  return {
    async create(event) {
      const namespace = event.regarding.namespace;
      const created = (await apiJson(kubeConfig, eventsPath(namespace), { method: 'POST', body: { contentType: 'application/json', json: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        // Named as client-go names events (<object>.<unix nanos in hex>). A generateName of
        // "<object>." is refused by current API servers: a prefix must end alphanumeric.
        metadata: { name: eventName(event.regarding.name, event.eventTime), namespace },
        regarding: { ...event.regarding },
        type: event.type,
        reason: event.reason,
        action: event.action,
        note: event.note,
        eventTime: microTime(event.eventTime),
        reportingController: event.reportingController,
        reportingInstance: event.reportingInstance,
      } } })) as { metadata?: { name?: unknown } } | null;
      const name = created?.metadata?.name;
      return typeof name === 'string' ? name : '';
    },
    async patchSeries(namespace, name, series) {
      await apiJson(kubeConfig, `${eventsPath(namespace)}/${encodeURIComponent(name)}`, { method: 'PATCH', body: {
        contentType: 'application/merge-patch+json',
        json: { series: { count: series.count, lastObservedTime: microTime(series.lastObservedTime) } },
      } });
    },
  };
}
