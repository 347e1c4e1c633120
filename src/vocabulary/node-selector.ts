/**
 * Node label selection as Kubernetes evaluates it (core/v1 NodeSelectorRequirement, the
 * scheduler's NodeAffinity plugin): whether a node's labels match, and whether any node could
 * match a set of requirements at all. The engine writes pool terms with these types; the same
 * functions decide which pools a pod's own constraints leave.
 */

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const;
export type NodeSelectorOperator = typeof OPERATORS[number];

export interface NodeSelectorRequirement {
  key: string;
  operator: NodeSelectorOperator;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  /** Node fields; Kubernetes supports only `metadata.name`. */
  matchFields?: NodeSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

const INTEGER = /^-?\d+$/;

/** Whether a node with these labels satisfies the requirement (labels.Selector semantics: NotIn matches an absent key). */
export function matchesRequirement(labels: Labels, r: NodeSelectorRequirement): boolean {
  const value = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In': return value !== undefined && values.includes(value);
    case 'NotIn': return value === undefined || !values.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt':
    case 'Lt': {
      const [bound] = values;
      if (value === undefined || bound === undefined || !INTEGER.test(value) || !INTEGER.test(bound)) return false;
      return r.operator === 'Gt' ? BigInt(value) > BigInt(bound) : BigInt(value) < BigInt(bound);
    }
  }
}

export function matchesRequirements(labels: Labels, requirements: readonly NodeSelectorRequirement[]): boolean {
  return requirements.every((r) => matchesRequirement(labels, r));
}

/** A nodeSelector map as requirements (`key In [value]` each). */
export function selectorRequirements(selector: Labels | undefined): NodeSelectorRequirement[] {
  return Object.entries(selector ?? {}).map(([key, value]) => ({ key, operator: 'In', values: [value] }));
}

/** Requirements grouped by key, in one pass. */
export function byKey(requirements: readonly NodeSelectorRequirement[]): Map<string, NodeSelectorRequirement[]> {
  const groups = new Map<string, NodeSelectorRequirement[]>();
  for (const r of requirements) {
    const group = groups.get(r.key);
    if (group) group.push(r);
    else groups.set(r.key, [r]);
  }
  return groups;
}

/**
 * Whether some node could carry labels that satisfy all these requirements together (each key
 * on its own: the values left by In/NotIn, presence, and Gt/Lt bounds). Linear in the
 * requirements and their values: a pod's affinity is the pod author's to make as long as they like.
 */
export function satisfiable(requirements: readonly NodeSelectorRequirement[]): boolean {
  return [...byKey(requirements).values()].every(keySatisfiable);
}

/**
 * Whether `base` together with one of `alternatives` (ORed terms) is satisfiable: `base` is
 * grouped once, so each alternative costs its own size and the base's requirements on its keys.
 */
export function satisfiableWithAny(
  base: readonly NodeSelectorRequirement[], alternatives: readonly (readonly NodeSelectorRequirement[])[],
): boolean {
  const groups = byKey(base);
  if (![...groups.values()].every(keySatisfiable)) return false;
  return alternatives.some((alternative) => [...byKey(alternative)].every(([key, rs]) => keySatisfiable([...(groups.get(key) ?? []), ...rs])));
}

/**
 * Requirements grouped by key once, with the keys that no node could satisfy on their own: a
 * fixed set of terms (a pool's) judged against many others (pods' nodeSelectors) by `satisfiableWith`.
 */
export interface GroupedRequirements {
  readonly groups: ReadonlyMap<string, readonly NodeSelectorRequirement[]>;
  readonly unsatisfiable: readonly string[];
}

export function groupRequirements(requirements: readonly NodeSelectorRequirement[]): GroupedRequirements {
  const groups = byKey(requirements);
  return { groups, unsatisfiable: [...groups].flatMap(([key, rs]) => (keySatisfiable(rs) ? [] : [key])) };
}

/**
 * `satisfiable([...base, ...extra])` with `base` grouped once and `extra` grouped by key: each key
 * is judged on its own, so only the keys `extra` names are judged again, with both sides' requirements.
 */
export function satisfiableWith(base: GroupedRequirements, extra: ReadonlyMap<string, readonly NodeSelectorRequirement[]>): boolean {
  for (const key of base.unsatisfiable) if (!extra.has(key)) return false;
  for (const [key, rs] of extra) {
    const own = base.groups.get(key);
    if (!keySatisfiable(own ? [...own, ...rs] : rs)) return false;
  }
  return true;
}

const FULL_RANGE = { low: -(1n << 63n), high: (1n << 63n) - 1n };

/** The integers a key's Gt/Lt requirements leave, or undefined when a bound is not an integer. */
function integerRange(rs: readonly NodeSelectorRequirement[]): { low: bigint; high: bigint } | undefined {
  let low = -(1n << 63n);
  let high = (1n << 63n) - 1n;
  for (const r of rs) {
    if (r.operator !== 'Gt' && r.operator !== 'Lt') continue;
    const bound = r.values?.[0] ?? '';
    if (!INTEGER.test(bound)) return undefined;
    if (r.operator === 'Gt' && BigInt(bound) + 1n > low) low = BigInt(bound) + 1n;
    if (r.operator === 'Lt' && BigInt(bound) - 1n < high) high = BigInt(bound) - 1n;
  }
  return { low, high };
}

/**
 * An In list this short is compared with the others' directly; any longer and they are judged
 * through sets, so a key of many values costs what its values number (a pod's own terms are a
 * tenant's input), never their product.
 */
const FEW_VALUES = 8;

/** Whether some value is listed by every In of these requirements (the others, Exists, ask only that the key be there); each In lists at most FEW_VALUES. */
function inAll(rs: readonly NodeSelectorRequirement[]): boolean {
  const first = rs.find((r) => r.operator === 'In');
  if (!first) return true;
  return (first.values ?? []).some((v) => rs.every((r) => r.operator !== 'In' || (r.values ?? []).includes(v)));
}

function keySatisfiable(rs: readonly NodeSelectorRequirement[]): boolean {
  let absent = false;
  let present = false;
  let bounded = false;
  let excluding = false;
  let long = false;
  for (const r of rs) {
    if (r.operator === 'DoesNotExist') absent = true;
    else if (r.operator !== 'NotIn') present = true;
    else excluding = true;
    if (r.operator === 'Gt' || r.operator === 'Lt') bounded = true;
    else if (r.operator === 'In' && (r.values?.length ?? 0) > FEW_VALUES) long = true;
  }
  if (absent) return !present;
  if (!present) return true; // NotIn alone: a node without the label matches
  // In and Exists only, with short lists (a nodeSelector against a pool's labels): no sets built.
  if (!bounded && !excluding && !long) return inAll(rs);
  // Without Gt or Lt every value is in range: the bounds (BigInts) are worked out only when there are some.
  const range = bounded ? integerRange(rs) : FULL_RANGE;
  if (!range || range.low > range.high) return false;
  const excluded = new Set(rs.filter((r) => r.operator === 'NotIn').flatMap((r) => r.values ?? []));
  const ins = rs.filter((r) => r.operator === 'In').map((r) => new Set(r.values ?? []));
  if (ins.length > 0) {
    const [smallest] = ins.length === 1 ? ins : [...ins].sort((a, b) => a.size - b.size);
    for (const v of smallest ?? []) {
      if (excluded.has(v) || !ins.every((set) => set.has(v))) continue;
      if (!bounded || (INTEGER.test(v) && BigInt(v) >= range.low && BigInt(v) <= range.high)) return true;
    }
    return false;
  }
  if (!bounded) return true; // infinitely many strings escape any NotIn list
  let excludedInRange = 0n;
  for (const v of excluded) if (INTEGER.test(v) && BigInt(v) >= range.low && BigInt(v) <= range.high) excludedInRange += 1n;
  return range.high - range.low + 1n > excludedInRange;
}

/**
 * Whether every node that satisfies `given` also satisfies `wanted` (so that ANDing `wanted` in
 * changes nothing). Sound, not complete: it says yes only when one of `given` on the same key
 * makes it plain.
 */
export function implies(given: readonly NodeSelectorRequirement[], wanted: NodeSelectorRequirement): boolean {
  const same = given.filter((g) => g.key === wanted.key);
  const values = wanted.values ?? [];
  return same.some((g) => {
    const have = g.values ?? [];
    switch (wanted.operator) {
      case 'In': return g.operator === 'In' && have.every((v) => values.includes(v));
      case 'NotIn':
        return (g.operator === 'In' && have.every((v) => !values.includes(v)))
          || (g.operator === 'NotIn' && values.every((v) => have.includes(v))) || g.operator === 'DoesNotExist';
      case 'Exists': return g.operator !== 'NotIn' && g.operator !== 'DoesNotExist';
      case 'DoesNotExist': return g.operator === 'DoesNotExist';
      default: return g.operator === 'In' && have.every((v) => matchesRequirement({ [g.key]: v }, wanted));
    }
  });
}

/** `key=value`, `key In a,b`, `key DoesNotExist`: how messages show a requirement. */
export function describeRequirement(r: NodeSelectorRequirement): string {
  return r.operator === 'In' && r.values?.length === 1 ? `${r.key}=${r.values[0]}` : formatRequirement(r);
}

/** A requirement as a decision record keeps it: `key Op v1,v2`. */
export function formatRequirement(r: NodeSelectorRequirement): string {
  return [r.key, r.operator, ...(r.values && r.values.length > 0 ? [r.values.join(',')] : [])].join(' ');
}

/** The requirement `formatRequirement` wrote, or undefined for text it cannot have written. */
export function parseRequirement(text: string): NodeSelectorRequirement | undefined {
  const [key, operator, values] = text.split(' ');
  if (!key || !OPERATORS.includes(operator as NodeSelectorOperator)) return undefined;
  return { key, operator: operator as NodeSelectorOperator, ...(values ? { values: values.split(',') } : {}) };
}
