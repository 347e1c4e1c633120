// docs/backends.md and the engine say the same: every row of its summary table is checked
// against the backend facts and against what the engine writes and refuses on a one-pool policy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { poolTerms } from '../../src/policy/pool-nodes.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { BACKENDS, BACKEND_FACTS, type Backend } from '../../src/vocabulary/backends.ts';
import { describeRequirement } from '../../src/vocabulary/node-selector.ts';
import { KAI_SHARE_ANNOTATIONS } from '../../src/vocabulary/names.ts';
import { applied, podWith } from '../helpers/pods.ts';

const doc = readFileSync(new URL('../../docs/backends.md', import.meta.url), 'utf8');
const table = doc.split('## Summary')[1]?.split('\n\n')[1] ?? '';
const rows = table.split('\n').slice(2).map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
const row = (backend: Backend): string[] | undefined => rows.find((r) => r[0] === `\`${backend}\``);
const names = (cell: string): string[] => (cell === '—' ? [] : cell.split(', ').map((s) => s.replaceAll('`', '')));

function onePool(backend: Backend): ReturnType<typeof parsePolicyOrThrow> {
  const mig = backend.endsWith('-mig') ? ', mig: {profiles: [1g.10gb, 2g.20gb, 3g.40gb, 7g.80gb]}' : '';
  return parsePolicyOrThrow(`apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: p, backend: ${backend}, nodeSelector: {pool: p}, gpu: {model: M, memory: 80Gi, perNode: 8}${mig}}
`);
}

/** The GPU resources the engine writes for this request on this backend, or undefined when refused. */
function written(backend: Backend, limits: Record<string, string>): string[] | undefined {
  const pod: Pod = podWith([{ name: 'main', limits }]);
  const d = decide(pod, { policy: onePool(backend), namespace: { name: 'ml', labels: {} } });
  if (d.kind === 'deny') return undefined;
  const out = applied(pod, d);
  // KAI asks a share by pod annotations, not resources.
  const annotations = Object.keys(out.metadata?.annotations ?? {}).filter((k) => (KAI_SHARE_ANNOTATIONS as readonly string[]).includes(k));
  return [...Object.keys(out.spec.containers[0]?.resources?.limits ?? {}), ...annotations].sort();
}

/** A documented name matches a written one; `<…>` stands for the profile or the pool's resource. */
function sameNames(documented: string[], actual: string[] | undefined): boolean {
  if (actual === undefined || documented.length !== actual.length) return false;
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = (d: string): RegExp => new RegExp(`^${escape(d).replace('<7g profile>', '7g\\..+').replace('<profile>', '.+')
    .replace('<timeSlicing\\.resource>', 'nvidia\\.com/gpu\\.shared').replace('<class>', '.+')}$`);
  return documented.every((d) => actual.some((a) => pattern(d).test(a)));
}

const SHARE = { 'gpu-admission.io/gpu-memory': '4Gi' };
describe('docs/backends.md: the summary table is what the engine does', () => {
  it(`when the table is read, then it has one row for each of the ${BACKENDS.length} backends`, () => {
    assert.deepEqual(rows.map((r) => r[0]?.replaceAll('`', '')).sort(), [...BACKENDS].sort());
  });

  for (const backend of BACKENDS) {
    it(`when ${backend} is read, then its facts, labels, resources and limits are as documented`, () => {
      const [, labels = '', whole = '', share = '', isolates, compute, multi, scheduler] = row(backend) ?? [];
      const facts = BACKEND_FACTS[backend];
      assert.equal(isolates, facts.isolation, 'isolates');
      assert.equal(compute, facts.computeRequired ? 'required' : facts.computeShares ? 'yes' : 'no', 'compute share');
      assert.equal(multi, facts.multiCardShares ? 'yes' : 'no', 'multi-card share');
      assert.equal(scheduler, facts.scheduler ?? 'any', 'scheduler');

      const terms = poolTerms(onePool(backend).pools[0]!).map((t) => t.map(describeRequirement));
      const mode = facts.modeLabel;
      const model = 'nodeLabel' in facts.model ? facts.model.nodeLabel : undefined;
      if (mode) assert.ok(labels.includes(`\`${mode.key}=${mode.value}\``) && terms.some((t) => t.includes(`${mode.key}=${mode.value}`)), 'mode label');
      // gke: GKE's own labels select the pool, its accelerator first (the model label).
      else if (facts.family === 'gke') assert.ok(labels.startsWith(`\`${model}\``) && terms.every((t) => t.includes(`${model}=M`)), 'GKE labels');
      else assert.equal(labels, "the pool's nodeSelector");
      assert.equal(labels.includes('or no such label'), terms.some((t) => t.includes(`${mode?.key} DoesNotExist`)), 'unlabelled nodes');
      assert.equal(labels.includes('placement'), terms.every((t) => t.some((r) => r.startsWith('ack.node.gpu.placement'))), 'placement');

      assert.ok(sameNames(names(whole), written(backend, { 'gpu-admission.io/gpu': '1' })) || (whole === '—' && written(backend, { 'gpu-admission.io/gpu': '1' }) === undefined),
        `whole GPUs: documented ${whole}, written ${written(backend, { 'gpu-admission.io/gpu': '1' })}`);
      assert.ok(sameNames(names(share), written(backend, SHARE)) || (share === '—' && written(backend, SHARE) === undefined),
        `share: documented ${share}, written ${written(backend, SHARE)}`);
      const twoCards = written(backend, { ...SHARE, 'gpu-admission.io/gpu': '2' });
      assert.equal(twoCards !== undefined, share !== '—' && multi === 'yes', 'a share of two cards is served only where documented');
      const withCompute = written(backend, { ...SHARE, 'gpu-admission.io/gpu-cores': '30' });
      assert.equal(withCompute !== undefined, compute !== 'no', 'a compute share is served only where documented');
    });
  }
});

describe('docs/backends.md: what HAMi reserves without gpucores (#21)', () => {
  it('when the HAMi section is read, then it says HAMi\'s own webhook makes a count without memory exclusive (defaultExclusiveCoreIfNeeded)', () => {
    const hami = doc.split('\n## HAMi')[1]?.split('\n## ')[0] ?? '';
    assert.ok(!hami.includes('So without `gpucores` HAMi reserves no compute'), 'the old, wrong sentence is gone');
    assert.match(hami, /defaultExclusiveCoreIfNeeded/);
    assert.match(hami, /adds `gpucores: 100` to a container that asks the card count/);
  });
});
