// Kueue's manager (sigs.k8s.io/kueue, built by test/e2e/kueue/build.sh) as a local process beside
// the e2e control plane: its CRDs and webhook configurations rendered from the module's own
// manifests with URLs on 127.0.0.1, its webhook on a certificate of the e2e CA.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { createServingCert } from '../control-plane/control-plane.ts';
import { runProcess, type Kubectl } from '../harness/kubectl.ts';
import { freePort } from '../harness/webhook.ts';

type Obj = Record<string, any>;

export interface KueueBuild {
  readonly bin: string;
  /** The module's source tree (Go module cache): CRDs and webhook manifests. */
  readonly src: string;
}

/** Builds Kueue when missing (a no-op once cached). */
export async function ensureKueue(root: string, log: (m: string) => void): Promise<KueueBuild> {
  const started = Date.now();
  const r = await runProcess('bash', [join(root, 'test/e2e/kueue/build.sh')]);
  if (r.code !== 0) throw new Error(`test/e2e/kueue/build.sh exited ${r.code}:\n${r.stderr}`);
  log(`kueue ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const bin = /KUEUE_BIN=(.*)/.exec(r.stdout)?.[1]?.trim();
  const src = /KUEUE_SRC=(.*)/.exec(r.stdout)?.[1]?.trim();
  if (!bin || !src) throw new Error(`build.sh printed no KUEUE_BIN/KUEUE_SRC line:\n${r.stdout}`);
  return { bin, src };
}

const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((d) => d !== null);

/** The kinds whose CRDs config/components/crd/kustomization.yaml gives the /convert webhook. */
const CONVERTED = new Set(['localqueues', 'clusterqueues', 'cohorts', 'workloads', 'multikueueclusters']);
/** The webhook paths the manager serves with integrations batch/job and pod, and Kueue's own kinds. */
const served = (path: string): boolean => path.endsWith('batch-v1-job') || path.endsWith('--v1-pod') || path.includes('-kueue-x-k8s-io-');

/** Kueue's CRDs and webhook configurations, from its module source, calling https://127.0.0.1:PORT. */
export async function renderKueue(src: string, port: number, caPem: string, excluded: readonly string[]): Promise<{ crds: Obj[]; webhooks: Obj[] }> {
  const client = (path: string): Obj => ({ url: `https://127.0.0.1:${port}${path}`, caBundle: Buffer.from(caPem).toString('base64') });
  const dir = join(src, 'config/components/crd/bases');
  const crds = (await Promise.all((await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort().map(async (f) => docs(await readFile(join(dir, f), 'utf8'))))).flat();
  for (const crd of crds) {
    if (CONVERTED.has(crd.spec.names.plural)) crd.spec.conversion = { strategy: 'Webhook', webhook: { clientConfig: client('/convert'), conversionReviewVersions: ['v1'] } };
  }
  const webhooks = docs(await readFile(join(src, 'config/components/webhook/manifests.yaml'), 'utf8')).map((configuration) => ({
    ...configuration,
    metadata: { ...configuration.metadata, name: `kueue-${configuration.metadata.name}` },
    webhooks: (configuration.webhooks as Obj[]).filter((w) => served(w.clientConfig.service.path)).map((w) => ({
      ...w,
      clientConfig: client(w.clientConfig.service.path),
      // As config/components/webhook/kustomization.yaml patches the pod webhook.
      ...(w.clientConfig.service.path.endsWith('--v1-pod')
        ? { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...excluded] }] } } : {}),
    })),
  }));
  return { crds, webhooks };
}

export interface KueueManager {
  readonly logPath: string;
  stop(): Promise<void>;
}

/**
 * Starts the manager with `configuration` (its ports and certDir are filled in) and the admin
 * kubeconfig, then registers its webhooks. Kueue v0.17.0 reads its metrics certificate from the
 * fixed path /etc/kueue/metrics/certs (cmd/kueue/main.go) when internal cert management is off:
 * the manager gets a private mount namespace with an overlay on /etc that holds it (needs root).
 * VisibilityOnDemand would need /visibility/tls.crt: off.
 */
export async function startKueue(o: {
  build: KueueBuild; kubectl: Kubectl; kubeconfig: string; caCertPath: string; caKeyPath: string; workDir: string;
  configuration: Obj; excludedNamespaces: readonly string[]; log: (m: string) => void;
}): Promise<KueueManager> {
  const [webhookPort, healthPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const dir = join(o.workDir, 'kueue');
  const cert = await createServingCert({ caCertPath: o.caCertPath, caKeyPath: o.caKeyPath, outDir: join(dir, 'certs'), name: 'kueue', hosts: ['localhost', '127.0.0.1'] });
  const metricsDir = join(dir, 'etc-upper/kueue/metrics/certs');
  await Promise.all([mkdir(metricsDir, { recursive: true }), mkdir(join(dir, 'etc-work'), { recursive: true })]);
  await Promise.all([
    copyFile(cert.certPath, join(dir, 'certs/tls.crt')), copyFile(cert.keyPath, join(dir, 'certs/tls.key')),
    copyFile(cert.certPath, join(metricsDir, 'tls.crt')), copyFile(cert.keyPath, join(metricsDir, 'tls.key')),
  ]);
  const caPem = await readFile(o.caCertPath, 'utf8');
  const { crds, webhooks } = await renderKueue(o.build.src, webhookPort, caPem, o.excludedNamespaces);
  await o.kubectl.ok(['apply', '--server-side', '-f', '-'], crds.map((c) => stringify(c)).join('---\n'));
  await o.kubectl.ok(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all']);
  await o.kubectl.ok(['create', 'namespace', 'kueue-system']);
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, stringify({
    ...o.configuration,
    namespace: 'kueue-system',
    health: { healthProbeBindAddress: `127.0.0.1:${healthPort}` },
    metrics: { bindAddress: `127.0.0.1:${metricsPort}` },
    webhook: { host: '127.0.0.1', port: webhookPort, certDir: join(dir, 'certs') },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: false },
  }));
  const logPath = join(dir, 'kueue.log');
  const out = createWriteStream(logPath, { flags: 'a' });
  const script = `mount -t overlay overlay -o lowerdir=/etc,upperdir="$UPPER",workdir="$WORK" /etc && exec "$KUEUE" --config="$CONFIG" --feature-gates=VisibilityOnDemand=false --zap-log-level=2`;
  const child: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    env: {
      PATH: process.env.PATH ?? '', KUBECONFIG: o.kubeconfig, UPPER: join(dir, 'etc-upper'), WORK: join(dir, 'etc-work'), KUEUE: o.build.bin, CONFIG: configPath,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = once(child, 'exit');
  const orphan = (): void => { child.kill('SIGKILL'); };
  process.once('exit', orphan);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', orphan);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kueue exited with ${child.exitCode}; see ${logPath}`);
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.status).catch(() => 0);
    if (ready === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kueue not ready within 60 s; see ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await o.kubectl.ok(['apply', '-f', '-'], webhooks.map((w) => stringify(w)).join('---\n'));
  o.log(`kueue ready (webhook on 127.0.0.1:${webhookPort}); log in ${logPath}`);
  return { logPath, stop };
}
