// A gke pool: which of GKE's GPU modes its node pool runs, the node labels GKE gives that mode,
// and what the mode shares and isolates. docs/backends.md (`gke`) gives the sources.
import { BACKEND_FACTS, GKE_MODE_FACTS, type BackendFacts, type GkeMode } from '../vocabulary/backends.ts';
import { GKE_LABEL } from '../vocabulary/clouds.ts';
import type { NodeSelectorRequirement } from '../vocabulary/node-selector.ts';
import type { Pool } from './types.ts';

/** The pool's GKE mode: its sharing strategy, else MIG when it names a partition size, else whole cards. */
export function gkeMode(pool: Pool): GkeMode {
  const strategy = pool.gke?.sharingStrategy;
  if (strategy !== undefined) return strategy === 'mps' || strategy === 'MPS' ? 'mps' : 'time-sharing';
  return pool.mig ? 'mig' : 'exclusive';
}

/** The MIG partition size every card of a gke mig pool is cut into. */
export const gkePartition = (pool: Pool): string | undefined => (pool.backend === 'gke' ? pool.mig?.profiles[0] : undefined);

const is = (key: string, value: string): NodeSelectorRequirement => ({ key, operator: 'In', values: [value] });
const absent = (key: string): NodeSelectorRequirement => ({ key, operator: 'DoesNotExist' });

/**
 * The labels GKE gives the nodes of the pool's mode (the model, cloud.google.com/gke-accelerator,
 * is the family's model label). Whole-card pools keep off shared and partitioned nodes, whose
 * nvidia.com/gpu is a share or a slice; an MPS pool names its card count, because the device
 * plugin lets a container hold more than one share only on single-GPU nodes.
 */
export function gkeTerms(pool: Pool): NodeSelectorRequirement[] {
  const mode = gkeMode(pool);
  const partition = gkePartition(pool);
  const sharing = pool.gke
    ? [is(GKE_LABEL.sharingStrategy, pool.gke.sharingStrategy), is(GKE_LABEL.maxSharedClients, String(pool.gke.maxSharedClientsPerGpu))]
    : [absent(GKE_LABEL.sharingStrategy)];
  const partitioned = partition !== undefined ? [is(GKE_LABEL.partitionSize, partition)] : [absent(GKE_LABEL.partitionSize)];
  const count = mode === 'mps' ? [is(GKE_LABEL.count, String(pool.gpu.perNode))] : [];
  return [...sharing, ...partitioned, ...count];
}

/** A pool's backend facts: its backend's, with what its GKE mode shares and isolates on gke pools. */
export function poolFacts(pool: Pool): BackendFacts {
  const facts = BACKEND_FACTS[pool.backend];
  return pool.backend === 'gke' ? { ...facts, ...GKE_MODE_FACTS[gkeMode(pool)] } : facts;
}

/** What nvidia.com/gpu counts up to on one node of the pool: its cards, or N shares of each on GKE time-sharing and MPS. */
export function nodeGpuUnits(pool: Pool): number {
  const mode = pool.backend === 'gke' ? gkeMode(pool) : 'exclusive';
  return mode === 'time-sharing' || mode === 'mps' ? pool.gpu.perNode * (pool.gke?.maxSharedClientsPerGpu ?? 1) : pool.gpu.perNode;
}
