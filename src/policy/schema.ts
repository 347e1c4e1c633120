import { MIG_PROFILE } from '../vocabulary/mig.ts';
import { BACKENDS, ISOLATIONS, PLACEMENTS } from '../vocabulary/backends.ts';
import { KOORD_HAMI_CORE, VOLCANO_MODES } from '../vocabulary/names.ts';

/** Kubernetes label keys and values, loosely: what a nodeSelector may hold. */
const LABEL_KEY = '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const RESOURCE_NAME = '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

const labelMap = {
  type: 'object',
  propertyNames: { pattern: LABEL_KEY, maxLength: 316 },
  additionalProperties: { type: 'string', pattern: LABEL_VALUE, maxLength: 63 },
} as const;

const positiveInt = { type: 'integer', minimum: 1 } as const;

/**
 * The JSON Schema of a GpuAdmissionPolicy (draft-07, as ajv validates it). Strict: unknown
 * fields are errors. Defaults are filled in by the validator. Exported so editors can use it
 * (`gpu-admission policy schema`).
 */
export const policySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://gpu-admission.io/schemas/v1alpha1/policy.json',
  title: 'GpuAdmissionPolicy',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'pools'],
  properties: {
    apiVersion: { const: 'gpu-admission.io/v1alpha1' },
    kind: { const: 'GpuAdmissionPolicy' },
    defaults: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        acceptNvidiaGpu: {
          type: 'boolean', default: true,
          description: 'Read plain nvidia.com/gpu as a generic whole-GPU request.',
        },
        rounding: {
          enum: ['up', 'deny'], default: 'up',
          description: 'Round memory to whole GiB and cores to multiples of 5 (with a warning), or refuse.',
        },
        isolation: {
          enum: [...ISOLATIONS], default: 'none',
          description: 'Minimum isolation when the pod does not say.',
        },
        poolLabel: {
          type: 'string', pattern: LABEL_KEY, maxLength: 316,
          description: 'A node label key whose value is the pool name on every GPU node (gpu-admission.io/pool): '
            + 'each pool selects its nodes by it too, and Kueue flavors select exactly one pool by it.',
        },
      },
    },
    pools: {
      type: 'array',
      minItems: 1,
      description: 'GPU node pools, in order of preference.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'backend', 'gpu'],
        properties: {
          name: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
          backend: { enum: [...BACKENDS] },
          placement: { enum: [...PLACEMENTS] },
          disabled: {
            type: 'boolean', default: false,
            description: 'A drained pool: no new pod is routed to it, and native requests for it are refused.',
          },
          nodeSelector: { ...labelMap, default: {} },
          gpu: {
            type: 'object',
            additionalProperties: false,
            required: ['model', 'memory', 'perNode'],
            properties: {
              model: { type: 'string', minLength: 1, description: 'The name pods ask for in gpu-admission.io/gpu-model.' },
              product: {
                type: 'string', minLength: 1, maxLength: 64,
                description: "The model as the nodes' model label says it (aliyun.accelerator/nvidia_name, nvidia.com/gpu.product, "
                  + "gke: cloud.google.com/gke-accelerator, or gpu.modelLabel's; "
                  + "HAMi: the card type; dra: the devices' productName attribute, such as NVIDIA H100 80GB HBM3); gpu.model by default.",
              },
              modelLabel: {
                type: 'string', pattern: LABEL_KEY, maxLength: 316,
                description: 'The node label that holds gpu.product on nodes without GPU feature discovery (GKE cloud.google.com/gke-accelerator, '
                  + 'Karpenter karpenter.k8s.aws/instance-gpu-name, EKS Auto Mode eks.amazonaws.com/instance-gpu-name, AKS node.kubernetes.io/instance-type); '
                  + "the backend family's label (nvidia.com/gpu.product, aliyun.accelerator/nvidia_name) by default.",
              },
              memory: {
                type: 'string', format: 'quantity',
                description: 'Memory of one card as the backend counts it (ACK: the node\'s aliyun.com/gpu-mem ÷ cards).',
              },
              perNode: positiveInt,
            },
          },
          numa: {
            type: 'object',
            additionalProperties: false,
            required: ['nodes', 'gpusPerNode', 'cpusPerNode'],
            properties: { nodes: positiveInt, gpusPerNode: positiveInt, cpusPerNode: positiveInt },
          },
          rdma: {
            type: ['boolean', 'object'],
            description: 'RDMA on this pool: true (one aliyun/erdma per pod), or {resource, perPod}.',
            additionalProperties: false,
            properties: { resource: { type: 'string', pattern: RESOURCE_NAME }, perPod: positiveInt },
          },
          rdmaResource: { type: 'string', pattern: RESOURCE_NAME, description: 'The RDMA resource (or rdma.resource).' },
          taints: {
            type: 'array',
            default: [],
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['operator'],
              properties: {
                key: { type: 'string', pattern: LABEL_KEY },
                operator: { enum: ['Exists', 'Equal'] },
                value: { type: 'string', pattern: LABEL_VALUE },
                effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
              },
            },
          },
          mig: {
            type: 'object',
            additionalProperties: false,
            properties: {
              strategy: { enum: ['mixed', 'single'], description: 'The device plugin\'s MIG strategy (nvidia-mig); mixed by default.' },
              profiles: {
                type: 'array', minItems: 1, uniqueItems: true,
                items: { type: 'string', pattern: MIG_PROFILE },
                description: 'The profiles the nodes offer (or give layout).',
              },
              layout: {
                type: 'object', minProperties: 1,
                propertyNames: { pattern: MIG_PROFILE },
                additionalProperties: positiveInt,
                description: 'How many slices of each profile one card holds, such as {3g.40gb: 2}.',
              },
            },
          },
          timeSlicing: {
            type: 'object',
            additionalProperties: false,
            properties: {
              resource: { type: 'string', pattern: RESOURCE_NAME, default: 'nvidia.com/gpu.shared' },
              replicas: { type: 'integer', minimum: 2, description: 'Replicas of each card (sharing.timeSlicing.resources[].replicas).' },
              failRequestsGreaterThanOne: { type: 'boolean', default: false },
            },
          },
          hami: {
            type: 'object',
            additionalProperties: false,
            description: "HAMi's resource names, when its chart renames them (resourceName, resourceMem, …); on volcano-vgpu pools, "
              + "Volcano's, when the vGPU device plugin's config renames them (resourceCountName, resourceMemoryName, …). "
              + 'Defaults: nvidia.com/gpu, nvidia.com/gpumem, nvidia.com/gpumem-percentage, nvidia.com/gpucores (hami); '
              + 'volcano.sh/vgpu-number, volcano.sh/vgpu-memory, volcano.sh/vgpu-memory-percentage, volcano.sh/vgpu-cores (volcano-vgpu).',
            properties: {
              resourceName: { type: 'string', pattern: RESOURCE_NAME },
              resourceMem: { type: 'string', pattern: RESOURCE_NAME },
              resourceMemPercentage: { type: 'string', pattern: RESOURCE_NAME },
              resourceCores: { type: 'string', pattern: RESOURCE_NAME },
            },
          },
          volcano: {
            type: 'object',
            additionalProperties: false,
            description: 'Backend volcano-vgpu: the sharing mode the pool\'s nodes run (volcano-vgpu-node-config operatingmode), '
              + 'written into each pod as volcano.sh/vgpu-mode; and memoryFactor, the vGPU device plugin\'s gpuMemoryFactor '
              + '(MiB per unit of volcano.sh/vgpu-memory, 1 by default).',
            properties: {
              mode: { enum: [...VOLCANO_MODES], default: 'hami-core' },
              memoryFactor: {
                type: 'integer', minimum: 1, maximum: 1024,
                description: "The vGPU device plugin's gpuMemoryFactor: volcano.sh/vgpu-memory counts units of this many MiB. Needed when a "
                  + "node's cards exceed 60000 MiB in all (kubelet drops a longer device list): 8 × 80GB cards need 11.",
              },
            },
          },
          koordinator: {
            type: 'object',
            additionalProperties: false,
            description: 'Backend koordinator: gpuIsolationProvider HAMi-core when the pool\'s nodes carry the label '
              + 'koordinator.sh/gpu-isolation-provider=HAMi-core (memory and compute limits enforced); without it nothing is isolated.',
            properties: { gpuIsolationProvider: { enum: [KOORD_HAMI_CORE] } },
          },
          dra: {
            type: 'object',
            additionalProperties: false,
            description: "Backend dra: the DRA driver whose devices the pool's DeviceClasses select, and the classes' names.",
            properties: {
              driver: {
                type: 'string', pattern: DNS_SUBDOMAIN, maxLength: 63, default: 'gpu.nvidia.com',
                description: "The driver's name, also the domain of its device attributes (NVIDIA's: gpu.nvidia.com).",
              },
              deviceClasses: {
                type: 'object',
                description: 'Per device kind (gpu for whole cards, or a MIG profile such as 3g.40gb): the DeviceClass name and, '
                  + 'optionally, its extendedResourceName. By default <pool>.gpu-admission.io and <pool>-<profile>.gpu-admission.io.',
                propertyNames: { pattern: `^gpu$|${MIG_PROFILE}` },
                additionalProperties: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    name: { type: 'string', pattern: DNS_SUBDOMAIN, maxLength: 253 },
                    extendedResourceName: {
                      type: 'string', pattern: '^(nvidia\\.com|hami\\.io)/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$', maxLength: 74,
                      description: 'nvidia.com/<name> or hami.io/<name> (name 1-63 letters, digits, -, _, .): a name the webhooks are sent, '
                        + 'so that pods asking it natively meet the namespace rules; leave it out for deviceclass.resource.kubernetes.io/<class>',
                    },
                  },
                },
              },
            },
          },
          kai: {
            type: 'object',
            additionalProperties: false,
            description: "Backend kai (KAI Scheduler): the Queue the pool's pods join, and the memory isolator its nodes run.",
            properties: {
              queue: {
                type: 'string', pattern: DNS_SUBDOMAIN, maxLength: 63,
                description: 'The KAI Queue written into the pod label queueLabel (a label the pod has is kept); KAI\'s default queue when unset.',
              },
              queueLabel: { type: 'string', pattern: LABEL_KEY, maxLength: 253, default: 'kai.scheduler/queue' },
              gpuIsolationProvider: {
                enum: ['HAMi-core'],
                description: "HAMi-core: kai-resource-isolator limits a share's memory on the pool's nodes (they need nvidia.com/gpu.memory); "
                  + 'without it a KAI share isolates nothing.',
              },
            },
          },
          gke: {
            type: 'object',
            additionalProperties: false,
            required: ['sharingStrategy', 'maxSharedClientsPerGpu'],
            description: "Backend gke: the node pool's GPU sharing, as GKE labels its nodes (gke-gpu-sharing-strategy, "
              + 'gke-max-shared-clients-per-gpu); leave it out for whole cards, and give mig.profiles (one) for a partition size.',
            properties: {
              sharingStrategy: {
                enum: ['time-sharing', 'mps', 'TIME_SHARING', 'MPS'],
                description: 'The value of cloud.google.com/gke-gpu-sharing-strategy on the nodes: time-sharing or mps on node pools, '
                  + 'TIME_SHARING or MPS on auto-provisioned nodes.',
              },
              maxSharedClientsPerGpu: {
                type: 'integer', minimum: 1,
                description: 'cloud.google.com/gke-max-shared-clients-per-gpu: containers that share one GPU (nvidia.com/gpu per card).',
              },
            },
          },
          schedulerName: { type: 'string', pattern: DNS_LABEL },
        },
      },
    },
    namespaces: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          names: { type: 'array', minItems: 1, items: { type: 'string', pattern: DNS_LABEL } },
          selector: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              matchLabels: labelMap,
              matchExpressions: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['key', 'operator'],
                  properties: {
                    key: { type: 'string', pattern: LABEL_KEY },
                    operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
                    values: { type: 'array', items: { type: 'string', pattern: LABEL_VALUE } },
                  },
                },
              },
            },
          },
          allowedPools: { type: 'array', items: { type: 'string' } },
          preferredPools: {
            type: 'array', items: { type: 'string' },
            description: 'Pools these namespaces try first, in this order; the others follow in policy order.',
          },
          maxGpusPerPod: positiveInt,
          isolation: { enum: [...ISOLATIONS] },
        },
      },
    },
  },
} as const;

/**
 * Kubernetes' own pattern for a resource.Quantity, as its CRDs publish it (controller-gen's
 * x-kubernetes-int-or-string quantities): what a validator without our `quantity` format checks.
 */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/**
 * The policy schema as a part of another schema (the Helm chart's values.schema.json, under
 * definitions.policy), for validators that know only standard keywords: without the
 * document-level $schema and $id, and with our `quantity` format spelled as Kubernetes'
 * quantity pattern (Helm ignores formats it does not know).
 */
export function embeddedPolicySchema(): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = policySchema;
  const standard = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(standard);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === 'format' && value === 'quantity') out['pattern'] = QUANTITY_PATTERN;
      else out[key] = standard(value);
    }
    return out;
  };
  return standard(rest) as Record<string, unknown>;
}
