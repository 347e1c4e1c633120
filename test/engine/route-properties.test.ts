// Properties of routing, checked by an oracle written from docs/backends.md rather than from the
// engine: no generated pod is ever routed to a pool whose backend would refuse what it was given,
// and no chosen pool contradicts the pod's own nodeSelector or required node affinity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { decide } from '../../src/engine/decide.ts';
import type { Container, Pod } from '../../src/engine/pod.ts';
import { poolTerms } from '../../src/policy/pool-nodes.ts';
import type { Pool, Policy } from '../../src/policy/types.ts';
import { matchesRequirements, satisfiable, selectorRequirements, type Labels } from '../../src/vocabulary/node-selector.ts';
import { parseQuantity, type Quantity } from '../../src/vocabulary/quantity.ts';
import { pods, policies } from '../helpers/generators.ts';

const RANK = { none: 0, memory: 1, compute: 2 } as const;
/** docs/backends.md, "What each backend isolates". */
const ISOLATES: Record<string, keyof typeof RANK> = {
  'ack-exclusive': 'compute', 'ack-topology': 'compute', 'ack-cgpu': 'memory', 'ack-share': 'none', 'ack-mps': 'memory',
  'ack-core-mem': 'compute', 'ack-mig': 'compute', 'nvidia-exclusive': 'compute', 'nvidia-time-slicing': 'none', 'nvidia-mig': 'compute', hami: 'compute',
};
/** docs/backends.md, gke: whole cards, MPS and MIG isolate; time-sharing does not. */
const gkeTimeSharing = (pool: Pool): boolean => pool.gke !== undefined && !/mps/i.test(pool.gke.sharingStrategy);
const isolates = (pool: Pool): keyof typeof RANK => (pool.backend === 'gke' ? (gkeTimeSharing(pool) ? 'none' : 'compute') : ISOLATES[pool.backend] ?? 'none');
const ACK_SHARED = new Set(['ack-cgpu', 'ack-share', 'ack-mps', 'ack-core-mem']);
const NEEDS_ACK_SCHEDULER = new Set([...ACK_SHARED, 'ack-topology']);

const gib = (q: Quantity): number => Number(q.num) / Number(q.den) / 2 ** 30;
const gpuResources = (c: Container, rdma: string): Record<string, number> => Object.fromEntries(
  Object.entries(c.resources?.limits ?? {}).filter(([n]) => n.includes('/') && n !== rdma).map(([n, v]) => [n, Number(v)]));

/** Why this pool's backend would not run the container as translated, per docs/backends.md. */
function refusal(pool: Pool, c: Container, pod: Pod, isolation: keyof typeof RANK): string | undefined {
  const r = gpuResources(c, pool.rdma?.resource ?? '');
  const names = Object.keys(r).sort().join(',');
  const card = gib(parseQuantity(pool.gpu.memory) as Quantity);
  const count = Number(pod.metadata?.labels?.['aliyun.com/gpu-count'] ?? '1');
  switch (pool.backend) {
    case 'ack-exclusive': case 'nvidia-exclusive': return names === 'nvidia.com/gpu' ? undefined : `writes ${names}`;
    case 'ack-topology': return names === 'aliyun.com/gpu' ? undefined : `writes ${names}`;
    case 'ack-cgpu': case 'ack-share': case 'ack-mps': case 'ack-core-mem': {
      const core = r['aliyun.com/gpu-core.percentage'];
      const mem = r['aliyun.com/gpu-mem'] ?? 0;
      if (pool.backend === 'ack-core-mem' && (core === undefined || core % 5 !== 0 || core < 5 || core > 100)) return `core_mem gets ${core}`;
      if (pool.backend !== 'ack-core-mem' && core !== undefined) return 'compute on a memory-only mode';
      if (pool.backend !== 'ack-cgpu' && count > 1) return `${count} cards on ${pool.backend}`;
      return mem >= 1 && mem % count === 0 && mem / count <= card ? undefined : `gpu-mem ${mem} over ${count} cards of ${card}Gi`;
    }
    case 'nvidia-time-slicing': return names === (pool.timeSlicing?.resource ?? 'nvidia.com/gpu.shared') && r[names] === 1 ? undefined : `writes ${names}=${r[names]}`;
    case 'ack-mig': case 'nvidia-mig': {
      const profile = names.replace('nvidia.com/mig-', '').replace(/\.me$/, '+me');
      return pool.mig?.profiles.includes(profile) ? undefined : `writes ${names}`;
    }
    case 'kai': {
      // docs/backends.md, KAI Scheduler: MIG as nvidia-mig; whole cards as nvidia.com/gpu; a share as
      // gpu-fraction in (0, 1) naming its container, which keeps no GPU resource.
      if (pool.mig) return pool.mig.profiles.includes(names.replace('nvidia.com/mig-', '')) ? undefined : `writes ${names}`;
      if (names === 'nvidia.com/gpu') return undefined;
      const a = pod.metadata?.annotations ?? {};
      const f = Number(a['gpu-fraction']);
      if (names !== '' || !(f > 0 && f < 1) || a['gpu-fraction-container-name'] !== c.name) return `writes ${names} with gpu-fraction ${a['gpu-fraction']}`;
      return undefined;
    }
    case 'gke': {
      // docs/backends.md, gke: nvidia.com/gpu only; 1 share on time-sharing, at most N MPS shares (1 on multi-GPU pools), 1 partition.
      const n = r['nvidia.com/gpu'] ?? 0;
      if (names !== 'nvidia.com/gpu') return `writes ${names}`;
      const clients = pool.gke?.maxSharedClientsPerGpu ?? 1;
      if (pool.mig || gkeTimeSharing(pool)) return n === 1 ? undefined : `${n} partitions or time-sharing shares`;
      if (pool.gke) return n <= clients && (n === 1 || pool.gpu.perNode === 1) ? undefined : `${n} MPS shares of ${clients} on ${pool.gpu.perNode} cards`;
      return n <= pool.gpu.perNode ? undefined : `${n} cards`;
    }
    case 'hami': {
      // HAMi's chart may rename its resources; the policy says how (docs/backends.md, HAMi).
      const h = pool.hami ?? { resourceName: 'nvidia.com/gpu', resourceMem: 'nvidia.com/gpumem', resourceCores: 'nvidia.com/gpucores' };
      if (!(h.resourceName in r)) return `no ${h.resourceName}`;
      if ((r[h.resourceMem] ?? 0) > card * 1024) return 'gpumem above the card';
      if ((r[h.resourceCores] ?? 0) > 100) return 'gpucores above 100';
      return isolation === 'compute' && r[h.resourceCores] === undefined ? 'compute isolation without gpucores' : undefined;
    }
  }
}

/** A KAI share isolates nothing, or memory with the HAMi-core isolator; whole cards and MIG slices isolate compute. */
function kaiIsolates(pool: Pool, out: Pod): keyof typeof RANK {
  if (out.metadata?.annotations?.['gpu-fraction'] === undefined) return 'compute';
  return pool.kai?.gpuIsolationProvider === 'HAMi-core' ? 'memory' : 'none';
}

function podRefusal(pool: Pool, original: Pod, out: Pod, translated: readonly string[], isolation: keyof typeof RANK): string | undefined {
  const given = pool.backend === 'kai' ? kaiIsolates(pool, out) : isolates(pool);
  if (RANK[given] < RANK[isolation]) return `isolates ${given}, ${isolation} needed`;
  if (pool.backend === 'kai' && out.spec.schedulerName !== 'kai-scheduler' && original.spec.schedulerName === undefined) return 'kai without kai-scheduler';
  if (pool.backend === 'kai' && out.metadata?.annotations?.['gpu-fraction'] !== undefined && translated.length > 1) return 'a KAI share beside another GPU container';
  const init = (out.spec.initContainers ?? []).filter((c) => translated.includes(c.name));
  if (ACK_SHARED.has(pool.backend) && init.length > 0) return 'an ACK shared pool with GPU init containers';
  if (pool.backend === 'hami' && init.some((c) => c.restartPolicy === 'Always')) return 'HAMi with a GPU sidecar';
  if (pool.backend === 'hami' && out.spec.schedulerName !== 'hami-scheduler') return 'HAMi without hami-scheduler';
  const own = original.spec.schedulerName;
  if (own === 'volcano' && (pool.backend === 'hami' || NEEDS_ACK_SCHEDULER.has(pool.backend))) return 'another scheduler was replaced or ignored';
  // Some node of the pool satisfies the pod's nodeSelector and one of its required terms, as the pod came and as it left.
  for (const pod of [original, out]) {
    const selector = selectorRequirements(pod.spec.nodeSelector);
    const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [{}];
    const fits = poolTerms(pool).some((p) => terms.some((t) => satisfiable([...p, ...selector, ...(t.matchExpressions ?? [])])));
    if (!fits) return `no node of the pool fits the pod's ${pod === original ? 'own' : 'final'} node constraints`;
  }
  return undefined;
}

describe('routing properties, checked against docs/backends.md', () => {
  it('when any pod meets any policy, then every chosen pool can run it as translated and fits its own node constraints', () => {
    let patched = 0;
    fc.assert(fc.property(pods, policies, (pod, policy: Policy) => {
      const decision = decide(pod, { policy, namespace: { name: 'ml', labels: {} } });
      if (decision.kind !== 'patch' || Object.keys(decision.record.containers).length === 0) return;
      patched += 1;
      const out = fjp.applyPatch(structuredClone(pod), fjp.deepClone(decision.patch), true, false).newDocument;
      const isolation = (pod.metadata?.annotations?.['gpu-admission.io/isolation'] ?? policy.defaults.isolation) as keyof typeof RANK;
      const translated = Object.keys(decision.record.containers);
      for (const { pool: name } of decision.routes) {
        const pool = policy.pools.find((p) => p.name === name) as Pool;
        const why = podRefusal(pool, pod, out, translated, isolation)
          ?? [...(out.spec.initContainers ?? []), ...out.spec.containers].filter((c) => translated.includes(c.name))
            .map((c) => refusal(pool, c, out, isolation)).find((x) => x !== undefined);
        assert.equal(why, undefined, `pool ${name} (${pool.backend}) was chosen, but: ${why}`);
      }
    }), { numRuns: 1000 });
    assert.ok(patched >= 150, `only ${patched} of 1000 generated pods were translated`);
  });
});

/** A node of each pool, carrying what the pool's first term asks (In: its first value) and a zone. */
const knownNodes = (policy: Policy, zone: string): Map<string, { labels: Labels[] }> => new Map(policy.pools.map((pool) => {
  const labels: Record<string, string> = { zone };
  for (const r of poolTerms(pool)[0] ?? []) {
    if (r.operator === 'In' && r.values?.[0] !== undefined) labels[r.key] = r.values[0];
    if (r.operator === 'Exists') labels[r.key] = 'x';
  }
  return [pool.name, { labels: [labels] }];
}));

describe('routing properties with the pools\' nodes known', () => {
  it('when the nodes are known, then every chosen pool has a node the pod\'s own nodeSelector and required terms allow', () => {
    let patched = 0;
    fc.assert(fc.property(pods, policies, fc.constantFrom('a', 'b'), fc.boolean(), (pod, policy: Policy, zone, pinZone) => {
      const own: Pod = pinZone ? { ...pod, spec: { ...pod.spec, nodeSelector: { ...pod.spec.nodeSelector, zone: 'a' } } } : pod;
      const known = knownNodes(policy, zone);
      const decision = decide(own, { policy, namespace: { name: 'ml', labels: {} }, knownNodes: known });
      if (decision.kind !== 'patch') return;
      patched += 1;
      const selector = selectorRequirements(own.spec.nodeSelector);
      const terms = (own.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [{}]).map((t) => t.matchExpressions ?? []);
      for (const { pool } of decision.routes) {
        const nodes = known.get(pool)?.labels ?? [];
        assert.ok(nodes.some((l) => matchesRequirements(l, selector) && terms.some((t) => matchesRequirements(l, t))), `pool ${pool}: no known node fits`);
      }
    }), { numRuns: 1000 });
    assert.ok(patched >= 60, `only ${patched} of 1000 generated pods were translated`);
  });
});
