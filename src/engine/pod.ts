/**
 * The parts of the Kubernetes Pod (core/v1) the engine reads and writes, with Kubernetes' own
 * field names. Everything else on a pod passes through untouched.
 */

import type { NodeSelectorTerm } from '../vocabulary/node-selector.ts';

export type { NodeSelectorRequirement, NodeSelectorTerm } from '../vocabulary/node-selector.ts';

/** A resource quantity as it appears on the wire: a string (`12Gi`), or a number in YAML files. */
export type QuantityValue = string | number;
export type ResourceList = Record<string, QuantityValue>;

export interface ResourceRequirements {
  limits?: ResourceList;
  requests?: ResourceList;
}

export interface SecurityContext {
  privileged?: boolean;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  resources?: ResourceRequirements;
  /** On an init container, `Always` makes it a native sidecar. */
  restartPolicy?: string;
  securityContext?: SecurityContext;
  [key: string]: unknown;
}

export interface PreferredSchedulingTerm {
  weight: number;
  preference: NodeSelectorTerm;
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
  preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  affinity?: { nodeAffinity?: NodeAffinity; [key: string]: unknown };
  tolerations?: Toleration[];
  schedulerName?: string;
  /** Labels a node must carry; ANDed with the required node affinity. */
  nodeSelector?: Record<string, string>;
  /** Set when the pod is bound (or created bound): no scheduler runs for it. */
  nodeName?: string;
  [key: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: PodSpec;
  [key: string]: unknown;
}

/** What the engine knows of the pod's namespace (the review does not carry its labels). */
export interface NamespaceFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}
