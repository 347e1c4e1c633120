import { readFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * AdmissionReviews broken at random: a real review (pods, workloads and the policy ConfigMap) with any
 * field, at any depth, replaced by arbitrary JSON, deleted, or nested thousands of levels deep.
 * Shared by the fuzz property in `npm test` and `npm run fuzz` against the real HTTPS server.
 */

const FIXTURES = ['shared-gpu-pod', 'numa-pod', 'denied-pod', 'plain-pod', 'rounded-pod', 'policy-configmap-create',
  'policy-configmap-invalid-update', 'policy-configmap-dra', 'other-configmap', 'deployment-create', 'deployment-update', 'pytorchjob-create'];
const bases = FIXTURES.map((name) => readFileSync(new URL(`../fixtures/reviews/${name}.json`, import.meta.url), 'utf8'));

export const FUZZ_PATHS = ['/mutate', '/validate-policy', '/validate-workloads', '/audit', '/validate-not-opted-in'] as const;

export interface FuzzCase {
  readonly path: typeof FUZZ_PATHS[number];
  readonly body: string;
  /** The uid the answer must echo, when the broken body still carries one where it belongs. */
  readonly uid: string | undefined;
}

const DEEP = '__fuzz_deep__';
const WIDE = '__fuzz_wide__';
const LIST = '__fuzz_list__';
type Edit = { readonly steps: readonly number[]; readonly value: unknown };

/**
 * Width as well as depth: a list or map of `n` small values ({}, "a", a node-selector
 * requirement or term, a container, a toleration), or a string list of `n` names, where the
 * webhook reads. `maxWidth` bounds n (a million in the long run: about 3 MB, what the API server
 * lets through).
 */
const SHAPES = ['empty', 'string', 'requirement', 'term', 'container', 'toleration', 'entries'] as const;
/** About 4 MB of items at the most (the body limit): wider kinds of item come in fewer. */
const itemBytes: Record<typeof SHAPES[number], number> = { empty: 3, string: 4, requirement: 50, term: 75, container: 75, toleration: 35, entries: 12 };
const widthOf = (maxWidth: number): fc.Arbitrary<unknown> => fc.oneof(
  fc.record({ n: fc.integer({ min: 1_000, max: maxWidth }), shape: fc.constantFrom(...SHAPES) })
    .map(({ n, shape }) => ({ [WIDE]: [Math.min(n, Math.floor(4_000_000 / itemBytes[shape])), shape] })),
  fc.integer({ min: 1_000, max: maxWidth }).map((n) => ({ [LIST]: n })),
);

const replacementUpTo = (maxWidth: number): fc.Arbitrary<unknown> => fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant(undefined) }, // delete the field
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).map((depth) => ({ [DEEP]: depth })) },
  { weight: 1, arbitrary: fc.constantFrom('x', '', 'AdmissionReview', 'Pod', 'CREATE', '12GB', '-1', 'true', null, [], {}) },
  { weight: 1, arbitrary: widthOf(maxWidth) },
);

/** One small value of a wide list, as the shape says; `i` keeps values distinct where duplicates would be skipped. */
function wideItem(shape: typeof SHAPES[number], i: number): string {
  switch (shape) {
    case 'requirement': return `{"key":"zone","operator":"In","values":["z${i.toString(36)}"]}`;
    case 'term': return `{"matchExpressions":[{"key":"k${i % 7}","operator":"NotIn","values":["v${i.toString(36)}"]}]}`;
    case 'container': return `{"name":"c${i.toString(36)}","resources":{"limits":{"gpu-admission.io/gpu":"1"}}}`;
    case 'toleration': return `{"key":"t${i.toString(36)}","operator":"Exists"}`;
    case 'string': return '"a"';
    default: return '{}';
  }
}

/** Walks `steps` (each an index into the keys there) and sets the value it ends on. */
function applyEdit(root: Record<string, unknown>, { steps, value }: Edit): void {
  let node: unknown = root;
  for (let i = 0; i < steps.length; i += 1) {
    if (typeof node !== 'object' || node === null) return;
    const keys = Object.keys(node);
    if (keys.length === 0) return;
    const key = keys[(steps[i] as number) % keys.length] as string;
    const child = (node as Record<string, unknown>)[key];
    const last = i === steps.length - 1 || typeof child !== 'object' || child === null;
    if (last) {
      if (value === undefined) delete (node as Record<string, unknown>)[key];
      else (node as Record<string, unknown>)[key] = structuredClone(value); // never two places sharing one object
      return;
    }
    node = child;
  }
}

function serialise(value: unknown): string {
  return JSON.stringify(value).replace(new RegExp(`\\{"${DEEP}":(\\d+)\\}`, 'g'), (_m, n: string) => {
    const depth = Number(n);
    return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  }).replace(new RegExp(`\\{"${WIDE}":\\[(\\d+),"([a-z]+)"\\]\\}`, 'g'), (_m, n: string, shape: string) => {
    const items = Array.from({ length: Number(n) }, (_, i) => wideItem(shape as typeof SHAPES[number], i));
    return shape === 'entries' ? `{${items.map((_, i) => `"k${i.toString(36)}":"v"`).join(',')}}` : `[${items.join(',')}]`;
  }).replace(new RegExp(`\\{"${LIST}":(\\d+)\\}`, 'g'), (_m, n: string) =>
    `"${Array.from({ length: Number(n) }, (_, i) => `m${i.toString(36)}`).join(',')}"`);
}

/** Fields the webhook reads (keys joined by `>`), so that broken values meet the code that reads them (set, creating what is missing). */
const READ: readonly string[] = [
  'apiVersion', 'kind', 'request', 'request>uid', 'request>kind', 'request>kind>kind', 'request>resource', 'request>operation',
  'request>namespace', 'request>dryRun', 'request>userInfo', 'request>object', 'request>object>kind', 'request>object>metadata',
  'request>object>metadata>labels', 'request>object>metadata>annotations', 'request>object>metadata>annotations>gpu-admission.io/decision',
  'request>object>metadata>annotations>gpu-admission.io/gpu-model', 'request>object>metadata>annotations>gpu-admission.io/pools',
  'request>object>spec>affinity>nodeAffinity>requiredDuringSchedulingIgnoredDuringExecution>nodeSelectorTerms>0>matchExpressions',
  'request>object>metadata>annotations>gpu-admission.io/numa', 'request>object>metadata>ownerReferences', 'request>object>spec',
  'request>object>spec>containers', 'request>object>spec>containers>0', 'request>object>spec>containers>0>resources',
  'request>object>spec>containers>0>resources>limits', 'request>object>spec>containers>0>resources>limits>gpu-admission.io/gpu',
  'request>object>spec>containers>0>resources>requests', 'request>object>spec>containers>0>securityContext',
  'request>object>spec>initContainers', 'request>object>spec>tolerations', 'request>object>spec>nodeSelector', 'request>object>spec>nodeName',
  'request>object>spec>schedulerName', 'request>object>spec>affinity', 'request>object>spec>affinity>nodeAffinity',
  'request>object>spec>affinity>nodeAffinity>requiredDuringSchedulingIgnoredDuringExecution',
  'request>object>spec>affinity>nodeAffinity>requiredDuringSchedulingIgnoredDuringExecution>nodeSelectorTerms',
  'request>object>spec>affinity>nodeAffinity>preferredDuringSchedulingIgnoredDuringExecution',
  'request>object>data', 'request>object>data>policy.yaml', 'request>oldObject',
  'request>object>spec>template', 'request>object>spec>template>metadata', 'request>object>spec>template>spec',
  'request>object>spec>template>spec>containers', 'request>object>spec>template>spec>containers>0>resources>limits',
  'request>object>spec>pytorchReplicaSpecs', 'request>object>spec>pytorchReplicaSpecs>Worker',
  'request>object>spec>pytorchReplicaSpecs>Worker>template', 'request>object>spec>pytorchReplicaSpecs>Worker>template>spec',
  'request>oldObject>spec>template', 'request>oldObject>spec>template>spec>containers',
];

function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('>');
  let node: Record<string, unknown> = root;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = structuredClone(value);
}

/** Broken reviews whose wide values hold at most `maxWidth` items. */
export const fuzzCasesUpTo = (maxWidth: number): fc.Arbitrary<FuzzCase> => fc.record({
  base: fc.nat({ max: bases.length - 1 }),
  edits: fc.array(fc.record({ steps: fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), value: replacementUpTo(maxWidth) }), { maxLength: 2 }),
  named: fc.array(fc.record({ path: fc.constantFrom(...READ), value: replacementUpTo(maxWidth) }), { maxLength: 2 }),
  path: fc.constantFrom(...FUZZ_PATHS),
}).map(({ base, edits, named, path }) => {
  const review = JSON.parse(bases[base] as string) as Record<string, unknown>;
  for (const edit of edits) applyEdit(review, edit);
  for (const edit of named) setAt(review, edit.path, edit.value);
  const body = serialise(review);
  // The uid as the server will read it: from the JSON sent (a uid set on a list is not serialised).
  const request = (JSON.parse(body) as { request?: unknown }).request;
  const uid = typeof request === 'object' && request !== null && !Array.isArray(request)
    && typeof (request as { uid?: unknown }).uid === 'string' && (request as { uid: string }).uid !== '' ? (request as { uid: string }).uid : undefined;
  return { path, body, uid };
});

/** The unit tests' cases: wide values up to 20,000 items (npm run fuzz goes to a million). */
export const fuzzCases = fuzzCasesUpTo(20_000);
