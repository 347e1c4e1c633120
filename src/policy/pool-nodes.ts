import { BACKEND_FACTS } from '../vocabulary/backends.ts';
import { ACK_PLACEMENT_LABEL } from '../vocabulary/names.ts';
import { type NodeSelectorRequirement } from '../vocabulary/node-selector.ts';
import type { Pool } from './types.ts';

/**
 * The nodes of a pool, as node-selector terms (ORed): its backend's mode label, ACK placement,
 * and its own nodeSelector, ANDed in each term. The engine writes these into node affinity;
 * whatever reads nodes by pool uses the same terms.
 */

const label = (key: string, value: string): NodeSelectorRequirement => ({ key, operator: 'In', values: [value] });

function backendTerms(pool: Pool): NodeSelectorRequirement[][] {
  const facts = BACKEND_FACTS[pool.backend];
  const mode = facts.modeLabel;
  const placement: NodeSelectorRequirement[] = !facts.placement ? []
    : poolPlacement(pool) === 'spread' ? [label(ACK_PLACEMENT_LABEL, 'spread')]
      : [{ key: ACK_PLACEMENT_LABEL, operator: 'NotIn', values: ['spread'] }];
  if (!mode) return [placement];
  const terms = [[label(mode.key, mode.value), ...placement]];
  return mode.orAbsent ? [...terms, [{ key: mode.key, operator: 'DoesNotExist' }, ...placement]] : terms;
}

const termsCache = new WeakMap<Pool, readonly (readonly NodeSelectorRequirement[])[]>();

/** A pool's effective node selector: its backend's label(s), each ANDed with its nodeSelector. */
export function poolTerms(pool: Pool): readonly (readonly NodeSelectorRequirement[])[] {
  let terms = termsCache.get(pool);
  if (!terms) {
    const own = Object.entries(pool.nodeSelector).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => label(k, v));
    terms = backendTerms(pool).map((term) => [...term, ...own]);
    termsCache.set(pool, terms);
  }
  return terms;
}

/** The placement of a pool: its own, binpack by default where the backend has one (ACK shared modes). */
export function poolPlacement(pool: Pool): Pool['placement'] {
  return pool.placement ?? (BACKEND_FACTS[pool.backend].placement ? 'binpack' : undefined);
}
