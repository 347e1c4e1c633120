import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { parseQuantity } from '../vocabulary/quantity.ts';
import { policySchema } from './schema.ts';
import { checkSemantics } from './semantics.ts';
import type { Policy } from './types.ts';

export type PolicyResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly errors: readonly string[] };

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, allowUnionTypes: true });
ajv.addFormat('quantity', { type: 'string', validate: (s: string) => typeof parseQuantity(s) !== 'string' });
const validate = ajv.compile(policySchema);

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
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `line ${(e.linePos?.[0].line ?? 0)}: ${e.message.split('\n')[0]}`) };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, errors: ['/: the policy must be a mapping (apiVersion, kind, defaults, pools, namespaces)'] };
  }
  if (!validate(data)) return { ok: false, errors: (validate.errors ?? []).map(formatError) };
  const parsed = data as unknown as Omit<Policy, 'revision'>;
  const semantic = checkSemantics(parsed);
  if (semantic.length > 0) return { ok: false, errors: semantic };
  const hash = createHash('sha256').update(JSON.stringify(parsed)).digest('hex').slice(0, 12);
  const revision = sourceVersion ? `${sourceVersion}-${hash}` : hash;
  return { ok: true, policy: deepFreeze({ ...parsed, revision }) };
}

export function parsePolicyOrThrow(text: string, sourceVersion?: string): Policy {
  const result = parsePolicy(text, sourceVersion);
  if (!result.ok) throw new PolicyError(result.errors);
  return result.policy;
}

function formatError(e: ErrorObject): string {
  const path = e.instancePath || '/';
  switch (e.keyword) {
    case 'additionalProperties':
      return `${path}: unknown field "${String(e.params.additionalProperty)}"`;
    case 'required':
      return `${path}: missing field "${String(e.params.missingProperty)}"`;
    case 'format':
      return e.params.format === 'quantity'
        ? `${path}: must be a quantity such as 24Gi`
        : `${path}: ${e.message ?? 'invalid'}`;
    case 'enum':
      return `${path}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${path}: must be ${String(e.params.allowedValue)}`;
    case 'pattern':
      return `${path}: "${String(e.data)}" is not valid here`;
    case 'propertyNames':
      return `${path}: key "${String(e.params.propertyName)}" is not a valid label key`;
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
