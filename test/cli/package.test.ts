// The CLI as an installable package: `npm pack` makes a tarball of built JavaScript that,
// installed globally into a fresh prefix, gives working `gpu-admission` and
// `kubectl-gpu_admission` commands (no TypeScript at run time) on Node 24, and commands that
// refuse at once, naming the Node they need, on the older Node most machines have (npm installs
// the package there too: engines is only a warning).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const COMMANDS = ['gpu-admission', 'kubectl-gpu_admission'];
const work = mkdtempSync(join(tmpdir(), 'gpu-admission-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));
let bin: string;

/** The Node the machine runs outside this project (/usr/bin/node, or a `node` on PATH not in node_modules), if older than 24. */
function olderNode(): { path: string; version: string } | { looked: string[] } {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((d) => d && !d.includes('node_modules')).map((d) => join(d, 'node'));
  const looked = [...new Set(['/usr/bin/node', '/usr/local/bin/node', ...onPath])].filter((p) => existsSync(p));
  for (const path of looked) {
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (Number(/^v(\d+)\./.exec(version)?.[1] ?? 99) < 24) return { path: realpathSync(path), version };
  }
  return { looked };
}

const run = (command: string, args: string[], nodeDir: string): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(join(bin, command), args, { env: { PATH: `${bin}:${nodeDir}:/usr/bin:/bin` }, cwd: work, encoding: 'utf8' });

before(() => {
  const npm = (args: string[], cwd: string): string => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  npm(['pack', '--pack-destination', work], ROOT);
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) as string);
  const prefix = join(work, 'prefix');
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
  bin = join(prefix, 'bin');
  const installed = join(prefix, 'lib', 'node_modules', 'gpu-admission');
  assert.deepEqual(readdirSync(join(installed, 'dist', 'cli')).filter((f) => f.endsWith('.ts')), [], 'built JavaScript only');
}, { timeout: 300_000 });

describe('the CLI as an npm package', () => {
  it('when the packed tarball is installed globally and run with Node 24, then gpu-admission and kubectl-gpu_admission print usage, check a policy and mutate a pod', () => {
    const node24 = dirname(process.execPath); // the Node running this test (the node@24 devDependency)
    const policy = join(work, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: gpu-admission.io/v1alpha1\nkind: GpuAdmissionPolicy\npools:\n  - {name: t4, backend: ack-cgpu, gpu: {model: T4, product: Tesla-T4, memory: 15Gi, perNode: 1}}\n');
    const pod = join(work, 'pod.yaml');
    writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ml}\nspec: {containers: [{name: c, image: x, resources: {limits: {gpu-admission.io/gpu-memory: 4Gi}}}]}\n');
    for (const command of COMMANDS) {
      const help = run(command, ['--help'], node24);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^Usage:\n {2}gpu-admission mutate/);
      const missing = run(command, ['policy', 'check', 'missing.yaml'], node24);
      assert.equal(missing.status, 2, `${command}: ${missing.stdout}${missing.stderr}`);
      assert.match(missing.stderr, /cannot read missing\.yaml: ENOENT/);
      const check = run(command, ['policy', 'check', policy], node24);
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /valid \(content hash [0-9a-f]{12}, 1 pools: t4\)/);
      const mutated = run(command, ['mutate', '-f', pod, '--policy', policy], node24);
      assert.equal(mutated.status, 0, mutated.stderr);
      assert.match(mutated.stdout, /aliyun.com\/gpu-mem: "4"/);
    }
  });

  it('when the installed commands run on the machine\'s own older Node (first on PATH), then each exits 2 at once with a message naming Node 24, never 0 with nothing', () => {
    const old = olderNode();
    // Not a skip: without an older Node this promise is unproven, so say what to install.
    if ('looked' in old) {
      assert.fail(`no Node.js older than 24 found (looked at ${old.looked.join(', ') || 'nothing'}): this test needs the machine's `
        + 'own Node, e.g. Debian\'s `apt-get install nodejs` (.ci/run installs it)');
    }
    console.log(`# older Node: ${old.path} ${old.version}`);
    for (const command of COMMANDS) {
      for (const args of [['--help'], ['policy', 'check', 'missing.yaml'], ['inspect']]) {
        const r = run(command, args, dirname(old.path));
        const what: string = `${command} ${args.join(' ')} on ${old.version}`;
        assert.equal(r.status, 2, `${what}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '', what);
        assert.match(r.stderr, new RegExp(`^gpu-admission: needs Node\\.js 24 or newer .*is Node\\.js ${old.version.replace(/\./g, '\\.')};`), what);
      }
    }
  });
});
