import type { Pod } from '../engine/pod.ts';
import { podTemplates, workloadKind } from '../vocabulary/workloads.ts';
import { asPod, decodePod, isPodReview } from './decode.ts';
import { ReviewError } from './errors.ts';
import type { AdmissionRequest } from './types.ts';

/** A pod the review stands for: the Pod itself (path '') or one pod template of a workload. */
export interface ReviewedPod {
  /** Where the template is in the object (`spec.template`), '' for a Pod. */
  readonly path: string;
  readonly pod: Pod;
}

/**
 * The pods a review is about: a Pod on CREATE, or each pod template of a workload of the table
 * that a CREATE brings or an UPDATE changes (a template equal to one of the old object's is not
 * decided again). Undefined for a kind the table does not know; empty when there is
 * nothing to decide (DELETE, a subresource, an unchanged template).
 */
export function reviewedPods(request: AdmissionRequest): ReviewedPod[] | undefined {
  if (isPodReview(request)) return request.operation === 'CREATE' ? [{ path: '', pod: decodePod(request) }] : [];
  const kind = workloadKind(request.kind.group, request.kind.kind);
  if (kind === undefined) return undefined;
  if (request.subResource || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return [];
  // A template equal to any of the old object's is not new, wherever it now sits (the same rule
  // as the webhook's matchCondition). A template without a spec holds no container: skipped.
  // Each template is written once in a canonical form and looked up in a set: linear in the
  // templates, however many worker groups or replica types the object lists.
  const old = new Set(request.operation === 'UPDATE' ? podTemplates(kind, request.oldObject).map((t) => canonicalJson(t.template)) : []);
  return podTemplates(kind, request.object)
    .filter((t) => t.template.spec !== undefined && t.template.spec !== null)
    .filter((t) => old.size === 0 || !old.has(canonicalJson(t.template)))
    .map((t) => ({
      path: t.path,
      pod: asPod({ apiVersion: 'v1', kind: 'Pod', metadata: t.template.metadata ?? {}, spec: t.template.spec },
        (why) => new ReviewError('GA_REVIEW_NOT_A_POD', `request.object.${t.path} is not a pod template: ${why}`, request.uid)),
    }));
}

/** `path: message` for a template, the message alone for a Pod. */
export const at = (path: string, message: string): string => (path === '' ? message : `${path}: ${message}`);

/** JSON with every object's keys sorted: two values give the same text exactly when they are deeply equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
