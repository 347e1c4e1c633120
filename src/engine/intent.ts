import type { Isolation, Placement } from '../vocabulary/backends.ts';
import { problem, type Problem } from './problem.ts';
import { ANNOTATION, PREFIX } from '../vocabulary/names.ts';

export type NumaPolicy = 'SingleNUMANode' | 'Restricted' | 'BestEffort';

/** What the pod's gpu-admission.io annotations ask, validated. */
export interface Intent {
  readonly pools?: readonly string[];
  readonly models?: readonly string[];
  readonly numa?: NumaPolicy;
  readonly numaExclusive?: 'Required' | 'Preferred';
  readonly rdma: boolean;
  readonly isolation?: Isolation;
  readonly placement?: Placement;
  /** Whether any gpu-admission.io annotation (other than the decision) is present. */
  readonly any: boolean;
}

const KNOWN: ReadonlySet<string> = new Set(Object.values(ANNOTATION));

function oneOf<T extends string>(key: string, value: string | undefined, allowed: readonly T[], problems: Problem[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(problem('invalid-request', `annotation ${key}: "${value.length > 60 ? `${value.slice(0, 60)}…` : value}" is not one of ${allowed.join(', ')}`));
  return undefined;
}

/** Names a list annotation (pools, models) may hold, and the length of each: no policy has more pools, and Kubernetes names stop at 253. */
export const MAX_LIST_ITEMS = 64;
export const MAX_NAME_CHARS = 253;

function list(key: string, value: string | undefined, problems: Problem[]): string[] | undefined {
  if (value === undefined) return undefined;
  // Split no further than the bound: a list of a million names is refused, not built.
  const items = value.split(',', MAX_LIST_ITEMS + 1).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) problems.push(problem('invalid-request', `annotation ${key}: must list at least one name`));
  if (items.length > MAX_LIST_ITEMS) problems.push(problem('invalid-request', `annotation ${key}: lists more than ${MAX_LIST_ITEMS} names`));
  const long = items.find((s) => s.length > MAX_NAME_CHARS);
  if (long !== undefined) problems.push(problem('invalid-request', `annotation ${key}: "${long.slice(0, 40)}…" is longer than ${MAX_NAME_CHARS} characters, no pool or model name is`));
  return items.length > MAX_LIST_ITEMS || long !== undefined ? [] : items;
}

/** Reads the pod's annotations; malformed values become problems naming the annotation. */
export function readIntent(annotations: Readonly<Record<string, string>>): { intent: Intent; problems: Problem[] } {
  if (!ours(annotations)) return { intent: NO_INTENT, problems: [] };
  return readOurs(annotations);
}

/** Whether any annotation is gpu-admission.io's: every one read below is. */
function ours(annotations: Readonly<Record<string, string>>): boolean {
  for (const key in annotations) if (key.startsWith(PREFIX)) return true;
  return false;
}

function readOurs(annotations: Readonly<Record<string, string>>): { intent: Intent; problems: Problem[] } {
  const problems: Problem[] = [];
  const a = (key: string): string | undefined => {
    const value: unknown = annotations[key];
    if (value === undefined || typeof value === 'string') return value?.trim();
    problems.push(problem('invalid-request', `annotation ${key}: must be a string, got ${typeof value} (quote it in YAML)`));
    return undefined;
  };
  const rdma = oneOf(ANNOTATION.rdma, a(ANNOTATION.rdma), ['true', 'false'], problems);
  let any = false;
  for (const key in annotations) {
    if (!key.startsWith(PREFIX)) continue;
    if (!KNOWN.has(key)) problems.push(problem('invalid-request', `annotation ${key}: unknown gpu-admission annotation`));
    if (key !== ANNOTATION.decision) any = true;
  }
  const intent: Intent = {
    pools: list(ANNOTATION.pools, a(ANNOTATION.pools), problems),
    models: list(ANNOTATION.model, a(ANNOTATION.model), problems),
    numa: oneOf(ANNOTATION.numa, a(ANNOTATION.numa), ['SingleNUMANode', 'Restricted', 'BestEffort'], problems),
    numaExclusive: oneOf(ANNOTATION.numaExclusive, a(ANNOTATION.numaExclusive), ['Required', 'Preferred'], problems),
    rdma: rdma === 'true',
    isolation: oneOf(ANNOTATION.isolation, a(ANNOTATION.isolation), ['none', 'memory', 'compute'], problems),
    placement: oneOf(ANNOTATION.placement, a(ANNOTATION.placement), ['binpack', 'spread'], problems),
    any,
  };
  if (intent.numaExclusive && !intent.numa) {
    problems.push(problem('invalid-request', `annotation ${ANNOTATION.numaExclusive}: needs ${ANNOTATION.numa} as well`));
  }
  return { intent, problems };
}

/** The intent of a pod with none of our annotations (most pods): read once, shared, frozen. */
const NO_INTENT: Intent = Object.freeze(readOurs({}).intent);
