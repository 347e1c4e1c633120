import { parsePolicyOrThrow } from './parse.ts';
import type { Policy } from './types.ts';

/**
 * The embedded default policy: the design example (as test/fixtures/policies/design.yaml), an
 * ACK cluster with a shared T4 pool, an A10 memory+compute pool, A100 topology (NUMA, eRDMA) and MIG pools, and H100 cards.
 * Used by `npm start` and the CLI when no policy is given.
 */
export const DEFAULT_POLICY_YAML = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
defaults:
  acceptNvidiaGpu: true        # read plain nvidia.com/gpu as a generic whole-GPU request
  rounding: up                 # up (with a warning) | deny — memory to whole GiB, cores to multiples of 5
  isolation: none              # minimum isolation when the pod does not say
pools:                         # order is preference
  - name: t4-shared
    backend: ack-cgpu
    placement: binpack
    nodeSelector: {aliyun.accelerator/nvidia_name: Tesla-T4}
    gpu: {model: Tesla-T4, memory: 15Gi, perNode: 1}
  - name: a10-core
    backend: ack-core-mem
    gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}
  - name: a100-topology
    backend: ack-topology
    gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 8}
    numa: {nodes: 2, gpusPerNode: 4, cpusPerNode: 64}
    rdma: true
    taints: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  - name: a100-mig
    backend: ack-mig
    gpu: {model: A100-SXM4-80GB, memory: 80Gi, perNode: 8}
    mig: {profiles: [1g.10gb, 2g.20gb, 3g.40gb, 7g.80gb]}
  - name: h100
    backend: ack-exclusive
    gpu: {model: H100, memory: 80Gi, perNode: 8}
namespaces:
  - names: [research]
    allowedPools: [a100-topology, a100-mig]
    maxGpusPerPod: 8
`;

let cached: Policy | undefined;

export function defaultPolicy(): Policy {
  cached ??= parsePolicyOrThrow(DEFAULT_POLICY_YAML, 'embedded');
  return cached;
}
