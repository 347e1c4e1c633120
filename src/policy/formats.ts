import { parseQuantity } from '../vocabulary/quantity.ts';

/**
 * The string formats the policy schema names (`format: quantity`), as ajv takes them: the
 * validator generated from the schema (schema-validator.generated.ts) calls these.
 */
export const policyFormats = {
  quantity: { type: 'string', validate: (s: string): boolean => typeof parseQuantity(s) !== 'string' },
} as const;
