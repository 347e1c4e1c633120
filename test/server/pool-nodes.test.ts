// The watched GPU nodes in the webhook: the no-Ready-node warning and the pool gauges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { poolNodeSummary, toClusterNode, type ClusterNode, type NodeSource } from '../../src/cluster/model.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { noReadyNodeWarning } from '../../src/server/pool-nodes.ts';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { NodeCache } from '../../src/kube/node-watch.ts';
import { fixture, testApp } from './support.ts';

const node = (name: string, ready: boolean, labels: Record<string, string>, allocatable: Record<string, string>): unknown => ({
  metadata: { name, labels },
  status: { allocatable, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const T4 = (name: string, ready: boolean): unknown =>
  node(name, ready, { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }, { 'aliyun.com/gpu-mem': '15', 'aliyun.com/gpu-count': '1' });

function source(nodes: readonly unknown[], listed = true): NodeSource {
  const list: ClusterNode[] = nodes.map(toClusterNode);
  return { nodes: () => list, version: () => 1, notReadyReason: () => (listed ? undefined : 'waiting'), start: async () => {}, stop: async () => {} };
}

async function warnings(nodeSource: NodeSource): Promise<string[]> {
  const res = await request(testApp({ nodeSource }).app).post('/mutate').send(fixture('shared-gpu-pod'));
  return (res.body as AdmissionReview).response?.warnings ?? [];
}

describe('pools without a Ready node', () => {
  it('when the only pool a pod is routed to has no Ready node, then it is still patched, with a warning that says so', async () => {
    const res = await request(testApp({ nodeSource: source([T4('t4-1', false)]) }).app).post('/mutate').send(fixture('shared-gpu-pod'));
    const review = res.body as AdmissionReview;
    assert.equal(review.response?.allowed, true);
    assert.equal(review.response?.patchType, 'JSONPatch');
    assert.ok(review.response?.warnings?.includes('pool t4-shared has no Ready node now (1 in all): the pod waits until one is Ready or added'),
      JSON.stringify(review.response?.warnings));
  });

  it('when the pool has a Ready node, or the nodes are not listed yet, or nodes are not watched, then there is no such warning', async () => {
    for (const s of [source([T4('t4-1', false), T4('t4-2', true)]), source([], false)]) {
      assert.ok(!(await warnings(s)).some((w) => w.includes('no Ready node')));
    }
    const res = await request(testApp().app).post('/mutate').send(fixture('shared-gpu-pod'));
    assert.ok(!((res.body as AdmissionReview).response?.warnings ?? []).some((w) => w.includes('no Ready node')));
  });

  it('when /metrics is scraped, then each pool\'s Ready and not-Ready nodes and capacity are gauges', async () => {
    const { app, registry } = testApp({ nodeSource: source([T4('t4-1', false), T4('t4-2', true)]) });
    await request(app).get('/metrics');
    const text = await registry.metrics();
    assert.match(text, /gpu_admission_pool_nodes\{pool="t4-shared",ready="true"\} 1/);
    assert.match(text, /gpu_admission_pool_nodes\{pool="t4-shared",ready="false"\} 1/);
    assert.match(text, /gpu_admission_pool_nodes\{pool="h100",ready="true"\} 0/);
    assert.match(text, /gpu_admission_pool_capacity\{pool="t4-shared",resource="aliyun.com\/gpu-mem"\} 30/);
  });
});

describe('pools ruled out by their known nodes', () => {
  const A10 = node('a10-1', true, { 'ack.node.gpu.schedule': 'core_mem', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' }, { 'aliyun.com/gpu-mem': '96' });
  const MIG = node('a100-1', true, { 'ack.node.gpu.schedule': 'mig', 'aliyun.accelerator/nvidia_name': 'A100-SXM4-80GB' }, { 'nvidia.com/mig-3g.40gb': '16' });
  // 8Gi and 30% compute with a nodeSelector on a label no pool's terms name: only the nodes can tell.
  const zonedShare = (): ReturnType<typeof fixture> => {
    const review = fixture('shared-gpu-pod');
    const pod = review.request?.object as { spec: { nodeSelector?: Record<string, string>; containers: { resources: unknown }[] } };
    pod.spec.nodeSelector = { zone: 'a' };
    for (const c of pod.spec.containers) c.resources = { limits: { 'gpu-admission.io/gpu-memory': '8Gi', 'gpu-admission.io/gpu-cores': '30' } };
    return review;
  };

  it('when /mutate knows that none of a pool\'s nodes carries the pod\'s nodeSelector, then that pool is ruled out with why', async () => {
    const res = await request(testApp({ nodeSource: source([A10, MIG]) }).app).post('/mutate').send(zonedShare());
    const review = res.body as AdmissionReview;
    assert.match(review.response?.status?.message ?? '', /pool a10-core: the pod's nodeSelector zone=a matches none of its 1 node/);
    const open = (await request(testApp().app).post('/mutate').send(zonedShare())).body as AdmissionReview;
    assert.equal(open.response?.patchType, 'JSONPatch', 'without the node cache the pool stays open');
  });

  it('when /validate-workloads decides a template, then the known nodes rule pools out there too, as its pods will be', async () => {
    const pod = zonedShare().request?.object as Record<string, unknown>;
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'ml' }, spec: { template: { metadata: {}, spec: (pod as { spec: unknown }).spec } } };
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
      uid: 'u', kind: { group: 'batch', version: 'v1', kind: 'Job' }, resource: { group: 'batch', version: 'v1', resource: 'jobs' },
      operation: 'CREATE', namespace: 'ml', name: 'j', object: job, userInfo: { username: 'alice' } } };
    const res = await request(testApp({ nodeSource: source([A10, MIG]) }).app).post('/validate-workloads').send(review);
    assert.match((res.body as AdmissionReview).response?.status?.message ?? '', /pool a10-core: the pod's nodeSelector zone=a matches none of its 1 node/);
  });
});

describe('dra pools and the node cache', () => {
  it('when a pod is routed to a dra pool, whose nodes advertise nothing, then there is no no-Ready-node warning and no gauge of 0 for it', () => {
    const policy = parsePolicyOrThrow(readFileSync(new URL('../../examples/policies/dra.yaml', import.meta.url), 'utf8'));
    const l4 = toClusterNode(node('l4-1', true, { 'node.kubernetes.io/instance-type': 'g6.12xlarge', 'nvidia.com/gpu.product': 'NVIDIA-L4' }, { 'nvidia.com/gpu': '4' }));
    const summary = poolNodeSummary(policy, [l4]);
    assert.deepEqual([...summary.keys()], ['l4'], 'dra pools are not counted');
    assert.equal(noReadyNodeWarning(['h100'], summary), undefined);
    assert.equal(noReadyNodeWarning(['l4'], poolNodeSummary(policy, [])), 'pool l4 has no Ready node now (0 in all): the pod waits until one is Ready or added');
  });
});

describe('the GPU node cache', () => {
  it('when listed and changed, then it keeps GPU nodes only and counts a version only for changes it keeps', () => {
    const cache = new NodeCache(pino({ level: 'silent' }));
    assert.match(cache.notReadyReason() ?? '', /waiting/);
    cache.snapshot([T4('t4-1', true), node('cpu-1', true, {}, { cpu: '8' })] as never[]);
    assert.deepEqual(cache.nodes().map((n) => n.name), ['t4-1']);
    assert.equal(cache.notReadyReason(), undefined);
    const v = cache.version();
    cache.change('MODIFIED', T4('t4-1', true) as never); // a heartbeat: nothing the cache keeps changed
    assert.equal(cache.version(), v);
    cache.change('MODIFIED', T4('t4-1', false) as never);
    assert.equal(cache.version(), v + 1);
    assert.equal(cache.nodes()[0]?.ready, false);
    cache.change('DELETED', T4('t4-1', false) as never);
    assert.deepEqual(cache.nodes(), []);
  });
});
