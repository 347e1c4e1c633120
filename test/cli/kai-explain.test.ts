// `gpu-admission explain` on a kai policy: a share is shown as the pod annotations it becomes, and
// each kai reason (a share beside another GPU container, a native value KAI refuses) is given.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const explain = (pods: object[]): { stdout: string; status: number | null } => {
  const input = pods.map((p) => stringify(p)).join('---\n');
  const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), 'explain', '-f', '-', '--policy', join(root, 'examples/policies/kai.yaml')],
    { cwd: root, input, encoding: 'utf8' });
  return { stdout: r.stdout, status: r.status };
};
const pod = (name: string, ns: string, containers: object[], annotations: Record<string, string> = {}): object =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, annotations }, spec: { containers } });
const asks = (name: string, memory?: string): object =>
  ({ name, image: 'busybox', ...(memory ? { resources: { limits: { 'gpu-admission.io/gpu-memory': memory } } } : {}) });

describe('explain on kai pools', () => {
  it('when a share is explained, then the chosen kai pool shows the gpu-fraction annotations it writes and the rounding warning', () => {
    const r = explain([pod('share', 'ml', [asks('sidecar'), asks('train', '12Gi')])]);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /pool a10-shared: can serve: train \{\} \+ pod annotations \{gpu-fraction: 0\.54, gpu-fraction-container-name: train\} {2}<- chosen/);
    assert.match(r.stdout, /routed to a10-shared \(kai\), scheduler kai-scheduler/);
    assert.match(r.stdout, /warning: ask gpu-memory in hundredths of the 23028Mi card: 12Gi rounded up to gpu-fraction 0\.54/);
  });

  it('when two shares or a bad native value are explained, then each kai pool says why it cannot serve them', () => {
    const r = explain([pod('two', 'inference', [asks('a', '4Gi'), asks('b', '4Gi')]),
      pod('native', 'ml', [asks('a')], { 'gpu-fraction': '0.5', 'gpu-fraction-num-devices': '9' })]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /pool a10-shared: ruled out: KAI gives a share to one container of a pod/);
    assert.match(r.stdout, /pool a10-shared: ruled out: gpu-fraction-num-devices: 9 GPUs, a node has 4/);
    assert.match(r.stdout, /pool h100-mig: ruled out: its cards are cut into MIG slices: ask nvidia\.com\/mig-<profile>, not gpu-fraction/);
  });
});
