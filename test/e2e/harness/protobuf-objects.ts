// Nodes and pods for comparing the protobuf lists with the JSON ones (test/e2e/protobuf-list.e2e.ts):
// every field the cluster model reads, set, left out and empty, and quantities in many spellings
// (the API server keeps each quantity's canonical form, the same in both encodings).
type Obj = Record<string, any>;

export interface NodeFixture { readonly node: Obj; readonly status?: Obj }
export interface PodFixture { readonly pod: Obj; readonly status?: Obj }

const node = (name: string, metadata: Obj, spec: Obj, status?: Obj): NodeFixture =>
  ({ node: { apiVersion: 'v1', kind: 'Node', metadata: { name, ...metadata }, spec }, ...(status ? { status: { status } } : {}) });

const ready = (value: string) => [
  { type: 'MemoryPressure', status: 'False' },
  { type: 'Ready', status: value, reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];

export const PROTOBUF_LIST_NODES: readonly NodeFixture[] = [
  node('pb-t4', { labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4', empty: '' }, annotations: { note: 'a "quoted" value, ünicode', blank: '' } }, {},
    { conditions: ready('True'), capacity: { 'aliyun.com/gpu-mem': '30', 'aliyun.com/gpu-count': '2', cpu: '64', memory: '263504860Ki', pods: '110' },
      allocatable: { 'aliyun.com/gpu-mem': '30', 'aliyun.com/gpu-count': '2', cpu: '63500m', memory: '250Gi', 'ephemeral-storage': '1e12', pods: '110' } }),
  node('pb-cordoned', { labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.count': '8' } }, { unschedulable: true },
    { conditions: ready('True'), capacity: { 'nvidia.com/gpu': '8', memory: '2Ti' }, allocatable: { 'nvidia.com/gpu': '8', memory: '2048Gi', cpu: '0.5', 'hugepages-2Mi': '1Gi' } }),
  node('pb-not-ready', { labels: { gpu: 'on' }, annotations: { 'hami.io/node-nvidia-register': 'GPU-1,10,46068,100,NVIDIA-L20,0,true:' } }, { unschedulable: false },
    { conditions: ready('False'), capacity: { 'hami.io/gpu': '40', 'hami.io/gpumem': '184272', cpu: '1.5', memory: '1.5Gi' } }),
  node('pb-unknown', {}, {}, { conditions: [{ type: 'Ready', status: 'Unknown' }], capacity: { cpu: '2k', memory: '100M', 'example.com/dongle': '1M' } }),
  node('pb-bare', {}, {}),
];

const container = (name: string, resources?: Obj, restartPolicy?: string): Obj =>
  ({ name, image: 'registry.k8s.io/pause:3.10', ...(resources ? { resources } : {}), ...(restartPolicy ? { restartPolicy } : {}) });

const pod = (name: string, spec: Obj, metadata: Obj = {}, phase?: string): PodFixture => ({
  pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ml', ...metadata }, spec: { schedulerName: 'nobody', ...spec } },
  ...(phase ? { status: { status: { phase } } } : {}),
});

export const PROTOBUF_LIST_PODS: readonly PodFixture[] = [
  pod('pb-infer', { nodeName: 'pb-t4', containers: [container('main', { limits: { 'aliyun.com/gpu-mem': '4', cpu: '2', memory: '8Gi' }, requests: { cpu: '500m', memory: '2048Mi' } })] },
    { annotations: { ALIYUN_COM_GPU_MEM_IDX: '0', ALIYUN_COM_GPU_MEM_POD: '4', 'gpu-admission.io/decision': JSON.stringify({ pools: ['t4-cgpu'], backend: 'ack-cgpu' }) }, labels: { app: 'x' } }, 'Running'),
  pod('pb-sidecars', {
    nodeName: 'pb-cordoned',
    initContainers: [
      container('setup', { limits: { 'nvidia.com/gpu': '8', cpu: '4' }, requests: { cpu: '3.5' } }),
      container('proxy', { requests: { cpu: '0.25', memory: '1e9' } }, 'Always'),
      container('plain'),
    ],
    containers: [container('train', { limits: { 'nvidia.com/gpu': '2', memory: '1.5Gi' } }), container('log', { requests: { memory: '512M', 'ephemeral-storage': '1G' } })],
  }, {}, 'Running'),
  pod('pb-pending', { containers: [container('main', { limits: { 'hami.io/gpu': '2', 'hami.io/gpumem': '8192', 'hami.io/gpucores': '50' } })] },
    { annotations: { 'hami.io/vgpu-devices-allocated': 'GPU-1,NVIDIA,4096,25:GPU-3,NVIDIA,4096,25:;' } }),
  pod('pb-empty', { nodeName: 'pb-not-ready', containers: [container('main')] }, { annotations: {} }, 'Running'),
  pod('pb-finished', { nodeName: 'pb-t4', containers: [container('main', { limits: { 'aliyun.com/gpu-mem': '2' } })], restartPolicy: 'Never' }, {}, 'Succeeded'),
  pod('pb-unknown-phase', { nodeName: 'pb-unknown', containers: [container('a', { limits: { 'example.com/dongle': '1' } }), container('b', { requests: { cpu: '1m' } })] }, {}, 'Unknown'),
];
