/** gpu-admission's public names (changing one breaks users) and the native names of each GPU dialect. */

export const PREFIX = 'gpu-admission.io/';

export const GENERIC = {
  gpu: 'gpu-admission.io/gpu',
  memory: 'gpu-admission.io/gpu-memory',
  cores: 'gpu-admission.io/gpu-cores',
} as const;

export const ANNOTATION = {
  pools: 'gpu-admission.io/pools',
  model: 'gpu-admission.io/gpu-model',
  numa: 'gpu-admission.io/numa',
  numaExclusive: 'gpu-admission.io/numa-exclusive',
  rdma: 'gpu-admission.io/rdma',
  isolation: 'gpu-admission.io/isolation',
  placement: 'gpu-admission.io/placement',
  decision: 'gpu-admission.io/decision',
} as const;

/** Where the policy lives: the ConfigMap, its namespace and the key that holds the YAML. */
export const POLICY_CONFIGMAP = { namespace: 'gpu-admission', name: 'gpu-admission-policy', key: 'policy.yaml' } as const;

export const NAMESPACE_OPT_IN = { key: 'gpu-admission.io/enabled', value: 'true', audit: 'audit' } as const;

export const NATIVE = {
  nvidiaGpu: 'nvidia.com/gpu',
  aliyunGpu: 'aliyun.com/gpu',
  aliyunGpuMem: 'aliyun.com/gpu-mem',
  aliyunGpuCore: 'aliyun.com/gpu-core.percentage',
  hamiMem: 'nvidia.com/gpumem',
  hamiMemPercent: 'nvidia.com/gpumem-percentage',
  hamiCores: 'nvidia.com/gpucores',
  migPrefix: 'nvidia.com/mig-',
} as const;

/**
 * Kubernetes DRA: every DeviceClass can be asked for as the extended resource
 * `deviceclass.resource.kubernetes.io/<class>` (KEP-5004, GA in 1.37); the scheduler makes the claim.
 */
export const DRA_CLASS_RESOURCE_PREFIX = 'deviceclass.resource.kubernetes.io/';
/** NVIDIA's DRA driver (k8s-dra-driver-gpu): its driver name, which is also the domain of its device attributes. */
export const NVIDIA_DRA_DRIVER = 'gpu.nvidia.com';

/**
 * Resource-name prefixes of every GPU request the webhooks are called for (generic and native;
 * DRA's implicit DeviceClass names): a native request under no prefix never reaches them.
 */
export const GPU_RESOURCE_PREFIXES = [
  'gpu-admission.io/', 'nvidia.com/', 'aliyun.com/gpu', 'hami.io/', DRA_CLASS_RESOURCE_PREFIX, 'volcano.sh/vgpu', 'koordinator.sh/gpu',
] as const;

/**
 * DeviceClasses of GPU drivers (NVIDIA's gpu.nvidia.com, mig.nvidia.com, vfio.gpu.nvidia.com and
 * classes named after them, AMD's, Intel's, HAMi-DRA's): asked by their implicit name, they are GPU
 * requests even when no pool of the policy owns them. Other classes (NICs, FPGAs) are not ours.
 */
export const GPU_DRIVER_CLASS = /(^|\.)(gpu\.nvidia\.com|mig\.nvidia\.com|gpu\.amd\.com|gpu\.intel\.com|project-hami\.io)$/;

/** ACK: the pod label that spreads a shared request over N cards. */
export const ACK_GPU_COUNT_LABEL = 'aliyun.com/gpu-count';
export const ACK_SCHEDULE_LABEL = 'ack.node.gpu.schedule';
export const ACK_PLACEMENT_LABEL = 'ack.node.gpu.placement';
export const NVIDIA_MIG_STRATEGY_LABEL = 'nvidia.com/mig.strategy';
/** Kueue's label on a workload it queues: Kueue picks its flavor, and so its pool, when it admits it. */
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
/** ACK's node label for the GPU model: the nvidia-smi name with spaces as `-` (Tesla-T4, NVIDIA-A10). */
export const ACK_MODEL_LABEL = 'aliyun.accelerator/nvidia_name';
/** GPU feature discovery's node label for the GPU model (NVIDIA-A100-SXM4-80GB). */
export const NVIDIA_PRODUCT_LABEL = 'nvidia.com/gpu.product';
/** HAMi's pod annotation that limits a pod to card types (case-insensitive substring of the type). */
export const HAMI_GPU_TYPE_ANNOTATION = 'nvidia.com/use-gputype';
/** HAMi's pod annotation that keeps a pod off card types (the same substring match). */
export const HAMI_GPU_NOUSE_ANNOTATION = 'nvidia.com/nouse-gputype';
/** HAMi's pod annotation that picks how cards are chosen on a node: binpack or spread (pkg/util/types.go). */
export const HAMI_GPU_POLICY_ANNOTATION = 'hami.io/gpu-scheduler-policy';
export const ACK_CPUSET_ANNOTATION = 'cpuset-scheduler';
export const ACK_NUMA_ANNOTATION = 'scheduling.alibabacloud.com/numa-topology-spec';
export const HAMI_SCHEDULER = 'hami-scheduler';

/**
 * Volcano's vGPU (HAMi's engine under Volcano's names; volcano-sh/volcano
 * pkg/scheduler/api/devices/config/vgpu.go and nvidia/vgpu/type.go): the resources the
 * volcano-vgpu-device-plugin advertises by default, the pod annotation that pins a sharing mode,
 * the node annotation where the plugin registers its cards, and the scheduler.
 */
export const VOLCANO = {
  scheduler: 'volcano',
  number: 'volcano.sh/vgpu-number',
  memory: 'volcano.sh/vgpu-memory',
  memoryPercentage: 'volcano.sh/vgpu-memory-percentage',
  cores: 'volcano.sh/vgpu-cores',
  modeAnnotation: 'volcano.sh/vgpu-mode',
  register: 'volcano.sh/node-vgpu-register',
} as const;
/** The sharing modes a Volcano vGPU node runs (nvidia/vgpu/type.go: vGPUControllerHAMICore, vGPUControllerMIG). */
export const VOLCANO_MODES = ['hami-core', 'mig'] as const;
export type VolcanoMode = (typeof VOLCANO_MODES)[number];

/**
 * Koordinator's device share (koordinator-sh/koordinator apis/extension/device_share.go,
 * numa_aware.go): its GPU resources (pod totals over `gpu.shared` cards), RDMA, the node labels
 * slo-controller copies from the Device CR, the HAMi-core isolation label, the pod annotations
 * for NUMA and joint GPU+RDMA allocation, and the scheduler.
 */
export const KOORD = {
  scheduler: 'koord-scheduler',
  gpuShared: 'koordinator.sh/gpu.shared',
  gpuCore: 'koordinator.sh/gpu-core',
  gpuMemory: 'koordinator.sh/gpu-memory',
  gpuMemoryRatio: 'koordinator.sh/gpu-memory-ratio',
  gpu: 'koordinator.sh/gpu',
  rdma: 'koordinator.sh/rdma',
  modelLabel: 'node.koordinator.sh/gpu-model',
  vendorLabel: 'node.koordinator.sh/gpu-vendor',
  isolationLabel: 'koordinator.sh/gpu-isolation-provider',
  numaAnnotation: 'scheduling.koordinator.sh/numa-topology-spec',
  jointAllocateAnnotation: 'scheduling.koordinator.sh/device-joint-allocate',
  deviceAllocated: 'scheduling.koordinator.sh/device-allocated',
} as const;
/** The one isolation provider Koordinator knows: GPUIsolationProviderHAMICore, compared exactly. */
export const KOORD_HAMI_CORE = 'HAMi-core';

/**
 * KAI Scheduler (kai-scheduler/KAI-Scheduler pkg/common/constants/constants.go): its scheduler,
 * its queue label, and the pod annotations of a GPU share (docs/backends.md, `kai`).
 */
export const KAI = {
  scheduler: 'kai-scheduler',
  queueLabel: 'kai.scheduler/queue',
  fraction: 'gpu-fraction',
  memory: 'gpu-memory',
  numDevices: 'gpu-fraction-num-devices',
  containerName: 'gpu-fraction-container-name',
  /** The node label of KAI's node pools (scheduling shards), which the cluster's operator sets. */
  nodePoolLabel: 'kai.scheduler/node-pool',
  /** The pod annotation that asks MPS for a share (MpsAnnotation; "true" without a share is refused by KAI's admission). */
  mps: 'mps',
  /** GPU feature discovery's card memory in MiB: KAI's gpu-memory and its HAMi-core limit read it. */
  nodeMemoryLabel: 'nvidia.com/gpu.memory',
  /** The name KAI's operator gives its MutatingWebhookConfiguration (admission.mutatingWebhookConfigurationName). */
  webhookConfiguration: 'mutating-kai-admission',
} as const;
/** The KAI pod annotations that ask for a share of a card. */
export const KAI_SHARE_ANNOTATIONS = [KAI.fraction, KAI.memory, KAI.numDevices, KAI.containerName] as const;

/** Annotations only a device plugin, a scheduler or this webhook may write. */
export function isReservedAnnotation(key: string): boolean {
  return key.startsWith('ALIYUN_COM_GPU_MEM_') || HAMI_ALLOCATION_KEYS.has(key) || VOLCANO_ALLOCATION_KEYS.has(key)
    || key === KOORD.deviceAllocated || key === ANNOTATION.decision;
}

/** HAMi's allocation bookkeeping (written by hami-scheduler and its device plugin). */
const HAMI_ALLOCATION_KEYS: ReadonlySet<string> = new Set([
  'hami.io/vgpu-devices-to-allocate', 'hami.io/vgpu-devices-allocated', 'hami.io/vgpu-node',
  'hami.io/vgpu-time', 'hami.io/bind-phase', 'hami.io/bind-time',
  'hami.io/mutex.lock', 'hami.io/node-handshake', 'hami.io/node-nvidia-register',
]);

/** Volcano vGPU's allocation bookkeeping (nvidia/vgpu/type.go: AssignedIDsAnnotations, AssignedNodeAnnotations, …). */
const VOLCANO_ALLOCATION_KEYS: ReadonlySet<string> = new Set([
  'volcano.sh/vgpu-ids-new', 'volcano.sh/devices-to-allocate', 'volcano.sh/vgpu-node', 'volcano.sh/vgpu-time', 'volcano.sh/bind-phase', 'volcano.sh/bind-time',
]);
