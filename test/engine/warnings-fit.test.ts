// kubectl shows an admission warning as it is, and Kubernetes asks warnings to keep within 120
// characters: a longer one is cut mid-advice. In audit mode the warnings are the whole product.
// So every warning the engine can emit under the example policies is driven out of it — for each
// pool, pods that round memory and cores, get a proportional compute share, a MIG profile larger
// than its GiB suggest, a NUMA BestEffort dropped, native requests with NUMA or RDMA asked, a
// dra pool under another scheduler — with the longest container name Kubernetes allows, and each
// must fit whole: within the limit, never cut (clampWarning marks a cut with a final …), the
// advice first.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import { WARNING_LIMIT } from '../../src/engine/message.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';
import { generic, podWith } from '../helpers/pods.ts';

const root = new URL('../../', import.meta.url);
const POLICIES: [string, Policy][] = [
  ...readdirSync(new URL('examples/policies/', root)).filter((f) => f.endsWith('.yaml') && f !== 'bad-policy.yaml').map((f) => `examples/policies/${f}`),
  ...readdirSync(new URL('test/fixtures/policies/', root)).filter((f) => f.endsWith('.yaml')).map((f) => `test/fixtures/policies/${f}`),
].map((path) => [path, parsePolicyOrThrow(readFileSync(new URL(path, root), 'utf8'))]);

/** A DNS label of 63 characters: the longest container name. */
const LONG = `train-${'x'.repeat(50)}-worker`;
assert.equal(LONG.length, 63);

/** Pods that make the engine warn, each held to one pool by the pools annotation. */
function pods(pool: string): Pod[] {
  const on = (extra: Record<string, string> = {}) => ({ 'gpu-admission.io/pools': pool, ...extra });
  const one = (limits: Record<string, string>, extra: Record<string, string> = {}, cpu?: string) =>
    podWith([{ name: LONG, limits, ...(cpu ? { cpu } : {}) }], on(extra));
  return [
    one(generic('1', '7500Mi')), one(generic('1', '16G')), one(generic('2', '3500Mi')),
    one(generic('1', '4Gi', '33')), one(generic('1', '4Gi')), one(generic('1', '1Gi')),
    one(generic('1', '10Gi')), one(generic('1', '20Gi')), one(generic('1', '40Gi')), one(generic('1', '9Gi', '33')), one(generic('1', '79.9Gi')), one(generic('1', '79.5Gi')),
    one(generic('1'), { 'gpu-admission.io/numa': 'BestEffort' }), one(generic('1', '4Gi'), { 'gpu-admission.io/numa': 'BestEffort' }),
    one(generic('1'), { 'gpu-admission.io/numa': 'BestEffort' }, '1500m'),
    one({ 'nvidia.com/gpu': '1' }), one({ 'aliyun.com/gpu-mem': '4' }, { 'gpu-admission.io/numa': 'BestEffort' }), one({}, { 'gpu-memory': '2000' }), one({ 'aliyun.com/gpu': '1' }, { 'gpu-admission.io/rdma': 'true' }),
    podWith([{ name: LONG, limits: generic('1') }], on(), { spec: { schedulerName: `volcano-${'s'.repeat(55)}` } }),
    podWith([{ name: LONG, limits: { 'nvidia.com/gpu': '1' } }], on(), { spec: { nodeName: `node-${'n'.repeat(58)}` } }),
    podWith([{ name: LONG, limits: { cpu: '1' } }], on()),
  ];
}

function warningsOf(policy: Policy): string[] {
  return policy.pools.flatMap((pool) => pods(pool.name).flatMap((pod) => {
    const decision = decide(pod, { policy, namespace: { name: 'default', labels: {} } });
    return decision.kind === 'allow' || decision.kind === 'patch' ? decision.warnings : [];
  }));
}

/** The lead of every warning text the engine has: each must be seen, so that none escapes this test. */
const KINDS: readonly RegExp[] = [
  /^ask gpu-memory in whole (Gi|Mi) to avoid rounding: /, /^ask gpu-cores in multiples of 5 to avoid rounding: /,
  /^set gpu-cores to choose the compute share \S+ needs: /, /^ask at most \d+\.\dGi for \d+g\.\d+gb \(MIG counts decimal GB\): /,
  /^NUMA BestEffort not applied on pool /, /^make sure scheduler \S+ makes DRA claims as kube-scheduler does: pool \S+ is dra$/,
  /^gpu-admission\.io annotations have no effect: /, /^gpu-admission\.io\/numa has no effect on native GPU requests/,
  /^gpu-admission\.io\/rdma: routed to RDMA pools/, /^spec\.nodeName is set: /,
  /^use gpu-admission\.io\/gpu: nvidia\.com\/gpu: \d+ rewritten for pool \S+, container "train-[^"]*…[^"]*"$/,
  /^ask gpu-memory in hundredths of the \S+ card: \S+ rounded up to gpu-fraction 0\.\d\d /, /^ask at most 99% of a card for a KAI share: /,
  /^ask gpu-admission\.io\/gpu-memory instead: KAI places gpu-memory only on nodes labelled nvidia\.com\/gpu\.memory$/,
  /^\S+( \+ \d+%)? rounded up to \d+ of \d+ MPS shares \(\d+\.\dGi, \d+%\) \(container "train-[^"]*…[^"]*"\)$/,
];

describe('every warning the engine can emit fits whole', () => {
  const all = POLICIES.flatMap(([path, policy]) => warningsOf(policy).map((w) => ({ path, w })));

  for (const [path] of POLICIES) {
    it(`when pods that warn are decided under ${path}, then each warning is at most ${WARNING_LIMIT} characters and not cut`, () => {
      const mine = all.filter((a) => a.path === path);
      assert.ok(mine.length > 0);
      for (const { w } of mine) {
        assert.ok(w.length <= WARNING_LIMIT, `${w.length} characters: ${w}`);
        assert.ok(!w.endsWith('…'), `cut: ${w}`);
      }
    });
  }

  it('when the warnings are gathered, then every kind the engine has was seen, and a long container name is shortened, never the advice', () => {
    const seen = new Set(all.map(({ w }) => w));
    for (const kind of KINDS) assert.ok([...seen].some((w) => kind.test(w)), `no warning matched ${kind}`);
    for (const w of seen) {
      if (w.includes('(container "')) assert.match(w, /\(container "train-[^"]*…[^"]*"\)$/, w);
      // The longest name is shortened first: the examples' pool names stay whole beside a 63-character container name.
      assert.ok(!/pool \S*…/.test(w), `a pool name was shortened: ${w}`);
      assert.ok(KINDS.some((kind) => kind.test(w)), `a warning of a kind this test does not know: ${w}`);
    }
  });
});
