import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { advertisesGpus, toClusterNode, type ClusterNode, type NodeSource } from '../cluster/model.ts';
import { kubeListWatchClient } from './kube-client.ts';
import { ListWatch, type ChangeType, type KubeObject, type ListWatchHandler, type ListWatchOptions, type WatchFailure } from './list-watch.ts';

export type { NodeSource };

/**
 * Nodes that advertise GPU resources, kept current by the list-watch loop (the same loop as the
 * policy and namespace watches: jittered backoff, relist on 410 Gone and every few minutes).
 * Only what the cluster view reads is kept: labels, readiness, allocatable.
 */
export class NodeCache implements ListWatchHandler<KubeObject> {
  readonly #logger: Logger;
  #nodes = new Map<string, ClusterNode>();
  #list: readonly ClusterNode[] = [];
  #version = 0;
  #listed = false;
  #notReady = 'waiting for the first list of Nodes';

  constructor(logger: Logger) {
    this.#logger = logger.child({ component: 'node-cache' });
  }

  nodes(): readonly ClusterNode[] {
    return this.#list;
  }

  version(): number {
    return this.#version;
  }

  notReadyReason(): string | undefined {
    return this.#listed ? undefined : this.#notReady;
  }

  snapshot(items: readonly KubeObject[]): void {
    const next = new Map<string, ClusterNode>();
    for (const item of items) {
      const node = toClusterNode(item);
      if (node.name && advertisesGpus(node)) next.set(node.name, node);
    }
    this.#nodes = next;
    this.#changed();
    if (!this.#listed) this.#logger.info({ gpuNodes: next.size }, 'node cache ready');
    this.#listed = true;
  }

  change(type: ChangeType, object: KubeObject): void {
    const node = toClusterNode(object);
    if (!node.name) return;
    const had = this.#nodes.get(node.name);
    if (type === 'DELETED' || !advertisesGpus(node)) {
      if (!had) return;
      this.#nodes.delete(node.name);
    } else {
      // Status heartbeats change nothing the cache keeps: skip them.
      if (had && had.ready === node.ready && sameMap(had.labels, node.labels) && sameMap(had.allocatable, node.allocatable)) return;
      this.#nodes.set(node.name, node);
    }
    this.#changed();
  }

  failure(failure: WatchFailure): void {
    if (!this.#listed) this.#notReady = `cannot list Nodes: ${failure.message}`;
  }

  #changed(): void {
    this.#list = [...this.#nodes.values()];
    this.#version++;
  }
}

function sameMap(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export type NodeSourceOptions = Pick<ListWatchOptions<KubeObject>,
  'client' | 'logger' | 'clock' | 'timers' | 'random' | 'resyncIntervalMs' | 'listTimeoutMs' | 'backoff'>;

/** A NodeSource from any list-watch client. */
export function createNodeSource(options: NodeSourceOptions): NodeSource {
  const cache = new NodeCache(options.logger);
  const { client, logger, clock, timers, random, resyncIntervalMs, listTimeoutMs, backoff } = options;
  const loop = new ListWatch<KubeObject>({ client, logger, clock, timers, random, resyncIntervalMs, listTimeoutMs, backoff, handler: cache, what: 'Nodes' });
  return {
    nodes: () => cache.nodes(), version: () => cache.version(), notReadyReason: () => cache.notReadyReason(),
    start: () => loop.start(), stop: () => loop.stop(),
  };
}

/** A watched cache of the GPU nodes (RBAC: list and watch nodes, cluster-wide). */
export function createNodeWatch(options: Omit<NodeSourceOptions, 'client'> & { readonly kubeConfig: KubeConfig }): NodeSource {
  const client = kubeListWatchClient<KubeObject>({
    kubeConfig: options.kubeConfig,
    path: '/api/v1/nodes',
  });
  return createNodeSource({ ...options, client });
}
