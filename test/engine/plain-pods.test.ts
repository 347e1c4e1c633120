// decide() keeps what a plain pod comes to (its pools' outcomes, the group, the record) per policy
// and demand, and reuses it for the next pod of the same demand (src/engine/plain.ts). These
// properties hold it to the whole evaluation (`analyse`, which explain uses and which never
// reuses), so that no pod — above all none of a namespace limited to some pools — gets another
// pod's or another namespace's answer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyse, decide, decideAnalysed, type DecideContext } from '../../src/engine/decide.ts';
import type { Container, NamespaceFacts, Pod } from '../../src/engine/pod.ts';
import { isPlain, keptSize, MAX_KEPT, MAX_KEPT_UNITS } from '../../src/engine/plain.ts';
import type { Problem } from '../../src/engine/problem.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { pods, policies } from '../helpers/generators.ts';
import { design } from '../helpers/policies.ts';

/** The design policy with namespace rules by name and by label: allowed pools, a GPU limit, an isolation floor, preferred pools. */
const ruled = parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8').replace(/namespaces:[\s\S]*$/, `namespaces:
  - names: [research]
    allowedPools: [a100-topology, a100-mig]
    maxGpusPerPod: 8
  - names: [ml]
    maxGpusPerPod: 2
    preferredPools: [a100-mig, h100]
  - selector: {matchLabels: {tier: restricted}}
    allowedPools: [a10-core, a100-mig]
    isolation: compute
`));

const namespaces = fc.constantFrom<NamespaceFacts>(
  { name: 'ml', labels: {} }, { name: 'research', labels: {} }, { name: 'ml', labels: { tier: 'restricted' } },
  { name: 'other', labels: { tier: 'restricted' } }, { name: 'other', labels: {} },
);
const anyPolicy = fc.oneof(policies, fc.constant(ruled), fc.constant(design));

/**
 * Annotations of a twin: most often ones the engine never reads (other tools'), sometimes one it
 * does (KAI's share, HAMi's card type and placement, Volcano's mode, a reserved one, ours).
 */
const annotations = fc.dictionary(fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('kubectl.kubernetes.io/restartedAt', 'prometheus.io/scrape', 'example.com/owner', 'checksum/config') },
  { weight: 1, arbitrary: fc.constantFrom('gpu-fraction', 'gpu-memory', 'mps', 'gpu-fraction-num-devices', 'nvidia.com/use-gputype', 'nvidia.com/nouse-gputype',
    'hami.io/gpu-scheduler-policy', 'volcano.sh/vgpu-mode', 'ALIYUN_COM_GPU_MEM_IDX', 'hami.io/vgpu-node', 'gpu-admission.io/rdma', 'gpu-admission.io/isolation') },
), fc.constantFrom('true', '0.5', 'A10', 'spread', 'compute', 'mig', '1'), { maxKeys: 2 });

/** The whole evaluation, as explain runs it: every pool judged for this pod. */
const whole = (pod: Pod, context: DecideContext) => decideAnalysed(pod, analyse(pod, context), context.policy);

/** The same GPU demand without what makes a pod not plain, and with what a plain pod's choice never reads changed. */
function plainTwin(pod: Pod, app: string, privileged: boolean, annotations: Record<string, string>): Pod {
  const { affinity: _affinity, nodeSelector: _selector, schedulerName: _scheduler, ...spec } = pod.spec;
  const helper: Container = { name: 'helper', image: 'sidecar:2', resources: { limits: { cpu: '1' } }, ...(privileged ? { securityContext: { privileged: true } } : {}) };
  return {
    ...pod,
    metadata: { name: `${app}-0`, namespace: 'ml', labels: { app }, annotations },
    spec: { ...spec, schedulerName: 'default-scheduler', containers: [...pod.spec.containers, helper] },
  };
}

describe('decide: a plain pod\'s pools kept per demand, against the whole evaluation', () => {
  it('when generated pods, their plain twins and the twins again are decided under any policy in any namespace, '
    + 'then every decision equals the whole evaluation of the same pod', () => {
    let plain = 0;
    fc.assert(fc.property(pods, anyPolicy, namespaces, fc.constantFrom('train', 'serve'), fc.boolean(), annotations, (pod, policy, namespace, app, privileged, notes) => {
      const context = { policy, namespace };
      const twin = plainTwin(pod, app, privileged, notes);
      if (isPlain(twin, policy)) plain++;
      assert.deepEqual(decide(pod, context), whole(pod, context));
      assert.deepEqual(decide(twin, context), whole(twin, context));
      assert.deepEqual(decide(twin, context), whole(twin, context), 'the second pod of a demand (kept then)');
      assert.deepEqual(decide(twin, context), whole(twin, context), 'the third pod of a demand (the kept answer)');
    }), { numRuns: 400 });
    assert.ok(plain > 200, `only ${plain} of 400 twins were plain`);
  });

  it('when one demand is decided in namespaces of different rules, one after the other, then each gets its own namespace\'s answer', () => {
    const pod: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu': '4' } } }] } };
    // Three rounds: a demand is kept from its second pod on, and the third round reads what was kept.
    const names = ['ml', 'research', 'other', 'ml', 'research', 'other', 'ml', 'research', 'other'] as const;
    const answers = names.map((name) => decide(pod, { policy: ruled, namespace: { name, labels: {} } }));
    for (const [i, name] of names.entries()) {
      assert.deepEqual(answers[i], whole(pod, { policy: ruled, namespace: { name, labels: {} } }), `${name}, round ${1 + Math.floor(i / 3)}`);
    }
    assert.equal(answers[0]?.kind, 'deny', 'ml allows 2 GPUs per pod');
    // Rules by name only (the design policy): research is limited to the A100 pools, ml is not.
    const share: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': '12Gi' } } }] } };
    const open = decide(share, { policy: design, namespace: { name: 'ml', labels: {} } });
    const limited = decide(share, { policy: design, namespace: { name: 'research', labels: {} } });
    assert.deepEqual(open.kind === 'patch' && open.record.pools, ['t4-shared']);
    assert.deepEqual(limited.kind === 'patch' && limited.record.pools, ['a100-mig']);
    assert.deepEqual(limited, whole(share, { policy: design, namespace: { name: 'research', labels: {} } }));
    assert.deepEqual(answers[1]?.kind === 'patch' && answers[1].record.pools, ['a100-topology']);
    const one: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu': '1' } } }] } };
    assert.deepEqual(decide(one, { policy: ruled, namespace: { name: 'other', labels: {} } }).kind, 'patch');
    const restricted = decide(one, { policy: ruled, namespace: { name: 'other', labels: { tier: 'restricted' } } });
    assert.deepEqual(restricted.kind === 'patch' && restricted.record.pools, ['a10-core']);
  });

  it('when more demands than are kept pass, then each is still decided as the whole evaluation decides it', () => {
    const context = { policy: design, namespace: { name: 'ml', labels: {} } };
    const pod = (i: number): Pod => ({ spec: { containers: [{ name: `c${i}`, resources: { limits: { 'gpu-admission.io/gpu-memory': `${1 + (i % 20)}Gi` } } }] } });
    for (let i = 0; i < 600; i++) {
      assert.deepEqual(decide(pod(i), context), whole(pod(i), context), `pod ${i}`);
      if (i % 3 === 0) assert.deepEqual(decide(pod(i), context), whole(pod(i), context), `pod ${i} again (kept)`);
      if (i % 6 === 0) assert.deepEqual(decide(pod(i), context), whole(pod(i), context), `pod ${i} a third time (the kept answer)`);
    }
    assert.deepEqual(decide(pod(0), context), whole(pod(0), context));
  });

  it('when two pods ask the same memory written differently, then each decision quotes its own', () => {
    const context = { policy: design, namespace: { name: 'ml', labels: {} } };
    const pod = (memory: string): Pod => ({ spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': memory } } }] } });
    const memories = ['1.5Gi', '1536Mi', '1610612736'];
    const warnings = [...memories, ...memories, ...memories].map((m) => {
      const d = decide(pod(m), context);
      assert.deepEqual(d, whole(pod(m), context), m);
      return d.kind === 'patch' ? d.warnings.join() : '';
    });
    assert.deepEqual(warnings.slice(3), [...warnings.slice(0, 3), ...warnings.slice(0, 3)], 'the kept answers quote each pod\'s own');
    assert.equal(new Set(warnings).size, 3, warnings.join(' | '));
  });

  it('when the webhook knows the pools\' nodes, then a plain pod is decided as the whole evaluation decides it (its own constraints are what known nodes judge)', () => {
    const knownNodes = new Map([
      ['t4-shared', { labels: [{ 'aliyun.accelerator/nvidia_name': 'Tesla-T4', 'ack.node.gpu.schedule': 'cgpu', zone: 'a' }] }],
      ['a10-core', { labels: [{ zone: 'b' }] }],
    ]);
    const context: DecideContext = { policy: design, namespace: { name: 'ml', labels: {} }, knownNodes, nodeLabels: () => ({ zone: 'a' }) };
    for (const memory of ['12Gi', '20Gi', '40Gi']) {
      const pod: Pod = { spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': memory } } }] } };
      assert.deepEqual(decide(pod, context), whole(pod, context), memory);
      assert.deepEqual(decide(pod, context), whole(pod, context), `${memory}, again`);
    }
  });

  it('when a caller changes what one decision returned, then the next pod of the same demand gets the answer unchanged', () => {
    // A policy of its own: nothing of this demand kept by an earlier test.
    const context = { policy: parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8')), namespace: { name: 'ml', labels: {} } };
    const pod: Pod = { spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': '12Gi' } } }] } };
    // The first pod's answer is its own (a demand seen once is not kept): a change to it reaches no other pod. What
    // every decision for its pool shares (the record's list of pools and node terms, the required node terms) is frozen.
    const first = decide(pod, context);
    assert.equal(first.kind, 'patch');
    if (first.kind !== 'patch') return;
    assert.throws(() => { (first.record.pools as string[]).push('h100'); }, TypeError);
    assert.throws(() => { (first.record.nodes?.[0] as string[]).push('x In y'); }, TypeError);
    (first.warnings as string[]).push('x');
    (first.record.containers as Record<string, unknown>)['c'] = { gpu: 8 };
    (first.patch as unknown[]).pop();
    // The second pod's answer is kept for every later pod of the demand: frozen.
    const second = decide(pod, context);
    assert.equal(second.kind, 'patch');
    if (second.kind !== 'patch') return;
    assert.deepEqual(second, whole(pod, context));
    assert.throws(() => { (second.record.pools as string[]).push('h100'); }, TypeError);
    assert.throws(() => { (second.warnings as string[]).push('x'); }, TypeError);
    assert.deepEqual(decide(pod, context), whole(pod, context));
  });

  it('when a pod names a KAI queue, carries an annotation the engine reads, a node selector or another scheduler, then it is not plain', () => {
    const kai: Policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a10-kai, backend: kai, nodeSelector: {kai.scheduler/node-pool: a10}, gpu: {model: A10, memory: 24Gi, perNode: 4}, kai: {queue: team-a}}
`);
    const base: Pod = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu': '1' } } }] } };
    assert.ok(isPlain(base, kai));
    assert.ok(!isPlain({ ...base, metadata: { labels: { 'kai.scheduler/queue': 'team-b' } } }, kai));
    assert.ok(isPlain({ ...base, metadata: { annotations: { 'example.com/x': 'y' } } }, kai), 'an annotation of another tool');
    for (const key of ['gpu-fraction', 'mps', 'gpu-admission.io/numa', 'gpu-admission.io/decision', 'nvidia.com/use-gputype', 'hami.io/gpu-scheduler-policy', 'ALIYUN_COM_GPU_MEM_DEV']) {
      assert.ok(!isPlain({ ...base, metadata: { annotations: { [key]: 'y' } } }, kai), key);
    }
    assert.ok(!isPlain({ ...base, spec: { ...base.spec, nodeSelector: { zone: 'a' } } }, kai));
    assert.ok(!isPlain({ ...base, spec: { ...base.spec, schedulerName: 'volcano' } }, kai));
    assert.ok(!isPlain({ ...base, spec: { ...base.spec, affinity: { nodeAffinity: {} } } }, kai));
    assert.ok(!isPlain({ ...base, spec: { ...base.spec, nodeName: 'n1' } }, kai));
    const own = { ...base, metadata: { labels: { 'kai.scheduler/queue': 'team-b' } } };
    assert.deepEqual(decide(own, { policy: kai, namespace: { name: 'ml', labels: {} } }), whole(own, { policy: kai, namespace: { name: 'ml', labels: {} } }));
  });

  // Found by review: a container's name reaches the webhook before the API server checks it, so it
  // may hold the key's separators and spell the demand of other containers.
  it('when a container name spells the demand of other containers, then a later pod of those containers still gets its own answer', () => {
    const load = (): Policy => parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
defaults: {acceptNvidiaGpu: true}
pools:
  - {name: h100, backend: nvidia-exclusive, nodeSelector: {nvidia.com/gpu.product: H100}, gpu: {model: H100, memory: 80Gi, perNode: 8}}
namespaces:
  - {names: [ml], maxGpusPerPod: 2}
`);
    const gpu = (name: string): Container => ({ name, resources: { limits: { 'nvidia.com/gpu': '1' } } });
    const context = { policy: load(), namespace: { name: 'ml', labels: {} } };
    const three: Pod = { metadata: { name: 'three' }, spec: { containers: [gpu('a'), gpu('b'), gpu('c')] } };
    const forged: Pod = { metadata: { name: 'two' }, spec: { containers: [gpu('a'), gpu('b\u0002app\u00021\u0002\u0002\u0002nvidia.com/gpu\u0001c')] } };
    assert.equal(whole(three, { ...context, policy: load() }).kind, 'deny');
    assert.deepEqual(decide(forged, context), whole(forged, { ...context, policy: load() }));
    assert.deepEqual(decide(three, context), whole(three, { ...context, policy: load() }));
  });

  it('when a caller changes the problems of one plain pod\'s refusal, then the next pod of the same demand is refused unchanged', () => {
    const context = { policy: { ...ruled }, namespace: { name: 'ml', labels: {} } }; // a policy of its own: nothing kept by an earlier test
    const pod: Pod = { spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu': '4' } } }] } };
    const first = decide(pod, context);
    assert.equal(first.kind, 'deny');
    if (first.kind !== 'deny') return;
    (first.problems as Problem[]).push({ code: 'invalid-request', message: 'from another pod' });
    (first.problems[0] as { message: string }).message = 'rewritten';
    const second = decide(pod, context);
    assert.equal(second.kind, 'deny');
    if (second.kind !== 'deny') return;
    assert.deepEqual(second, whole(pod, context));
    assert.throws(() => { (second.problems as Problem[]).push({ code: 'invalid-request', message: 'from another pod' }); }, TypeError);
    assert.throws(() => { (second.problems[0] as { message: string }).message = 'rewritten'; }, TypeError);
    assert.deepEqual(decide(pod, context), whole(pod, context));
  });

  it('when distinct plain pods pass under a policy of many pools, then what is kept stays within its pool-container budget', () => {
    const pools = Array.from({ length: 380 }, (_, i) => `  - {name: p${i}, backend: hami, nodeSelector: {pool: p${i}}, gpu: {model: L40S, memory: 48Gi, perNode: 8}, hami: {resourceName: hami.io/gpu}}`);
    const policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n${pools.join('\n')}\n`);
    const context = { policy, namespace: { name: 'ml', labels: {} } };
    let most = 0;
    for (let i = 1; i <= 20; i++) {
      const containers = Array.from({ length: 8 }, (_, c) => ({ name: `c${c}`, resources: { limits: { 'gpu-admission.io/gpu-memory': `${i}Mi` } } }));
      decide({ spec: { containers } }, context);
      decide({ spec: { containers } }, context); // kept from the second pod of a demand
      most = Math.max(most, keptSize(policy).units);
    }
    assert.ok(most > 0, 'plain pods are kept');
    assert.ok(most <= MAX_KEPT_UNITS, `kept ${most} pool-containers, the budget is ${MAX_KEPT_UNITS}`);
    assert.ok(keptSize(policy).demands <= Math.floor(MAX_KEPT_UNITS / (8 * 380)));
  });

  it('when a demand is seen once, then only its key is kept; when seen again, its answer is kept; and one-off pods stay within the bound', () => {
    const policy = parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8'));
    const context = { policy, namespace: { name: 'ml', labels: {} } };
    const pod = (i: number): Pod => ({ spec: { containers: [{ name: `c${i}`, resources: { limits: { 'gpu-admission.io/gpu-memory': '8Gi' } } }] } });
    decide(pod(0), context);
    assert.deepEqual(keptSize(policy), { demands: 0, seen: 1, units: 0 });
    decide(pod(0), context);
    assert.deepEqual(keptSize(policy), { demands: 1, seen: 0, units: policy.pools.length });
    decide(pod(0), context);
    assert.deepEqual(keptSize(policy), { demands: 1, seen: 0, units: policy.pools.length }, 'the third pod reads what was kept');
    let most = 0;
    for (let i = 1; i <= 3 * MAX_KEPT; i++) {
      decide(pod(i), context);
      const { demands, seen } = keptSize(policy);
      most = Math.max(most, demands + seen);
    }
    assert.equal(most, MAX_KEPT, 'demands seen once count against the bound on what is kept');
  });

  it('when one-off pods stream past a demand that repeats, then the repeating demand stays kept, and the store stays within its bounds', () => {
    const policy = parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8'));
    const context = { policy, namespace: { name: 'ml', labels: {} } };
    const pod = (name: string, memory = '8Gi'): Pod => ({ spec: { containers: [{ name, resources: { limits: { 'gpu-admission.io/gpu-memory': memory } } }] } });
    const hot = pod('server', '12Gi');
    decide(hot, context);
    decide(hot, context);
    const keptAnswer = (d: ReturnType<typeof decide>): boolean => d.kind === 'patch' && Object.isFrozen(d.record);
    for (let i = 0; i < 4 * MAX_KEPT; i++) {
      decide(pod(`one-off-${i}`), context);
      const { demands, seen, units } = keptSize(policy);
      assert.ok(demands + seen <= MAX_KEPT && units <= MAX_KEPT_UNITS, `after ${i + 1} one-off pods: ${demands} kept, ${seen} seen once, ${units} units`);
      if (i % 97 === 0) {
        const d = decide(hot, context);
        assert.ok(keptAnswer(d), `the repeating demand answered from the store after ${i + 1} one-off pods`);
        assert.deepEqual(d, whole(hot, context));
      }
    }
    // Demands that repeat filling more than half the store: then it is emptied whole when full, as before.
    for (let i = 0; i < 3 * MAX_KEPT; i++) {
      const again = pod(`repeat-${i}`);
      decide(again, context);
      decide(again, context);
      const { demands, seen, units } = keptSize(policy);
      assert.ok(demands + seen <= MAX_KEPT && units <= MAX_KEPT_UNITS, `after ${i + 1} repeating demands: ${demands} kept, ${seen} seen once, ${units} units`);
    }
    assert.deepEqual(decide(hot, context), whole(hot, context));
  });

  it('when the store is full and a demand seen once comes again, then it is kept beside the others, none dropped', () => {
    const policy = parsePolicyOrThrow(readFileSync(new URL('../fixtures/policies/design.yaml', import.meta.url), 'utf8'));
    const context = { policy, namespace: { name: 'ml', labels: {} } };
    const pod = (i: number): Pod => ({ spec: { containers: [{ name: `c${i}`, resources: { limits: { 'gpu-admission.io/gpu-memory': '8Gi' } } }] } });
    for (let i = 0; i < MAX_KEPT - 1; i++) {
      decide(pod(i), context);
      decide(pod(i), context);
    }
    decide(pod(MAX_KEPT), context);
    assert.deepEqual(keptSize(policy), { demands: MAX_KEPT - 1, seen: 1, units: (MAX_KEPT - 1) * policy.pools.length });
    assert.deepEqual(decide(pod(MAX_KEPT), context), whole(pod(MAX_KEPT), context));
    assert.deepEqual(keptSize(policy), { demands: MAX_KEPT, seen: 0, units: MAX_KEPT * policy.pools.length });
  });
});
