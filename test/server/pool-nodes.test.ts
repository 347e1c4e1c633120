// The watched GPU nodes in the webhook: the no-Ready-node warning and the pool gauges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import { toClusterNode, type ClusterNode, type NodeSource } from '../../src/cluster/model.ts';
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
