// Node objects for the pools of the e2e policy (the design example plus a HAMi pool): the
// labels each backend selects on, taints, and capacity for the resources the webhook writes.
// There is no kubelet, so status is set on create and the real scheduler places pods on them.

interface NodeSpec {
  name: string;
  labels: Record<string, string>;
  resources: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
}

const NODES: NodeSpec[] = [
  { name: 't4-1', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' },
    resources: { 'aliyun.com/gpu-mem': '15' } },
  { name: 'a10-cgpu-1', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' },
    resources: { 'aliyun.com/gpu-mem': '96' } },
  { name: 'v100-1', labels: { 'aliyun.accelerator/nvidia_name': 'Tesla-V100' }, resources: { 'nvidia.com/gpu': '8' } },
  { name: 'a10-1', labels: { 'ack.node.gpu.schedule': 'core_mem', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' },
    resources: { 'aliyun.com/gpu-mem': '96', 'aliyun.com/gpu-core.percentage': '400' } },
  { name: 'a100-topo-1', labels: { 'ack.node.gpu.schedule': 'topology', 'aliyun.accelerator/nvidia_name': 'A100-SXM4-80GB' },
    resources: { 'aliyun.com/gpu': '8', 'aliyun/erdma': '8' }, taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] },
  { name: 'a100-topo-2', labels: { 'ack.node.gpu.schedule': 'topology', 'aliyun.accelerator/nvidia_name': 'A100-SXM4-80GB' },
    resources: { 'aliyun.com/gpu': '8', 'aliyun/erdma': '8' }, taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] },
  { name: 'a100-mig-1', labels: { 'ack.node.gpu.schedule': 'mig', 'aliyun.accelerator/nvidia_name': 'A100-SXM4-80GB' },
    resources: { 'nvidia.com/mig-1g.10gb': '7', 'nvidia.com/mig-2g.20gb': '3', 'nvidia.com/mig-3g.40gb': '2', 'nvidia.com/mig-7g.80gb': '1' } },
  { name: 'h100-1', labels: { 'aliyun.accelerator/nvidia_name': 'NVIDIA-H100' }, resources: { 'nvidia.com/gpu': '8' } },
  { name: 'h100-2', labels: { 'aliyun.accelerator/nvidia_name': 'NVIDIA-H100' }, resources: { 'nvidia.com/gpu': '8' } },
  { name: 'l20-hami-1', labels: { 'gpu.pool/name': 'l20-hami' },
    resources: { 'hami.io/gpu': '40', 'hami.io/gpumem': '393216', 'hami.io/gpucores': '800' } },
  { name: 'cpu-1', labels: { 'node-role.example.com/cpu': 'true' }, resources: {} },
];

export function gpuNodes(): unknown[] {
  return NODES.map((n) => {
    const capacity = { cpu: '128', memory: '1Ti', pods: '110', ...n.resources };
    return {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', ...n.labels } },
      spec: n.taints ? { taints: n.taints } : {},
      status: {
        capacity, allocatable: capacity,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'e2e node without a kubelet' }],
      },
    };
  });
}

/** The nodes a pool's pods may land on. */
export const POOL_NODES: Readonly<Record<string, readonly string[]>> = {
  't4-shared': ['t4-1'], 'a10-cgpu': ['a10-cgpu-1'], 'v100': ['v100-1'], 'a10-core': ['a10-1'], 'a100-topology': ['a100-topo-1', 'a100-topo-2'], 'a100-mig': ['a100-mig-1'],
  h100: ['h100-1', 'h100-2'], 'l20-hami': ['l20-hami-1'],
};
