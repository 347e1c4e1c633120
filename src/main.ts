#!/usr/bin/env node
/**
 * The webhook process: reads the configuration, builds the policy and namespace sources, serves
 * the app over HTTPS, and drains on SIGTERM. The only module that listens or exits.
 */
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { relative } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ConfigError, USAGE, loadConfig, type Config } from './config.ts';
import { defaultPolicy } from './policy/default-policy.ts';
import { PolicyError } from './policy/parse.ts';
import type { NodeSource } from './cluster/model.ts';
import { NoNamespaceLabels, StaticPolicySource, type NamespaceSource, type PolicySource } from './policy/source.ts';
import { createApp } from './server/create-app.ts';
import { ensureDevCertificate } from './server/dev-certificate.ts';
import { createLogger } from './server/logger.ts';
import { FilePolicySource } from './server/policy-file.ts';
import { drainable } from './server/drain.ts';
import { createTlsServer, watchCertificate, type KeyPairFiles } from './server/tls.ts';

interface Sources {
  readonly policySource: PolicySource;
  readonly namespaceSource: NamespaceSource;
  /** The watched GPU nodes (--node-watch): warnings and gauges only, never awaited for readiness. */
  readonly nodeSource?: NodeSource;
}

async function main(): Promise<void> {
  let config: Config | 'help';
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (config === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const logger = createLogger(config.logLevel);
  try {
    await serve(config, logger);
  } catch (err) {
    const detail = err instanceof PolicyError ? { errors: err.errors } : err instanceof ConfigError ? { errors: err.problems } : { err };
    const first = err instanceof ConfigError ? err.problems[0] : (err as Error).message.split('\n')[0];
    logger.fatal(detail, `cannot start: ${first}`);
    logger.flush(() => process.exit(1));
  }
}

async function serve(config: Config, logger: Logger): Promise<void> {
  const files = certificateFiles(config, logger);
  const sources = await createSources(config, logger);
  // Started, not awaited: /healthz must answer while a watch still waits for its first list.
  const started = Promise.all([sources.policySource.start(), sources.namespaceSource.start()]);
  started.catch(() => {}); // handled by the await below, once listening
  // Nodes only inform warnings and gauges: their first list is never waited for.
  sources.nodeSource?.start().catch((err: unknown) => logger.warn({ err }, 'node watch did not start; no pool node warnings'));

  let draining = false;
  const certificate = watchCertificate(files, { logger });
  const app = createApp({
    ...sources, logger, certificate, processMetrics: config.processMetrics, draining: () => draining,
    notReadyAnswer: config.notReadyAnswer, maxInFlight: config.maxInFlight,
    ...(config.policy.source === 'configmap' ? { policyConfigMap: config.policy } : {}),
  });
  const server = createTlsServer(app, certificate, config.requestTimeoutMs);
  const drainer = drainable(server);
  await listen(server, config);
  const address = server.address() as AddressInfo;
  logger.info({ port: address.port, address: address.address, policy: sources.policySource.current()?.revision }, 'listening');
  if (files.caFile) logger.info(`try: ${curlHint(files.caFile, address.port)}`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= (async () => {
    certificate.stop();
    await drainer.drain();
    await Promise.allSettled([sources.policySource.stop(), sources.namespaceSource.stop(), sources.nodeSource?.stop()]);
    logger.info('stopped');
    logger.flush(() => process.exit(0));
  })());
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.info({ signal }, 'second signal: closing now');
      void stop();
      return;
    }
    draining = true;
    const delay = signal === 'SIGTERM' ? config.drainDelayMs : 0;
    logger.info({ signal, drainDelayMs: delay }, 'shutting down: not ready, finishing reviews in flight');
    setTimeout(() => void stop(), delay).unref();
    setTimeout(() => {
      logger.warn('shutdown timeout: exiting with reviews still in flight');
      logger.flush(() => process.exit(1));
    }, config.shutdownTimeoutMs).unref();
  };
  // Before the first list answers (up to its timeout), so a SIGTERM then still drains.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await started;
}

function certificateFiles(config: Config, logger: Logger): KeyPairFiles & { caFile?: string } {
  if (config.tls.kind === 'files') return config.tls;
  const dev = ensureDevCertificate(config.tls.dir);
  logger.info({ dir: config.tls.dir, created: dev.created, caFile: dev.caFile },
    'no certificate configured (--tls-cert, --tls-key): using a development certificate for localhost');
  return dev;
}

async function createSources(config: Config, logger: Logger): Promise<Sources> {
  const inCluster = config.policy.source === 'configmap' || config.namespaceLabels === 'watch' || config.nodeWatch;
  // The Kubernetes client is loaded only when a cluster is used: `npm start` alone never needs it,
  // and then without its generated APIs and models, its Watch and npm's undici (the webhook's
  // requests are plain JSON over node:https; ADR 0012).
  if (inCluster) (await import('./kube/lean-client-node.ts')).leanServeMode();
  const kube = inCluster ? await import('./kube/index.ts') : undefined;
  const kubeConfig = inCluster ? await loadKubeConfig(config.kubeconfig) : undefined;
  const namespaceSource = kube && kubeConfig && config.namespaceLabels === 'watch'
    ? kube.createNamespaceWatch({ kubeConfig, logger })
    : new NoNamespaceLabels();
  const nodes = kube && kubeConfig && config.nodeWatch ? { nodeSource: kube.createNodeWatch({ kubeConfig, logger }) } : {};
  switch (config.policy.source) {
    case 'embedded':
      return { policySource: new StaticPolicySource(defaultPolicy()), namespaceSource, ...nodes };
    case 'file': {
      // Loaded here, so an invalid file stops the process before it listens; then followed for edits.
      const policySource = new FilePolicySource(config.policy.file, { logger });
      await policySource.start();
      return { policySource, namespaceSource, ...nodes };
    }
    case 'configmap': {
      if (!kube || !kubeConfig) throw new Error('unreachable: configmap source without a cluster client');
      const { namespace, name, key } = config.policy;
      const policySource = kube.createConfigMapPolicySource({ kubeConfig, logger, namespace, name, key, reportingInstance: config.instance });
      return { policySource, namespaceSource, ...nodes };
    }
  }
}

/** The cluster for the policy ConfigMap and namespaces; none is a configuration error, said at once. */
async function loadKubeConfig(file: string | undefined): Promise<KubeConfig> {
  const kube = await import('./kube/kubeconfig.ts');
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = await kube.loadKubeConfig(file, 'read the policy ConfigMap and namespaces from');
  } catch (err) {
    if (!(err instanceof kube.NoClusterError)) throw err;
    throw new ConfigError([err.message.startsWith('no cluster')
      ? `${err.message}, or use --policy-source file|embedded with --namespace-labels none` : err.message]);
  }
  // Said at start, not as failing watches: what the webhook's client does not do (a proxy, the legacy auth providers).
  const unsupported = (await import('./kube/https-client.ts')).unsupportedKubeConfig(kubeConfig);
  if (unsupported !== undefined) throw new ConfigError([`${file ?? 'the kubeconfig'}: ${unsupported}`]);
  return kubeConfig;
}

function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function curlHint(caFile: string, port: number): string {
  const ca = relative(process.cwd(), caFile);
  return `curl --cacert ${ca} -H 'Content-Type: application/json' --data @examples/admission-review.json https://localhost:${port}/mutate`;
}

await main();
