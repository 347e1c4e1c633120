import type { ErrorObject, ValidateFunction } from 'ajv';
import { validate as generatedValidate } from './pod-shape-validator.generated.ts';

/**
 * ajv's validator of the Pod's shape (src/admission/pod-schema.ts: the first error, verbose,
 * strict), generated at build time by scripts/validators.ts rather than compiled when this module
 * loads.
 */
const validate = generatedValidate as unknown as ValidateFunction;

const WORDS: Readonly<Record<string, string>> = { object: 'an object', array: 'a list', string: 'a string', number: 'a number' };

function describeError(e: ErrorObject): string {
  const path = e.instancePath.split('/').slice(1).reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : `${acc ? `${acc}.` : ''}${part}`), '');
  const where = path || 'the object';
  switch (e.keyword) {
    case 'type': {
      const types = String(e.params.type).split(',').map((t) => WORDS[t] ?? t);
      return `${where} must be ${types.join(' or ')}`;
    }
    case 'required': return `${where ? `${where}.` : ''}${String(e.params.missingProperty)} is missing`.replace(/^the object\./, '');
    case 'const': return `its kind is ${JSON.stringify(e.data)?.slice(0, 60)}`;
    default: return `${where} ${e.message ?? 'is not valid'}`;
  }
}

/** Why the object does not have the shape of a Pod the engine can read, or undefined when it does. */
export function podShapeProblem(object: unknown): string | undefined {
  if (validate(object)) return undefined;
  const [first] = validate.errors ?? [];
  return first ? describeError(first) : 'it is not a Pod';
}
