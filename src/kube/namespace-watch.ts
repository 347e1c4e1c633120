import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NamespaceSource } from '../policy/source.ts';
import { NAMESPACE_OPT_IN } from '../vocabulary/names.ts';
import { kubeListWatchClient } from './kube-client.ts';
import { ListWatch, type ChangeType, type KubeObject, type ListWatchHandler, type ListWatchOptions, type WatchFailure } from './list-watch.ts';

/** The Namespace fields the cache keeps. */
export interface NamespaceObject extends KubeObject {
  readonly metadata?: KubeObject['metadata'] & { readonly labels?: Readonly<Record<string, string>> };
}

/** Namespaces opt in (or into audit mode) with this label; the pod and workload webhooks are only called for them. */
export const OPT_IN_SELECTOR = `${NAMESPACE_OPT_IN.key} in (${NAMESPACE_OPT_IN.value},${NAMESPACE_OPT_IN.audit})`;

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Labels by namespace name, kept current by the list-watch loop. Only labels are kept (frozen),
 * not whole objects. Ready after the first list; once ready it stays ready through watch
 * failures — slightly stale labels beat refusing every pod while the API server is away.
 */
export class NamespaceCache implements ListWatchHandler<NamespaceObject> {
  readonly #logger: Logger;
  #labels = new Map<string, Readonly<Record<string, string>>>();
  #listed = false;
  #notReady = 'waiting for the first list of Namespaces';

  constructor(logger: Logger) {
    this.#logger = logger.child({ component: 'namespace-cache' });
  }

  labels(name: string): Readonly<Record<string, string>> | undefined {
    return this.#labels.get(name);
  }

  notReadyReason(): string | undefined {
    return this.#listed ? undefined : this.#notReady;
  }

  snapshot(items: readonly NamespaceObject[]): void {
    const next = new Map<string, Readonly<Record<string, string>>>();
    for (const item of items) {
      const name = item.metadata?.name;
      if (name) next.set(name, frozenLabels(item));
    }
    this.#labels = next;
    if (!this.#listed) this.#logger.info({ namespaces: next.size }, 'namespace cache ready');
    this.#listed = true;
  }

  change(type: ChangeType, namespace: NamespaceObject): void {
    const name = namespace.metadata?.name;
    if (!name) return;
    if (type === 'DELETED') this.#labels.delete(name);
    else this.#labels.set(name, frozenLabels(namespace));
    this.#logger.debug({ namespace: name, type }, 'namespace changed');
  }

  failure(failure: WatchFailure): void {
    if (!this.#listed) this.#notReady = `cannot list Namespaces: ${failure.message}`;
  }
}

function frozenLabels(namespace: NamespaceObject): Readonly<Record<string, string>> {
  const labels = namespace.metadata?.labels;
  return labels && Object.keys(labels).length > 0 ? Object.freeze({ ...labels }) : NO_LABELS;
}

export type NamespaceSourceOptions = Pick<ListWatchOptions<NamespaceObject>,
  'client' | 'logger' | 'clock' | 'timers' | 'random' | 'resyncIntervalMs' | 'listTimeoutMs' | 'backoff'>;

/** A NamespaceSource from any list-watch client; `start()` resolves once the first list has answered. */
export function createNamespaceSource(options: NamespaceSourceOptions): NamespaceSource {
  const cache = new NamespaceCache(options.logger);
  const { client, logger, clock, timers, random, resyncIntervalMs, listTimeoutMs, backoff } = options;
  const loop = new ListWatch<NamespaceObject>({
    client, logger, clock, timers, random, resyncIntervalMs, listTimeoutMs, backoff,
    handler: cache,
    what: 'Namespaces',
  });
  return {
    labels: (name) => cache.labels(name),
    notReadyReason: () => cache.notReadyReason(),
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}

export interface NamespaceWatchOptions extends Omit<NamespaceSourceOptions, 'client'> {
  readonly kubeConfig: KubeConfig;
  /**
   * Which namespaces to keep. Default: the opted-in ones (`gpu-admission.io/enabled` `true` or
   * `audit`), the only ones the namespaceSelectors that need labels send objects from. '' keeps every one.
   */
  readonly labelSelector?: string;
}

/** A watched cache of Namespace labels (RBAC: list and watch namespaces, cluster-wide). */
export function createNamespaceWatch(options: NamespaceWatchOptions): NamespaceSource {
  const labelSelector = options.labelSelector ?? OPT_IN_SELECTOR;
  const selector = labelSelector === '' ? undefined : labelSelector;
  const client = kubeListWatchClient<NamespaceObject>({
    kubeConfig: options.kubeConfig,
    path: '/api/v1/namespaces',
    ...(selector ? { labelSelector: selector } : {}),
  });
  return createNamespaceSource({ ...options, client });
}
