// decide() judges only the pools that can still be in the chosen group (judgeForGroup in
// src/engine/decide.ts): once a pool gives the first honoured plan, a later pool whose plans can
// never be the same (plansApart: another scheduler, resources of other names) is skipped. The
// argument rests on what each backend's translations write (writtenNames, src/engine/translate.ts);
// these tests hold every translation to it, and decide() to the whole evaluation (analyse, which
// explain shows) where the skipping matters most: NUMA BestEffort downgrades and groups of
// several pools.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyse, decide, decideAnalysed, type DecideContext } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { cardMemory, plansApart } from '../../src/engine/pools.ts';
import { translate, writtenNames } from '../../src/engine/translate.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Pool } from '../../src/policy/types.ts';
import { parseQuantity, type Quantity } from '../../src/vocabulary/quantity.ts';
import { pods, policies } from '../helpers/generators.ts';
import { clouds, design, fixturePolicy, hamiDefaults, upstream } from '../helpers/policies.ts';

const fixturePools: Pool[] = [design, upstream, clouds, hamiDefaults, fixturePolicy('schedulers'), fixturePolicy('kueue')].flatMap((p) => [...p.pools]);

const requests = fc.record({
  gpu: fc.integer({ min: 1, max: 9 }),
  memory: fc.option(fc.oneof(fc.integer({ min: 1, max: 96 }).map((n) => `${n}Gi`), fc.integer({ min: 1, max: 90000 }).map((n) => `${n}Mi`),
    fc.constantFrom('1.5Gi', '12G', '0.5Gi', '80Gi')), { nil: undefined }),
  cores: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  source: fc.constantFrom('generic' as const, 'nvidia.com/gpu' as const),
});

/** The whole evaluation, as explain runs it: every pool judged for this pod. */
const whole = (pod: Pod, context: DecideContext) => decideAnalysed(pod, analyse(pod, context), context.policy);

describe('decide: only the pools that can be in the chosen group judged', () => {
  it('when any request is translated on any fixture pool, then what it writes holds to the backend\'s written names', () => {
    const named = fixturePools.filter((p) => writtenNames(p) !== undefined);
    assert.ok(named.length >= 8, `only ${named.length} fixture pools have written names`);
    let served = 0;
    fc.assert(fc.property(fc.constantFrom(...named), requests, fc.constantFrom('up' as const, 'deny' as const),
      fc.constantFrom('none' as const, 'memory' as const, 'compute' as const), (pool, r, rounding, isolation) => {
        const request = { gpu: r.gpu, source: r.source, ...(r.memory ? { memory: parseQuantity(r.memory) as Quantity } : {}),
          ...(r.cores !== undefined ? { cores: r.cores } : {}) };
        const t = translate({ request, pool, card: cardMemory(pool), rounding, container: 'c', isolation });
        if ('reason' in t) return;
        served++;
        const names = writtenNames(pool);
        assert.ok(names);
        const keys = Object.keys(t.resources);
        for (const n of names.always) assert.ok(keys.includes(n), `${pool.name} (${pool.backend}) did not write ${n}: ${keys.join(', ')}`);
        for (const k of keys) assert.ok(names.may(k), `${pool.name} (${pool.backend}) wrote ${k}, not among its names`);
      }), { numRuns: 3000 });
    assert.ok(served > 150, `only ${served} translations served`);
  });

  it('when two pools are apart, then their schedulers or their resources\' names differ: never apart from itself or its own kind', () => {
    const [t4, a10, topology, mig, h100] = ['t4-shared', 'a10-core', 'a100-topology', 'a100-mig', 'h100'].map((n) => design.pools.find((p) => p.name === n) as Pool);
    for (const p of fixturePools) assert.equal(plansApart(p, p), false, p.name);
    assert.equal(plansApart(t4 as Pool, a10 as Pool), true, 'cgpu never writes core_mem\'s compute');
    assert.equal(plansApart(t4 as Pool, topology as Pool), true);
    assert.equal(plansApart(t4 as Pool, mig as Pool), true);
    assert.equal(plansApart(h100 as Pool, mig as Pool), false, 'a single-strategy MIG pool writes nvidia.com/gpu too');
  });

  it('when generated pods asking NUMA BestEffort are decided under any policy, then every decision equals the whole evaluation', () => {
    const bestEffort = pods.map((pod): Pod => ({ ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, 'gpu-admission.io/numa': 'BestEffort' } } }));
    let downgraded = 0;
    fc.assert(fc.property(bestEffort, fc.oneof(policies, fc.constant(design), fc.constant(upstream)), (pod, policy) => {
      const context = { policy, namespace: { name: 'ml', labels: {} } };
      const decision = decide(pod, context);
      assert.deepEqual(decision, whole(pod, context));
      if (decision.kind === 'patch' && decision.warnings.some((w) => w.startsWith('NUMA BestEffort not applied'))) downgraded++;
    }), { numRuns: 400 });
    assert.ok(downgraded > 10, `only ${downgraded} decisions were NUMA downgrades`);
  });

  it('when the first pool that serves is a NUMA downgrade and a later one honours it, then the later one is chosen, as the whole evaluation chooses', () => {
    const pod: Pod = {
      metadata: { name: 'p', annotations: { 'gpu-admission.io/numa': 'BestEffort' } },
      spec: { containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu': '2', cpu: '4' }, requests: { cpu: '4' } } }] },
    };
    const context = { policy: design, namespace: { name: 'ml', labels: {} } };
    const decision = decide(pod, context);
    assert.deepEqual(decision, whole(pod, context));
    assert.deepEqual(decision.kind === 'patch' && decision.record.pools, ['a100-topology']);
  });

  it('when several pools give the same plan after the first, then all of them are routed to, as the whole evaluation routes', () => {
    const policy = parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: t4-a, backend: ack-cgpu, nodeSelector: {zone: a}, gpu: {model: Tesla-T4, memory: 15Gi, perNode: 1}}
  - {name: a10-core, backend: ack-core-mem, nodeSelector: {zone: c}, gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}}
  - {name: h100, backend: ack-exclusive, gpu: {model: H100, memory: 80Gi, perNode: 8}}
  - {name: l40s-hami, backend: hami, nodeSelector: {zone: c}, gpu: {model: L40S, memory: 48Gi, perNode: 8}, hami: {resourceName: hami.io/gpu}}
  - {name: t4-b, backend: ack-cgpu, nodeSelector: {zone: b}, gpu: {model: Tesla-T4, memory: 15Gi, perNode: 1}}
  - {name: a10-cgpu, backend: ack-cgpu, gpu: {model: NVIDIA-A10, memory: 24Gi, perNode: 4}}
`);
    const context = { policy, namespace: { name: 'ml', labels: {} } };
    const share = (memory: string, selector?: Record<string, string>): Pod => ({
      metadata: { name: 'p' }, spec: { ...(selector ? { nodeSelector: selector } : {}), containers: [{ name: 'c', resources: { limits: { 'gpu-admission.io/gpu-memory': memory } } }] },
    });
    for (const [pod, pools] of [[share('8Gi'), ['t4-a', 't4-b', 'a10-cgpu']], [share('8Gi', { zone: 'b' }), ['t4-b', 'a10-cgpu']], [share('20Gi'), ['a10-core']]] as const) {
      const decision = decide(pod, context);
      assert.deepEqual(decision, whole(pod, context));
      assert.deepEqual(decision.kind === 'patch' && decision.record.pools, pools);
    }
  });
});
