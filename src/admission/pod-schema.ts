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

export const podSchema = {
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
