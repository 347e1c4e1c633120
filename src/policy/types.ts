/** The typed, validated and frozen policy. Field names mirror the policy YAML (DESIGN.md §3). */

import type { Backend, Isolation, Placement } from '../vocabulary/backends.ts';

export interface PoolToleration {
  readonly key?: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface PoolGpu {
  /** Exact model name matched against the pod's gpu-model annotation. */
  readonly model: string;
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

export interface Pool {
  readonly name: string;
  readonly backend: Backend;
  /** Placement of shared pools (ACK label ack.node.gpu.placement); binpack by default there. */
  readonly placement?: Placement;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly gpu: PoolGpu;
  readonly numa?: PoolNuma;
  readonly rdma: boolean;
  /** Extended resource that grants RDMA on this pool (ACK eRDMA by default). */
  readonly rdmaResource: string;
  readonly taints: readonly PoolToleration[];
  readonly mig?: { readonly profiles: readonly string[] };
  readonly timeSlicing?: { readonly resource: string };
  /** Scheduler the pool's pods need (hami-scheduler on HAMi pools by default). */
  readonly schedulerName?: string;
}

export interface NamespaceRule {
  readonly names?: readonly string[];
  readonly selector?: { readonly matchLabels: Readonly<Record<string, string>> };
  readonly allowedPools?: readonly string[];
  readonly maxGpusPerPod?: number;
  readonly isolation?: Isolation;
}

export interface PolicyDefaults {
  readonly acceptNvidiaGpu: boolean;
  readonly rounding: 'up' | 'deny';
  readonly isolation: Isolation;
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
