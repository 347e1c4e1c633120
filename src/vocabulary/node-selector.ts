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

/**
 * Whether some node could carry labels that satisfy all these requirements together (each key
 * on its own: the values left by In/NotIn, presence, and Gt/Lt bounds).
 */
export function satisfiable(requirements: readonly NodeSelectorRequirement[]): boolean {
  const byKey = new Map<string, NodeSelectorRequirement[]>();
  for (const r of requirements) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  return [...byKey.values()].every(keySatisfiable);
}

function keySatisfiable(rs: readonly NodeSelectorRequirement[]): boolean {
  const absent = rs.some((r) => r.operator === 'DoesNotExist');
  const present = rs.some((r) => r.operator !== 'DoesNotExist' && r.operator !== 'NotIn');
  if (absent) return !present;
  if (!present) return true; // NotIn alone: a node without the label matches
  const ins = rs.filter((r) => r.operator === 'In');
  if (ins.length > 0) {
    const candidates = (ins[0]?.values ?? []).filter((v) => ins.every((r) => r.values?.includes(v)));
    return candidates.some((v) => matchesRequirements({ [rs[0]?.key ?? '']: v }, rs));
  }
  return someValueBeyond(rs);
}

/** Exists / Gt / Lt / NotIn on one key, no In: is there a value? */
function someValueBeyond(rs: readonly NodeSelectorRequirement[]): boolean {
  const bounds = rs.filter((r) => r.operator === 'Gt' || r.operator === 'Lt');
  if (bounds.length === 0) return true; // infinitely many strings escape any NotIn list
  if (bounds.some((r) => !INTEGER.test(r.values?.[0] ?? ''))) return false;
  const lows = bounds.filter((r) => r.operator === 'Gt').map((r) => BigInt(r.values?.[0] ?? '0') + 1n);
  const highs = bounds.filter((r) => r.operator === 'Lt').map((r) => BigInt(r.values?.[0] ?? '0') - 1n);
  const low = lows.reduce((a, b) => (b > a ? b : a), lows[0] ?? -(1n << 63n));
  const high = highs.reduce((a, b) => (b < a ? b : a), highs[0] ?? (1n << 63n) - 1n);
  if (low > high) return false;
  const excluded = new Set(rs.filter((r) => r.operator === 'NotIn').flatMap((r) => r.values ?? []));
  const excludedInRange = [...excluded].filter((v) => INTEGER.test(v) && BigInt(v) >= low && BigInt(v) <= high).length;
  return high - low + 1n > BigInt(excludedInRange);
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
