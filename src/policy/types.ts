/** The typed, validated and frozen policy. Field names mirror the policy YAML. */

import type { Backend, Isolation, Placement } from '../vocabulary/backends.ts';
import type { VolcanoMode } from '../vocabulary/names.ts';

export interface PoolToleration {
  readonly key?: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface PoolGpu {
  /** The model name pods ask for in gpu-admission.io/gpu-model (exact match, as is `product`). */
  readonly model: string;
  /** The model as the nodes' model label publishes it; `model` when the policy does not say. */
  readonly product: string;
  /**
   * The node label whose value is `product` on the pool's nodes, when it is not the family's own
   * (GPU feature discovery's nvidia.com/gpu.product): a cloud's model label on nodes without GFD.
   */
  readonly modelLabel?: string;
  /** Memory of one card, a quantity such as 24Gi. */
  readonly memory: string;
  /** GPUs on one node of the pool. */
  readonly perNode: number;
}

export interface PoolNuma {
  /** NUMA nodes per machine. */
  readonly nodes: number;
  readonly gpusPerNode: number;
  readonly cpusPerNode: number;
}

/** RDMA of a pool: the extended resource and how many a pod gets. */
export interface PoolRdma {
  readonly resource: string;
  readonly perPod: number;
}

export interface PoolMig {
  /** NVIDIA's MIG strategy: `mixed` exposes nvidia.com/mig-<profile>, `single` exposes slices as nvidia.com/gpu. */
  readonly strategy: 'mixed' | 'single';
  readonly profiles: readonly string[];
  /** Slices of each profile one card holds, when the policy gives the layout. */
  readonly layout?: Readonly<Record<string, number>>;
}

export interface PoolTimeSlicing {
  readonly resource: string;
  /** Replicas of each card; a request must fit one replica's share of its memory. */
  readonly replicas?: number;
  /** The device plugin refuses requests of more than one replica. */
  readonly failRequestsGreaterThanOne: boolean;
}

/** The resource names HAMi's chart gives (resourceName, resourceMem, resourceMemPercentage, resourceCores). */
export interface PoolHami {
  readonly resourceName: string;
  readonly resourceMem: string;
  readonly resourceMemPercentage: string;
  readonly resourceCores: string;
}

/** A kai pool: the KAI queue its pods join, and the memory isolator its nodes run, if any. */
export interface PoolKai {
  /** The KAI Queue written into the pod's queue label (a pod's own label is kept); KAI's default queue when unset. */
  readonly queue?: string;
  /** The pod label KAI's pod grouper reads the queue from (kai.scheduler/queue unless KAI was installed otherwise). */
  readonly queueLabel: string;
  /** `HAMi-core`: kai-resource-isolator runs on the pool's nodes and limits a share's memory. */
  readonly gpuIsolationProvider?: 'HAMi-core';
}

/** One DeviceClass of a dra pool: for whole cards (`device: gpu`) or for one MIG profile. */
export interface PoolDeviceClass {
  /** `gpu`, or the MIG profile (`3g.40gb`) whose devices the class selects. */
  readonly device: string;
  /** The cluster-scoped DeviceClass's name. */
  readonly name: string;
  /** The class's spec.extendedResourceName, when the policy gives one. */
  readonly extendedResourceName?: string;
  /** What pods ask: the extendedResourceName, else `deviceclass.resource.kubernetes.io/<name>`. */
  readonly resource: string;
}

/** Set on every dra pool: the driver whose devices its classes select, and one class per device kind it serves. */
export interface PoolDra {
  readonly driver: string;
  readonly deviceClasses: readonly PoolDeviceClass[];
}

/** Set on every volcano-vgpu pool: the sharing mode its nodes run (volcano-vgpu-node-config's operatingmode). */
export interface PoolVolcano {
  readonly mode: VolcanoMode;
  /**
   * MiB per unit of volcano.sh/vgpu-memory: the device plugin's gpuMemoryFactor (1 by default), which
   * both the plugin (register.go, server.go) and Volcano's scheduler (vgpu.go GPUMemoryFactor) apply.
   */
  readonly memoryFactor?: number;
}

/** Set on every koordinator pool: whether its nodes carry koordinator.sh/gpu-isolation-provider=HAMi-core. */
export interface PoolKoordinator {
  readonly gpuIsolationProvider?: 'HAMi-core';
}

/** Set on gke pools that share cards: the node pool's sharing strategy and clients per card. */
export interface PoolGke {
  /** The label value as the nodes carry it (time-sharing, mps; TIME_SHARING, MPS on auto-provisioned nodes). */
  readonly sharingStrategy: 'time-sharing' | 'mps' | 'TIME_SHARING' | 'MPS';
  readonly maxSharedClientsPerGpu: number;
}

export interface Pool {
  readonly name: string;
  readonly backend: Backend;
  /** Placement of shared pools (ACK label ack.node.gpu.placement); binpack by default there. */
  readonly placement?: Placement;
  /** A drained pool: nothing new is routed to it. */
  readonly disabled: boolean;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly gpu: PoolGpu;
  readonly numa?: PoolNuma;
  readonly rdma?: PoolRdma;
  readonly taints: readonly PoolToleration[];
  readonly mig?: PoolMig;
  /** Set on every nvidia-time-slicing pool. */
  readonly timeSlicing?: PoolTimeSlicing;
  /** Set on every hami pool, and on every volcano-vgpu pool (Volcano's names for HAMi's resources). */
  readonly hami?: PoolHami;
  /** Set on every volcano-vgpu pool. */
  readonly volcano?: PoolVolcano;
  /** Set on every koordinator pool. */
  readonly koordinator?: PoolKoordinator;
  /** Set on every dra pool. */
  readonly dra?: PoolDra;
  /** Set on every kai pool. */
  readonly kai?: PoolKai;
  /** GKE sharing (time-sharing, MPS) of a gke pool. */
  readonly gke?: PoolGke;
  /** Scheduler the pool's pods need (hami-scheduler on HAMi pools by default). */
  readonly schedulerName?: string;
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

export interface NamespaceRule {
  readonly names?: readonly string[];
  readonly selector?: {
    readonly matchLabels?: Readonly<Record<string, string>>;
    readonly matchExpressions?: readonly LabelSelectorRequirement[];
  };
  readonly allowedPools?: readonly string[];
  /** Pools these namespaces try first, in this order. */
  readonly preferredPools?: readonly string[];
  readonly maxGpusPerPod?: number;
  readonly isolation?: Isolation;
}

export interface PolicyDefaults {
  readonly acceptNvidiaGpu: boolean;
  readonly rounding: 'up' | 'deny';
  readonly isolation: Isolation;
  /** A node label key whose value is the pool's name on each of its nodes; added to every pool's nodeSelector. */
  readonly poolLabel?: string;
}

export interface Policy {
  readonly apiVersion: 'gpu-admission.io/v1alpha1';
  readonly kind: 'GpuAdmissionPolicy';
  readonly defaults: PolicyDefaults;
  readonly pools: readonly Pool[];
  readonly namespaces: readonly NamespaceRule[];
  /** Identifies this exact policy: the source's version (if any) and a content hash. */
  readonly revision: string;
}
