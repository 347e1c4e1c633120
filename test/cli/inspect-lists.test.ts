// `gpu-admission inspect` asks for the nodes and pods before it reads the policy, so the API
// server lists them while the policy is read and parsed; when the verb ends without them (no
// policy, an invalid file, no such pool) their requests are aborted and nothing is left to reject
// unhandled. The cluster is a fake of the Cluster interface whose lists answer only when told.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Cluster, OpenCluster } from '../../src/cli/cluster.ts';
import { runAsync } from '../../src/cli/main.ts';
import type { ClusterNode, ClusterPod } from '../../src/cluster/model.ts';

const DESIGN = readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8');
const INVALID = DESIGN.replace('memory: 15Gi', 'memory: 15GB');
const NODE: ClusterNode = {
  name: 'gpu-t4-0', labels: { 'ack.node.gpu.schedule': 'cgpu', 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }, annotations: {}, ready: true,
  allocatable: { cpu: 8, memory: 3e10, pods: 110, 'aliyun.com/gpu-mem': 15, 'aliyun.com/gpu-count': 1 },
};
const POD: ClusterPod = { namespace: 'ml', name: 'infer', nodeName: 'gpu-t4-0', phase: 'Running', annotations: {}, requests: { 'aliyun.com/gpu-mem': 6 } };

/** A cluster whose reads are recorded in order; its lists wait for `answer()` and reject when their signal is aborted. */
function heldCluster(policy: { text: string } | { missing: string }) {
  const reads: string[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  const waiting: (() => void)[] = [];
  const held = <T>(name: string, value: T) => (signal?: AbortSignal): Promise<T> => {
    reads.push(name);
    signals.push(signal);
    return new Promise<T>((resolve, reject) => {
      waiting.push(() => resolve(value));
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };
  const cluster: Cluster = {
    nodes: held('nodes', [NODE]),
    pods: held('pods', [POD]),
    policyText: async () => {
      reads.push('policy');
      // The policy arrives while the lists are still awaited: answered only once it is parsed.
      setImmediate(() => waiting.forEach((answer) => answer()));
      return policy;
    },
    namespaceLabels: async () => ({}),
    dra: async () => ({ deviceClasses: [], devicesByNode: new Map() }),
    policyRefusal: async () => undefined,
    mutatingWebhooks: async () => [],
  };
  const open: OpenCluster = async () => cluster;
  return { open, reads, signals };
}

describe('inspect asks for the nodes and pods before it reads the policy', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown): void => { unhandled.push(reason); };
  before(() => process.on('unhandledRejection', record));
  after(() => process.off('unhandledRejection', record));
  /** Lets any rejection nobody handles be reported. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('when the policy is in the ConfigMap, then the nodes and pods are asked for first and the report is made from them', async () => {
    const { open, reads, signals } = heldCluster({ text: DESIGN });
    const r = await runAsync(['inspect', '-o', 'json'], open);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(reads, ['nodes', 'pods', 'policy']);
    const report = JSON.parse(r.stdout) as { pools?: { name: string }[] };
    assert.ok(r.stdout.includes('gpu-t4-0'), 'the listed node is in the report');
    assert.ok(report.pools?.some((p) => p.name === 't4-shared'));
    assert.ok(signals.every((s) => s?.aborted), 'the signal is aborted once the verb has ended');
  });

  for (const [when, args, policy, message] of [
    ['the --policy file is invalid', ['inspect', '--policy', '-'], { text: DESIGN }, /-: invalid policy/],
    ['the ConfigMap is missing', ['inspect'], { missing: 'no ConfigMap gpu-admission/gpu-admission-policy' }, /no ConfigMap/],
    ['--pool names no pool of the policy', ['inspect', '--pool', 'nope'], { text: DESIGN }, /--pool nope: the policy has no such pool/],
  ] as const) {
    it(`when ${when}, then inspect ends at once with the error: the lists nobody reads are aborted, and their rejections are not unhandled`, async () => {
      unhandled.length = 0;
      const { open, reads, signals } = heldCluster(policy);
      const r = await runAsync([...args], open, () => INVALID);
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, message);
      assert.deepEqual(reads.slice(0, 2), ['nodes', 'pods']);
      assert.equal(signals.length, 2);
      assert.ok(signals.every((s) => s?.aborted), 'both lists are aborted');
      await settle();
      assert.deepEqual(unhandled, []);
    });
  }
});
