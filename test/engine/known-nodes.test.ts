// A pool is ruled out when the pod's own node constraints cannot meet its nodes: by the pool's
// terms always, and by its nodes when the webhook knows them (the node cache). The pod's
// nodeSelector here is what Kueue writes at admission: the T4 flavor's nodeLabels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type DecideContext } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { applied, podWith } from '../helpers/pods.ts';
import { fixturePolicy } from '../helpers/policies.ts';

const policy = fixturePolicy('kueue');
const T4_FLAVOR = { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' };
const nodesOf = (pools: Record<string, Record<string, string>[]>): DecideContext['knownNodes'] =>
  new Map(Object.entries(pools).map(([pool, labels]) => [pool, { labels }]));
const KNOWN = nodesOf({
  't4-shared': [T4_FLAVOR],
  'a10-core': [{ 'ack.node.gpu.schedule': 'core_mem', 'aliyun.accelerator/nvidia_name': 'NVIDIA-A10' }],
  'l20-hami': [{ gpu: 'on', 'gpu.pool/name': 'l20-hami' }, { gpu: 'on', 'gpu.pool/name': 'l20-hami', zone: 'b' }],
});
const context = (knownNodes?: DecideContext['knownNodes']): DecideContext =>
  ({ policy, namespace: { name: 'ml', labels: {} }, ...(knownNodes ? { knownNodes } : {}) });
// 8Gi and 30% compute: the T4 pool cannot limit compute; only a10-core and l20-hami can.
const shareOnT4Flavor = (spec: Record<string, unknown> = { nodeSelector: T4_FLAVOR }): Pod =>
  podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '8Gi', 'gpu-admission.io/gpu-cores': '30' } }], {}, { spec });

describe('pools the pod\'s own node constraints cannot reach', () => {
  it('when the pod carries the T4 flavor\'s nodeSelector and the HAMi pool\'s nodes are known, then the HAMi pool is ruled out and the pod refused with why', () => {
    const decision = decide(shareOnT4Flavor(), context(KNOWN));
    assert.equal(decision.kind, 'deny');
    assert.match(decision.kind === 'deny' ? decision.message : '',
      /pool l20-hami: the pod's nodeSelector ack\.node\.gpu\.schedule=cgpu, aliyun\.accelerator\/nvidia_name=Tesla-T4 matches none of its 2 nodes/);
  });

  it('when the nodes are not known, then only the pool\'s own terms can rule it out: the HAMi pool, naming neither key, stays open', () => {
    const out = applied(shareOnT4Flavor(), decide(shareOnT4Flavor(), context()));
    assert.match(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '', /"pools":\["l20-hami"\]/);
  });

  it('when a known pool has no node (scaled to zero), then its nodes rule nothing out', () => {
    const out = applied(shareOnT4Flavor(), decide(shareOnT4Flavor(), context(nodesOf({ 'l20-hami': [] }))));
    assert.match(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '', /"pools":\["l20-hami"\]/);
  });

  it('when one of the pool\'s nodes matches the nodeSelector, then the pool serves', () => {
    const pod = shareOnT4Flavor({ nodeSelector: { zone: 'b' } });
    const out = applied(pod, decide(pod, context(KNOWN)));
    assert.match(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '', /"pools":\["l20-hami"\]/);
  });

  it('when the nodeSelector matches a node but no required affinity term does, then the affinity is named', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['c'] }] },
    ] } } };
    const decision = decide(shareOnT4Flavor({ nodeSelector: { gpu: 'on' }, affinity }), context(KNOWN));
    assert.match(decision.kind === 'deny' ? decision.message : '', /pool l20-hami: the pod's required node affinity matches none of its 2 nodes/);
  });

  it('when a memory share carries the T4 flavor\'s nodeSelector, then it goes to the T4 pool alone, with or without known nodes', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '12Gi' } }], {}, { spec: { nodeSelector: T4_FLAVOR } });
    for (const known of [undefined, KNOWN]) {
      const out = applied(pod, decide(pod, context(known)));
      assert.match(out.metadata?.annotations?.['gpu-admission.io/decision'] ?? '', /"pools":\["t4-shared"\]/);
    }
  });

  it('when native HAMi resources carry the T4 flavor\'s nodeSelector and the nodes are known, then no pool takes them', () => {
    const pod = podWith([{ name: 'main', limits: { 'hami.io/gpu': '1', 'hami.io/gpumem': '8192' } }], {}, { spec: { nodeSelector: T4_FLAVOR } });
    const decision = decide(pod, context(KNOWN));
    assert.match(decision.kind === 'deny' ? decision.message : '', /l20-hami: the pod's nodeSelector .* matches none of its 2 nodes/);
  });

  it('when the webhook runs on its own output with the nodes known, then there is no patch', () => {
    const pod = podWith([{ name: 'main', limits: { 'gpu-admission.io/gpu-memory': '12Gi' } }], {}, { spec: { nodeSelector: T4_FLAVOR } });
    const out = applied(pod, decide(pod, context(KNOWN)));
    assert.deepEqual(decide(out, context(KNOWN)), { kind: 'allow', warnings: [] });
  });
});
