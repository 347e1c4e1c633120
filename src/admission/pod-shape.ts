import { Ajv, type ErrorObject } from 'ajv';

/**
 * The shape of the Pod fields the engine reads, as JSON Schema: everything else passes through
 * unread. A pod that breaks it (`spec.tolerations: "x"`) is the client's error, answered 400
 * with the field's path, never an exception inside the engine.
 */
const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const stringMap = { type: 'object', additionalProperties: str } as const;
const requirement = {
  type: 'object', required: ['key', 'operator'],
  properties: { key: str, operator: str, values: strings },
} as const;
const term = {
  type: 'object',
  properties: { matchExpressions: { type: 'array', items: requirement }, matchFields: { type: 'array', items: requirement } },
} as const;
const quantities = { type: 'object', additionalProperties: { type: ['string', 'number'] } } as const;
const container = {
  type: 'object', required: ['name'],
  properties: {
    name: str,
    restartPolicy: str,
    resources: { type: 'object', properties: { limits: quantities, requests: quantities } },
    securityContext: { type: 'object' },
  },
} as const;

const podSchema = {
  type: 'object', required: ['spec'],
  properties: {
    kind: { const: 'Pod' },
    metadata: {
      type: 'object',
      properties: { labels: stringMap, annotations: stringMap, name: str, generateName: str, namespace: str },
    },
    spec: {
      type: 'object', required: ['containers'],
      properties: {
        containers: { type: 'array', items: container },
        initContainers: { type: 'array', items: container },
        nodeSelector: stringMap,
        nodeName: str,
        schedulerName: str,
        tolerations: {
          type: 'array',
          items: { type: 'object', properties: { key: str, operator: str, value: str, effect: str, tolerationSeconds: { type: 'number' } } },
        },
        affinity: {
          type: 'object',
          properties: {
            nodeAffinity: {
              type: 'object',
              properties: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  type: 'object', required: ['nodeSelectorTerms'], properties: { nodeSelectorTerms: { type: 'array', items: term } },
                },
                preferredDuringSchedulingIgnoredDuringExecution: {
                  type: 'array',
                  items: { type: 'object', required: ['weight', 'preference'], properties: { weight: { type: 'number' }, preference: term } },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true });
const validate = ajv.compile(podSchema);

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
