// The offline CLI on the Volcano and Koordinator example policies: explain names each pool's
// verdict and what the chosen one writes; mutate prints the pod those schedulers take.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
function cli(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
function podFile(namespace: string, annotations: Record<string, string>, limits: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ga-sched-'));
  const file = join(dir, 'pod.yaml');
  writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace, annotations },
    spec: { containers: [{ name: 'main', image: 'pytorch', resources: { limits } }] } }));
  return file;
}

describe('gpu-admission explain and mutate with the Volcano and Koordinator example policies', () => {
  it('when a notebook share with compute is explained on Volcano, then the MIG pool is ruled out with Volcano\'s reason and the L40S pool is chosen', () => {
    const file = podFile('notebooks', {}, { 'gpu-admission.io/gpu-memory': '9Gi', 'gpu-admission.io/gpu-cores': '20' });
    const r = cli(['explain', '-f', file, '--policy', join(root, 'examples/policies/volcano.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pool a100-mig: ruled out: Volcano's mig mode gives the smallest MIG slice that holds the memory/);
    assert.match(r.stdout, /pool l40s-vgpu: can serve: main \{volcano\.sh\/vgpu-number: 1, volcano\.sh\/vgpu-memory: 9216, volcano\.sh\/vgpu-cores: 20\}\s+<- chosen/);
    assert.match(r.stdout, /routed to l40s-vgpu \(volcano-vgpu\), scheduler volcano/);
  });

  it('when an isolated share is explained on Koordinator, then the pool without HAMi-core says why and the pod goes to the HAMi-core pool', () => {
    const file = podFile('ml', { 'gpu-admission.io/isolation': 'memory' }, { 'gpu-admission.io/gpu-memory': '6Gi' });
    const r = cli(['explain', '-f', file, '--policy', join(root, 'examples/policies/koordinator.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pool h800: ruled out: koordinator isolates nothing \(its nodes have no HAMi-core: koordinator\.gpuIsolationProvider\), the pod needs memory/);
    assert.match(r.stdout, /routed to a10-hami-core \(koordinator\), scheduler koord-scheduler/);
  });

  it('when the pod is mutated on Koordinator, then the output carries the totals, the scheduler and the isolation label', () => {
    const file = podFile('ml', {}, { 'gpu-admission.io/gpu': '2', 'gpu-admission.io/gpu-memory': '8Gi' });
    const r = cli(['mutate', '-f', file, '--policy', join(root, 'examples/policies/koordinator.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const out = parse(r.stdout);
    assert.deepEqual(out.spec.containers[0].resources.limits, { 'koordinator.sh/gpu.shared': '2', 'koordinator.sh/gpu-memory': String(16 * 2 ** 30) });
    assert.equal(out.spec.schedulerName, 'koord-scheduler');
    assert.equal(out.metadata.labels['koordinator.sh/gpu-isolation-provider'], 'HAMi-core');
  });
});
