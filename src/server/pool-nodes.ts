import { poolNodeSummary, type NodeSource, type PoolNodes } from '../cluster/model.ts';
import type { Policy } from '../policy/types.ts';

/**
 * The pools' nodes under the policy in force, recomputed only when the policy or the nodes
 * change (a review reads it; computing it is pools × nodes label matches).
 */
export class PoolNodeView {
  readonly #source: NodeSource;
  #key = '';
  #summary: ReadonlyMap<string, PoolNodes> = new Map();
  #labelsVersion = -1;
  #labels = new Map<string, Readonly<Record<string, string>>>();

  constructor(source: NodeSource) {
    this.#source = source;
  }

  /** A watched GPU node's labels by name (undefined for a node not watched, or before the first list). */
  readonly labels = (name: string): Readonly<Record<string, string>> | undefined => {
    const version = this.#source.version();
    if (version !== this.#labelsVersion) {
      this.#labels = new Map(this.#source.nodes().map((n) => [n.name, n.labels]));
      this.#labelsVersion = version;
    }
    return this.#labels.get(name);
  };

  /** Undefined until the nodes have been listed: no warning is better than a wrong one. */
  summary(policy: Policy): ReadonlyMap<string, PoolNodes> | undefined {
    if (this.#source.notReadyReason() !== undefined) return undefined;
    const key = `${policy.revision}\u0000${this.#source.version()}`;
    if (key !== this.#key) {
      this.#summary = poolNodeSummary(policy, this.#source.nodes());
      this.#key = key;
    }
    return this.#summary;
  }
}

/** The warning for a pod routed only to pools that have no Ready node now, if it is. */
export function noReadyNodeWarning(pools: readonly string[], summary: ReadonlyMap<string, PoolNodes> | undefined): string | undefined {
  if (!summary || pools.length === 0) return undefined;
  // A pool the summary does not count (dra: its nodes advertise nothing) may have Ready nodes: no warning.
  if (pools.some((p) => !summary.has(p) || (summary.get(p)?.ready ?? 0) > 0)) return undefined;
  const total = pools.reduce((sum, p) => sum + (summary.get(p)?.total ?? 0), 0);
  return `${pools.length > 1 ? 'pools' : 'pool'} ${pools.join(', ')} ${pools.length > 1 ? 'have' : 'has'} no Ready node now `
    + `(${total} in all): the pod waits until one is Ready or added`;
}
