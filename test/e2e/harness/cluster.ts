// One end-to-end environment: a real control plane, the manifests applied, the webhook running
// with its ServiceAccount's own token (so least privilege is proven, not assumed), GPU nodes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach } from 'node:test';
import { promisify } from 'node:util';
import { createServingCert, defaultBinaries, startControlPlane, type ControlPlane } from '../control-plane/control-plane.ts';
import { Kubectl, eventually } from './kubectl.ts';
import { gpuNodes } from './nodes.ts';
import { freePort, startWebhook, type Webhook } from './webhook.ts';

const run = promisify(execFile);

export const ROOT = new URL('../../../', import.meta.url).pathname;

export interface Environment {
  readonly cp: ControlPlane;
  readonly kubectl: Kubectl;
  readonly workDir: string;
  readonly caPem: string;
  /** The webhook's port (the overlay's 18443 is replaced by it). */
  readonly port: number;
  readonly log: (message: string) => void;
  webhook: Webhook;
  startWebhook(): Promise<Webhook>;
  /** Stops everything; removes the work directory (logs, keys) unless told to keep it. */
  stop(keep: boolean): Promise<void>;
}

/** Builds the binaries when missing (a no-op once cached) and returns the paths of kubectl, helm and the OCI registry. */
export async function ensureBinaries(log: (m: string) => void): Promise<{ kubectl: string; helm: string; registry: string }> {
  const started = Date.now();
  const { stdout } = await run('bash', [join(ROOT, 'test/e2e/control-plane/build.sh')], { maxBuffer: 64 * 1024 * 1024 });
  log(`binaries ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const dir = /K8S_BIN_DIR=(.*)/.exec(stdout)?.[1] ?? defaultBinaries().binDir;
  const helm = /HELM_BIN=(.*)/.exec(stdout)?.[1];
  const registry = /REGISTRY_BIN=(.*)/.exec(stdout)?.[1];
  if (!helm || !registry) throw new Error(`build.sh printed no HELM_BIN or REGISTRY_BIN line:\n${stdout}`);
  return { kubectl: join(dir.trim(), 'kubectl'), helm: helm.trim(), registry: registry.trim() };
}

/** A kubeconfig that authenticates as the webhook's ServiceAccount with a bound token. */
export async function serviceAccountKubeconfig(kubectl: Kubectl, cp: ControlPlane, dir: string): Promise<string> {
  const token = (await kubectl.ok(['create', 'token', 'gpu-admission', '-n', 'gpu-admission', '--duration=4h'])).trim();
  const ca = (await readFile(cp.caCertPath)).toString('base64');
  const path = join(dir, 'webhook.kubeconfig');
  await writeFile(path, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
    clusters: [{ name: 'e2e', cluster: { server: cp.apiServerUrl, 'certificate-authority-data': ca } }],
    users: [{ name: 'gpu-admission', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'e2e', user: 'gpu-admission' } }],
  }));
  return path;
}

/** The e2e overlay of manifests/, with the e2e CA as caBundle and the webhook's real port. */
export async function renderOverlay(kubectl: Kubectl, caPem: string, port: number): Promise<string> {
  const yaml = await kubectl.ok(['kustomize', join(ROOT, 'test/e2e/overlay')]);
  return yaml.replaceAll('caBundle: ""', `caBundle: ${Buffer.from(caPem).toString('base64')}`)
    .replaceAll('https://127.0.0.1:18443/', `https://127.0.0.1:${port}/`);
}

/** Builds dist/ as the Dockerfile does, so the e2e suite runs what the image runs. */
export async function buildWebhook(log: (m: string) => void): Promise<void> {
  const started = Date.now();
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
  log(`webhook built into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export interface EnvironmentOptions {
  /** Names the progress lines (`[NAME +1.2s]`) and the work directory (`gpu-admission-NAME-…`); default `e2e`. */
  readonly name?: string;
}

export async function startEnvironment(options: EnvironmentOptions = {}): Promise<Environment> {
  const name = options.name ?? 'e2e';
  const t0 = Date.now();
  const log = (m: string): void => console.log(`[${name} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
  const [{ kubectl: kubectlBin }] = await Promise.all([ensureBinaries(log), buildWebhook(log)]);
  const workDir = await mkdtemp(join(tmpdir(), `gpu-admission-${name}-`));
  const cp = await startControlPlane({ workDir, log });
  let webhook: Webhook | undefined;
  try {
    log(`control plane up (${cp.apiServerUrl}); logs in ${cp.logDir}`);
    const kubectl = new Kubectl(kubectlBin, cp.kubeconfig);
    const caPem = await readFile(cp.caCertPath, 'utf8');
    const port = await freePort();
    const overlay = await renderOverlay(kubectl, caPem, port);
    // Webhook configurations first point at a webhook that is not up yet: create the namespace,
    // RBAC and ConfigMap before registering them so that our own apply is not refused.
    const objects = overlay.split(/^---$/m);
    const webhooks = objects.filter((o) => /kind: (Mutating|Validating)WebhookConfiguration/.test(o));
    await kubectl.ok(['apply', '-f', '-'], objects.filter((o) => !webhooks.includes(o)).join('---\n'));
    await eventually('the gpu-admission ServiceAccount', async () =>
      (await kubectl.run(['get', 'serviceaccount', 'gpu-admission', '-n', 'gpu-admission'])).code === 0 ? true : undefined);
    // The policy is not part of the base: the operator creates it, as docs/operators.md says.
    await kubectl.ok(['-n', 'gpu-admission', 'create', 'configmap', 'gpu-admission-policy', `--from-file=policy.yaml=${join(ROOT, 'test/e2e/policy.yaml')}`]);
    const cert = await createServingCert({ caCertPath: cp.caCertPath, caKeyPath: cp.caKeyPath, outDir: join(workDir, 'webhook-tls'), name: 'webhook', hosts: ['localhost', '127.0.0.1'] });
    const saKubeconfig = await serviceAccountKubeconfig(kubectl, cp, workDir);
    const start = (): Promise<Webhook> => startWebhook({
      root: ROOT, port, kubeconfig: saKubeconfig, certPath: cert.certPath, keyPath: cert.keyPath, caPem, logPath: join(workDir, 'webhook.log'),
    });
    webhook = await start();
    log(`webhook ready on port ${port}; log in ${join(workDir, 'webhook.log')}`);
    await kubectl.ok(['apply', '-f', '-'], webhooks.join('---\n'));
    const nodes = await kubectl.apply({ apiVersion: 'v1', kind: 'List', items: gpuNodes() });
    if (nodes.code !== 0) throw new Error(nodes.stderr);
    const env: Environment = {
      cp, kubectl, workDir, caPem, port, log, webhook,
      startWebhook: start,
      async stop(keep) {
        await env.webhook.stop().catch(() => {});
        await cp.stop();
        if (keep) log(`kept for inspection: ${workDir}`);
        else await rm(workDir, { recursive: true, force: true });
      },
    };
    return env;
  } catch (err) {
    await webhook?.stop().catch(() => {});
    await cp.stop();
    log(`start-up failed; logs kept in ${workDir}`);
    throw err;
  }
}

/**
 * The suite's teardown: the environment is stopped after its last test, and its work directory
 * (logs, keys) kept when a test failed or GPU_ADMISSION_E2E_KEEP=1.
 */
export function stopAfterSuite(current: () => Environment | undefined): void {
  let failures = 0;
  afterEach((t) => {
    if ((t as { passed?: boolean }).passed === false) failures++; // TestContext.passed (Node ≥ 21), not yet in @types/node
  });
  after(async () => {
    await current()?.stop(failures > 0 || process.env.GPU_ADMISSION_E2E_KEEP === '1');
  });
}

/** Creates a namespace (opted in or not) and waits for its default ServiceAccount. */
export async function namespace(kubectl: Kubectl, name: string, optIn: boolean): Promise<void> {
  const labels = optIn ? { 'gpu-admission.io/enabled': 'true' } : {};
  const r = await kubectl.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  if (r.code !== 0) throw new Error(r.stderr);
  await eventually(`ServiceAccount default in ${name}`, async () =>
    (await kubectl.run(['get', 'serviceaccount', 'default', '-n', name])).code === 0 ? true : undefined);
}
