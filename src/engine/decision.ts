import type { Operation } from 'fast-json-patch';
import type { Pod } from './pod.ts';
import type { DenyCode, Problem } from './problem.ts';
import type { DecisionRecord } from './record.ts';

export interface PoolReason {
  readonly pool: string;
  readonly reason: string;
}

/** The engine's answer. `not-applicable` (no GPU in sight) is kept apart from `allow`. */
export type Decision =
  | { readonly kind: 'not-applicable' }
  | { readonly kind: 'allow'; readonly warnings: readonly string[] }
  | {
    readonly kind: 'patch';
    readonly patch: readonly Operation[];
    readonly warnings: readonly string[];
    readonly record: DecisionRecord;
    /** Every pool the pod may land on, with its own backend (a group may span backends). */
    readonly routes: readonly Route[];
    /** The pod as the patch leaves it. */
    readonly pod: Pod;
  }
  | {
    readonly kind: 'deny';
    /** The first problem's code: the reason counted in metrics. */
    readonly code: DenyCode;
    readonly message: string;
    readonly problems: readonly Problem[];
    readonly pools: readonly PoolReason[];
  };

export const notApplicable = (): Decision => ({ kind: 'not-applicable' });
export const allowed = (warnings: readonly string[] = []): Decision => ({ kind: 'allow', warnings });
export interface Route {
  readonly pool: string;
  readonly backend: string;
}

export const patched = (
  patch: readonly Operation[], warnings: readonly string[], record: DecisionRecord, routes: readonly Route[], pod: Pod,
): Decision => ({ kind: 'patch', patch, warnings, record, routes, pod });

export function denied(problems: readonly Problem[], pools: readonly PoolReason[] = []): Decision {
  const [first] = problems;
  return {
    kind: 'deny',
    code: first?.code ?? 'no-pool',
    message: problems.map((p) => p.message).join('; '),
    problems,
    pools,
  };
}
