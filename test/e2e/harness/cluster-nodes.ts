// Nodes as the real device plugins and labellers publish them, for the cluster view:
// ACK cGPU / core_mem (gpushare device plugin: aliyun.com/gpu-mem in GiB and aliyun.com/gpu-count),
// ACK topology (aliyun.com/gpu), ACK MIG (nvidia.com/mig-<profile>), NVIDIA GPU feature discovery
// (nvidia.com/gpu.product, .memory in MiB, .count), HAMi (hami.io/node-nvidia-register, JSON).
// Created without status, then given status through the status subresource, as a kubelet does.

export interface GpuNode {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly resources: Record<string, string>;
  readonly ready?: boolean;
}

const hamiCards = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => ({
  id: `GPU-0000000${i}-l20`, index: i, count: 10, devmem: 46068, devcore: 100, type: 'NVIDIA-NVIDIA L20', numa: i < 2 ? 0 : 1, health: true,
})));

export const CLUSTER_NODES: readonly GpuNode[] = [
  { name: 't4-a', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' },
    resources: { 'aliyun.com/gpu-mem': '30', 'aliyun.com/gpu-count': '2' } },
  { name: 't4-b', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' },
    resources: { 'aliyun.com/gpu-mem': '30', 'aliyun.com/gpu-count': '2' }, ready: false },
  { name: 'a10-a', labels: { 'ack.node.gpu.schedule': 'core_mem', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' },
    resources: { 'aliyun.com/gpu-mem': '96', 'aliyun.com/gpu-count': '4', 'aliyun.com/gpu-core.percentage': '400' } },
  { name: 'a100-topo-a', labels: { 'ack.node.gpu.schedule': 'topology', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A100-SXM4-80GB' },
    resources: { 'aliyun.com/gpu': '8', 'aliyun/erdma': '8' } },
  { name: 'a100-mig-a', labels: { 'ack.node.gpu.schedule': 'mig', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A100-SXM4-40GB' },
    resources: { 'nvidia.com/mig-1g.5gb': '7', 'nvidia.com/mig-3g.20gb': '2' } },
  { name: 'h100-a', labels: { 'node-pool': 'h100', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.memory': '81559', 'nvidia.com/gpu.count': '8' },
    resources: { 'nvidia.com/gpu': '8' } },
  { name: 'l20-a', labels: { gpu: 'on' }, annotations: { 'hami.io/node-nvidia-register': hamiCards(4) },
        // HAMi advertises only its vGPU count: its chart marks gpumem and gpucores ignoredByScheduler.
    resources: { 'hami.io/gpu': '40' } },
  { name: 'cpu-a', labels: {}, resources: {} },
];

/** Node objects without status (as created), and the status each gets through its subresource. */
export function nodeObjects(nodes: readonly GpuNode[]): { node: Record<string, unknown>; status: Record<string, unknown> }[] {
  return nodes.map((n) => {
    const capacity = { cpu: '64', memory: '512Gi', pods: '110', ...n.resources };
    return {
      node: { apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...n.labels }, ...(n.annotations ? { annotations: n.annotations } : {}) } },
      status: { status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True', reason: 'KubeletReady', message: 'e2e node without a kubelet' }] } },
    };
  });
}
