import { createHash } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { parseQuantity } from '../vocabulary/quantity.ts';
import { validate as generatedValidate } from './schema-validator.generated.ts';
import { normalise, type RawPolicy } from './normalise.ts';
import { checkSemantics } from './semantics.ts';
import { suggest } from './suggest.ts';
import type { Policy } from './types.ts';

export type PolicyResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * ajv's validator of the policy schema (src/policy/schema.ts: all errors, verbose, defaults filled
 * in, strict), generated at build time by scripts/validators.ts rather than compiled when this
 * module loads.
 */
const validate = generatedValidate as unknown as ValidateFunction;

/** A policy that failed validation, with every error's path (`/pools/2/gpu/memory: …`). */
export class PolicyError extends Error {
  readonly code = 'GA_POLICY_INVALID';
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(`invalid policy:\n  ${errors.join('\n  ')}`);
    this.errors = errors;
  }
}

/**
 * Parses a policy document (YAML or JSON) into a typed, frozen policy. `sourceVersion`, such as
 * the ConfigMap's resourceVersion, is prefixed to the content hash to form the revision.
 */
export function parsePolicy(text: string, sourceVersion?: string): PolicyResult {
  const result = parseWhole(text, sourceVersion);
  return result.ok || result.errors.length <= MAX_POLICY_ERRORS ? result
    : { ok: false, errors: [...result.errors.slice(0, MAX_POLICY_ERRORS), `… and ${result.errors.length - MAX_POLICY_ERRORS} more errors`] };
}

/**
 * The largest policy text read. Policies of a hundred pools are about 30 KiB; YAML's parser
 * holds about a thousand times a text of tiny flow items (`pools: [{},{},…]`), so size and
 * structure are bounded before it runs: a ConfigMap edit cannot exhaust the webhook's memory.
 */
export const MAX_POLICY_BYTES = 128 * 1024;
/** Structural characters (`,{[:-`) a policy may hold: about 25 a pool, so 400 pools fit. */
export const MAX_POLICY_TOKENS = 10_000;
/** Errors reported at most; the rest are counted (an answer, a log line and an event stay small). */
export const MAX_POLICY_ERRORS = 20;

function structuralTokens(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x7b || c === 0x5b || c === 0x3a || c === 0x2d) n++;
  }
  return n;
}

function parseWhole(text: string, sourceVersion?: string): PolicyResult {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_POLICY_BYTES) return { ok: false, errors: [`/: the policy is ${bytes} bytes, more than the ${MAX_POLICY_BYTES} a policy may be`] };
  const tokens = structuralTokens(text);
  if (tokens > MAX_POLICY_TOKENS) {
    return { ok: false, errors: [`/: the policy holds ${tokens} of the characters ,{[:- that make YAML structure, more than the ${MAX_POLICY_TOKENS} `
      + 'a policy may hold (about 400 pools)'] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`) };
  }
  const data = toData(doc);
  if (typeof data === 'string') return { ok: false, errors: [data] };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, errors: ['/: the policy must be a mapping (apiVersion, kind, defaults, pools, namespaces)'] };
  }
  if (!validate(data)) return { ok: false, errors: (validate.errors ?? []).map(formatError) };
  const raw = data as unknown as RawPolicy;
  const { policy: parsed, errors: shapeErrors } = normalise(raw);
  const semantic = [...shapeErrors, ...checkSemantics(parsed)];
  if (semantic.length > 0) return { ok: false, errors: semantic };
  const hash = contentHash(raw);
  const revision = sourceVersion ? `${sourceVersion}-${hash}` : hash;
  return { ok: true, policy: deepFreeze({ ...parsed, revision }) };
}

/**
 * The content part of a revision: the sha256 of the parsed policy (defaults filled in) as JSON
 * with every mapping's keys sorted, so that neither comments, formatting nor key order change
 * it — a file and the ConfigMap Helm renders from it with toYaml (keys sorted, comments dropped)
 * have the same hash, which `policy check FILE` prints.
 */
function contentHash(raw: unknown): string {
  return createHash('sha256').update(JSON.stringify(raw, sortedKeys)).digest('hex').slice(0, 12);
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The content hash of a revision (`<resourceVersion>-<hash>`, `embedded-<hash>` or `<hash>`). */
export const revisionContent = (revision: string): string => revision.slice(revision.lastIndexOf('-') + 1);

/** The document as plain data, or why not: an alias bomb (more than 100 alias expansions) is the author's error. */
function toData(doc: ReturnType<typeof parseDocument>): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return `/: ${e instanceof Error ? e.message : String(e)} (YAML aliases expand too far)`;
  }
}

export function parsePolicyOrThrow(text: string, sourceVersion?: string): Policy {
  const result = parsePolicy(text, sourceVersion);
  if (!result.ok) throw new PolicyError(result.errors);
  return result.policy;
}

function formatError(e: ErrorObject): string {
  const path = e.instancePath || '/';
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return `${path}: unknown field "${field}"${suggest(field, known)}`;
    }
    case 'required':
      return `${path}: missing field "${String(e.params.missingProperty)}"`;
    case 'format': {
      if (e.params.format !== 'quantity') return `${path}: ${e.message ?? 'invalid'}`;
      const why = parseQuantity(String(e.data));
      return `${path}: must be a quantity such as 24Gi${typeof why === 'string' && why.includes('did you mean') ? ` (${why.split('; ')[1]})` : ''}`;
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      return `${path}: must be one of ${allowed.join(', ')}${suggest(String(e.data), allowed)}`;
    }
    case 'const':
      return `${path}: must be ${String(e.params.allowedValue)}`;
    case 'pattern': {
      const hint = (e.parentSchema as { description?: string } | undefined)?.description;
      return `${path}: "${String(e.data)}" is not valid here${hint ? ` (${hint})` : ''}`;
    }
    case 'propertyNames': {
      const key = String(e.params.propertyName);
      if (path.endsWith('/deviceClasses')) return `${path}: key "${key}" is neither gpu (whole cards) nor a MIG profile such as 3g.40gb`;
      if (path.endsWith('/layout')) return `${path}: key "${key}" is not a MIG profile such as 3g.40gb`;
      return `${path}: key "${key}" is not a valid label key`;
    }
    default:
      return `${path}: ${e.message ?? 'invalid'}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
