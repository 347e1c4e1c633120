// The CLI as an installable package: `npm pack` makes a tarball of built JavaScript that,
// installed globally into a fresh prefix, gives working `gpu-admission` and
// `kubectl-gpu_admission` commands (no TypeScript at run time).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'gpu-admission-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('the CLI as an npm package', () => {
  it('when the packed tarball is installed globally, then gpu-admission and kubectl-gpu_admission check a policy and mutate a pod', { timeout: 300_000 }, () => {
    const npm = (args: string[], cwd: string): string => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
    npm(['pack', '--pack-destination', work], ROOT);
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) as string);
    const prefix = join(work, 'prefix');
    npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
    const bin = join(prefix, 'bin');
    const env = { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin` }; // node ≥ 22 first: the one running this test
    const installed = join(prefix, 'lib', 'node_modules', 'gpu-admission');
    assert.deepEqual(readdirSync(join(installed, 'dist', 'cli')).filter((f) => f.endsWith('.ts')), [], 'built JavaScript only');

    const policy = join(work, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - {name: t4, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n');
    const pod = join(work, 'pod.yaml');
    writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ml}\nspec: {containers: [{name: c, image: x, resources: {limits: {gpu-admission.io/gpu-memory: 4Gi}}}]}\n');
    for (const command of ['gpu-admission', 'kubectl-gpu_admission']) {
      const check = spawnSync(join(bin, command), ['policy', 'check', policy], { env, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /valid \(revision [0-9a-f]{12}, 1 pools: t4\)/);
      const mutated = spawnSync(join(bin, command), ['mutate', '-f', pod, '--policy', policy], { env, encoding: 'utf8' });
      assert.equal(mutated.status, 0, mutated.stderr);
      assert.match(mutated.stdout, /aliyun.com\/gpu-mem: "4"/);
    }
  });
});
