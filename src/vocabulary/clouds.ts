/**
 * The node labels managed clouds put on GPU nodes that run no GPU feature discovery, and what
 * their values look like. docs/backends.md ("Pools on GKE, EKS and AKS nodes") gives the sources.
 */

/** GKE (GoogleCloudPlatform/container-engine-accelerators, "Time-sharing GPUs on GKE", "Running multi-instance GPUs"). */
export const GKE_LABEL = {
  /** The accelerator type: nvidia-l4, nvidia-tesla-t4, nvidia-h100-80gb, … */
  accelerator: 'cloud.google.com/gke-accelerator',
  /** GPUs attached to the node. */
  count: 'cloud.google.com/gke-accelerator-count',
  /** time-sharing | mps on node pools (TIME_SHARING | MPS on auto-provisioned nodes). */
  sharingStrategy: 'cloud.google.com/gke-gpu-sharing-strategy',
  /** Containers that may share one GPU (one nvidia.com/gpu each). */
  maxSharedClients: 'cloud.google.com/gke-max-shared-clients-per-gpu',
  /** The MIG partition every GPU of the node is cut into (1g.5gb, …). */
  partitionSize: 'cloud.google.com/gke-gpu-partition-size',
} as const;

/**
 * The MIG partition sizes GKE's device plugin takes, and the partitions it expects on every card: it
 * refuses another size ("%s is not a valid GPU partition size") and a card cut into another count
 * ("Number of partitions (%d) for GPU %s does not match expected partition count (%d)"), so such a
 * node advertises no nvidia.com/gpu (gpuPartitionSizeMaxCount, pkg/gpu/nvidia/mig/mig.go, Start).
 */
export const GKE_PARTITION_COUNTS: Readonly<Record<string, number>> = {
  // A100 40GB
  '1g.5gb': 7, '2g.10gb': 3, '3g.20gb': 2, '7g.40gb': 1,
  // A100 80GB, H100 80GB
  '1g.10gb': 7, '2g.20gb': 3, '3g.40gb': 2, '7g.80gb': 1, '1g.20gb': 4,
  // H200 141GB
  '1g.18gb': 7, '1g.35gb': 4, '2g.35gb': 3, '3g.71gb': 2, '4g.71gb': 1, '7g.141gb': 1,
  // B200, GB200
  '1g.23gb': 7, '1g.45gb': 4, '2g.45gb': 3, '3g.90gb': 2, '4g.90gb': 1, '7g.180gb': 1,
  '1g.47gb': 4, '2g.47gb': 3, '3g.93gb': 2, '4g.93gb': 1, '7g.186gb': 1,
  // RTX PRO 6000
  '1g.24gb': 4, '1g.24gb+me': 1, '1g.24gb+gfx': 4, '1g.24gb+me.all': 1, '1g.24gb-me': 4,
  '2g.48gb': 2, '2g.48gb+gfx': 2, '2g.48gb+me.all': 1, '2g.48gb-me': 2, '4g.96gb': 1, '4g.96gb+gfx': 1,
};

/** Karpenter on EKS (aws/karpenter-provider-aws pkg/apis/v1/labels.go): the instance type's GPU, as EC2 describes it. */
export const KARPENTER_LABEL = {
  /** EC2's GPU name in lower kebab case: t4, a10g, l4, l40s, a100, h100. */
  gpuName: 'karpenter.k8s.aws/instance-gpu-name',
  /** MiB of one GPU. */
  gpuMemory: 'karpenter.k8s.aws/instance-gpu-memory',
  gpuCount: 'karpenter.k8s.aws/instance-gpu-count',
} as const;

/** EKS Auto Mode's copy of Karpenter's GPU name ("Create a Node Pool for EKS Auto Mode"). */
export const EKS_AUTO_GPU_NAME_LABEL = 'eks.amazonaws.com/instance-gpu-name';

/**
 * EKS Auto Mode's copies of Karpenter's GPU labels: "eks.amazonaws.com/instance-gpu-count | 1 | Number of GPUs on the instance",
 * "eks.amazonaws.com/instance-gpu-memory | 16384 | Number of mebibytes of memory on the GPU" ("Create a Node Pool for EKS Auto Mode").
 */
export const EKS_AUTO_LABEL = { gpuName: EKS_AUTO_GPU_NAME_LABEL, gpuMemory: 'eks.amazonaws.com/instance-gpu-memory', gpuCount: 'eks.amazonaws.com/instance-gpu-count' } as const;

/** The card-memory label (MiB, EC2's nominal size) beside each GPU-name label of EKS: Karpenter's, Auto Mode's. */
export const EKS_GPU_MEMORY_LABEL: Readonly<Record<string, string>> = {
  [KARPENTER_LABEL.gpuName]: KARPENTER_LABEL.gpuMemory,
  [EKS_AUTO_GPU_NAME_LABEL]: EKS_AUTO_LABEL.gpuMemory,
};

/** AKS: the reserved label for GPU nodes (vendor only), and the VM size, which names the GPU model. */
export const AKS_LABEL = { accelerator: 'kubernetes.azure.com/accelerator', agentPool: 'kubernetes.azure.com/agentpool' } as const;
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';

/** The shape of each known cloud model label's values, for a warning when a pool's gpu.product cannot be one. */
export const CLOUD_MODEL_VALUES: Readonly<Record<string, { readonly shape: RegExp; readonly example: string }>> = {
  [GKE_LABEL.accelerator]: { shape: /^nvidia-[a-z0-9-]+$/, example: 'nvidia-l4' },
  [KARPENTER_LABEL.gpuName]: { shape: /^[a-z0-9-]+$/, example: 'l40s' },
  [EKS_AUTO_GPU_NAME_LABEL]: { shape: /^[a-z0-9-]+$/, example: 'l40s' },
  [INSTANCE_TYPE_LABEL]: { shape: /^[A-Za-z0-9_.-]+$/, example: 'Standard_NC24ads_A100_v4' },
};

/**
 * The name pods ask (gpu-admission.io/gpu-model) from a cloud's model value: without the vendor
 * and Tesla, up to the first part with a digit, upper case — nvidia-l4 → L4, nvidia-tesla-t4 → T4,
 * nvidia-h100-80gb → H100, l40s → L40S, a10g → A10G; an AKS VM size by its GPU part
 * (Standard_NC24ads_A100_v4 → A100), else the size itself.
 */
export function cloudModel(value: string): string {
  const vmGpu = /^Standard_[A-Za-z0-9]+_([A-Z]+\d+[A-Za-z]*)_v\d+$/.exec(value);
  if (vmGpu) return vmGpu[1]!;
  if (value.startsWith('Standard_')) return value;
  const parts = value.toLowerCase().replace(/^nvidia-/, '').replace(/^tesla-/, '').split('-').filter(Boolean);
  const at = parts.findIndex((p) => /\d/.test(p));
  return (at < 0 ? parts : parts.slice(0, at + 1)).join('-').toUpperCase() || value;
}
