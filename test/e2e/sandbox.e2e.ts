// npm run sandbox, as a newcomer runs it: `node scripts/sandbox.ts` until it prints
// `export KUBECONFIG=…`, a generic pod applied with that kubeconfig into the opted-in namespace
// and stored translated, then SIGTERM: exit 0, no component left running, the work directory gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from './harness/cluster.ts';
import { Kubectl, eventually, runProcess } from './harness/kubectl.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('npm run sandbox: a generic pod applied with the printed kubeconfig is stored translated; SIGTERM stops everything', async () => {
  const started = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'scripts/sandbox.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const kubeconfig = await eventually('the export KUBECONFIG= line', async () => {
      if (child.exitCode !== null) throw new Error(`sandbox exited ${child.exitCode}:\n${out}`);
      return /^export KUBECONFIG=(.+)$/m.exec(out)?.[1];
    }, 600_000);
    console.log(`sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const binDir = /^export PATH=(\S+):\$PATH/m.exec(out)?.[1];
    assert.ok(binDir, out);
    const workDir = dirname(kubeconfig);
    assert.match(out, new RegExp(`kubectl apply -f ${workDir}/gpu-pod.yaml`));
    assert.match(out, /gpu-admission\.cjs inspect --kubeconfig /);

    const k = new Kubectl(join(binDir, 'kubectl'), kubeconfig);
    assert.equal((await k.json(['get', 'namespace', 'sandbox'])).metadata.labels['gpu-admission.io/enabled'], 'true');
    const generic = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'generic', namespace: 'sandbox' },
      spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits: { 'gpu-admission.io/gpu-memory': '4Gi' } } }] },
    };
    const applied = await k.apply(generic);
    assert.equal(applied.code, 0, applied.stderr);
    const stored = await k.json(['get', 'pod', 'generic', '-n', 'sandbox']);
    assert.deepEqual(stored.spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '4' });
    assert.equal(JSON.parse(stored.metadata.annotations['gpu-admission.io/decision']).backend, 'ack-cgpu');
    // The printed example pod file applies too.
    assert.equal((await k.run(['apply', '-f', join(workDir, 'gpu-pod.yaml')])).code, 0);

    // Its processes: etcd, kube-apiserver, controller-manager, scheduler, the webhook.
    const ps = await runProcess('ps', ['-o', 'pid=,comm=', '--ppid', String(child.pid)]);
    const children = ps.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)).map(([pid, comm]) => ({ pid: Number(pid), comm: comm ?? '' }));
    assert.ok(children.some((c) => c.comm === 'kube-apiserver'), ps.stdout);
    assert.ok(children.length >= 5, ps.stdout);

    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, out);
    assert.match(out, /SIGTERM: stopping the sandbox/);
    assert.deepEqual(children.filter((c) => alive(c.pid)), []);
    assert.equal(existsSync(workDir), false, `${workDir} left behind`);
  } finally {
    if (child.exitCode === null) { // a failed check: stop it as a user would, so no component outlives the test
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
  }
});
