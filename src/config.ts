import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { POLICY_CONFIGMAP } from './vocabulary/names.ts';

/**
 * The webhook's configuration, from command-line flags and then environment variables (a flag
 * wins). This is the only module that reads either; everything else is given what it needs.
 */
export interface Config {
  readonly port: number;
  /** Address to listen on; undefined: every address (Node's default, in a cluster). Out of one, loopback. */
  readonly host: string | undefined;
  readonly tls: TlsConfig;
  readonly policy: PolicyConfig;
  /** Watch Namespaces for their labels (needs a cluster), or know namespaces by name only. */
  readonly namespaceLabels: 'watch' | 'none';
  readonly logLevel: LogLevel;
  readonly processMetrics: boolean;
  /** After SIGTERM, keep serving this long while endpoints stop pointing here (0 out of a cluster: nothing points here). */
  readonly drainDelayMs: number;
  /** After SIGTERM, exit at the latest after this long. */
  readonly shutdownTimeoutMs: number;
  /** This replica's name (the pod's), reported on Kubernetes Events. */
  readonly instance: string;
  /** The kubeconfig file for the cluster (else ~/.kube/config, else the pod's ServiceAccount). */
  readonly kubeconfig: string | undefined;
  /**
   * How a pod review is answered while the webhook cannot decide (no policy yet): `deny`, an
   * AdmissionReview that refuses it with the reason (what failurePolicy Fail would do, but
   * saying why), or `unavailable`, HTTP 503, leaving it to failurePolicy (for Ignore).
   */
  readonly notReadyAnswer: 'deny' | 'unavailable';
  /** The whole request — headers and body — must arrive within this long. */
  readonly requestTimeoutMs: number;
  /** Reviews read and decided at once; more wait their turn (bodies unread), a full waiting line gets 429. */
  readonly maxInFlight: number;
  /** Watch the GPU nodes (needs a cluster): warn on pods routed to pools without a Ready node, export pool gauges. */
  readonly nodeWatch: boolean;
}

export type TlsConfig =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  /** No certificate configured: generate a development CA and certificate in `dir`. */
  | { readonly kind: 'dev'; readonly dir: string };

export type PolicyConfig =
  | { readonly source: 'embedded' }
  | { readonly source: 'file'; readonly file: string }
  | { readonly source: 'configmap'; readonly namespace: string; readonly name: string; readonly key: string };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  readonly code = 'GA_CONFIG_INVALID';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/**
 * Each setting: its flag, its environment variable, its default (`shown` where it depends on
 * where the webhook runs) and the line `--help` prints for it.
 */
const SETTINGS = {
  port: { flag: 'port', env: 'GPU_ADMISSION_PORT', fallback: '8443', help: 'HTTPS port' },
  host: { flag: 'host', env: 'GPU_ADMISSION_HOST', fallback: undefined, shown: '127.0.0.1; every address in a cluster',
    help: 'address to listen on' },
  certFile: { flag: 'tls-cert', env: 'GPU_ADMISSION_TLS_CERT', fallback: undefined, help: 'serving certificate (PEM), reloaded when it changes' },
  keyFile: { flag: 'tls-key', env: 'GPU_ADMISSION_TLS_KEY', fallback: undefined, help: 'its private key (PEM), reloaded with it' },
  policySource: { flag: 'policy-source', env: 'GPU_ADMISSION_POLICY_SOURCE', fallback: undefined, shown: 'embedded; file with --policy-file',
    help: 'embedded | file | configmap: where the policy comes from' },
  policyFile: { flag: 'policy-file', env: 'GPU_ADMISSION_POLICY_FILE', fallback: undefined, help: 'the policy file, reloaded when it changes' },
  policyNamespace: { flag: 'policy-namespace', env: 'GPU_ADMISSION_POLICY_NAMESPACE', fallback: POLICY_CONFIGMAP.namespace,
    help: 'namespace of the policy ConfigMap' },
  policyConfigMap: { flag: 'policy-configmap', env: 'GPU_ADMISSION_POLICY_CONFIGMAP', fallback: POLICY_CONFIGMAP.name, help: 'name of the policy ConfigMap' },
  namespaceLabels: { flag: 'namespace-labels', env: 'GPU_ADMISSION_NAMESPACE_LABELS', fallback: undefined, shown: 'watch with configmap, else none',
    help: 'watch | none: read namespace labels from the cluster' },
  nodeWatch: { flag: 'node-watch', env: 'GPU_ADMISSION_NODE_WATCH', fallback: undefined, shown: 'true with configmap, else false',
    help: 'true | false: watch GPU nodes (no-Ready-node warning, pool gauges)' },
  logLevel: { flag: 'log-level', env: 'GPU_ADMISSION_LOG_LEVEL', fallback: 'info', help: LOG_LEVELS.join(' | ') },
  processMetrics: { flag: 'process-metrics', env: 'GPU_ADMISSION_PROCESS_METRICS', fallback: 'true', help: 'true | false: Node process metrics on /metrics' },
  drainDelay: { flag: 'drain-delay-seconds', env: 'GPU_ADMISSION_DRAIN_DELAY_SECONDS', fallback: undefined, shown: '0; 5 in a cluster',
    help: 'after SIGTERM, serve this long while endpoints stop pointing here' },
  shutdownTimeout: { flag: 'shutdown-timeout-seconds', env: 'GPU_ADMISSION_SHUTDOWN_TIMEOUT_SECONDS', fallback: '25', help: 'after SIGTERM, exit at the latest after this long' },
  notReadyAnswer: { flag: 'not-ready-answer', env: 'GPU_ADMISSION_NOT_READY_ANSWER', fallback: 'deny',
    help: 'deny | unavailable: refuse GPU pods, or answer 503, while no policy is valid' },
  requestTimeout: { flag: 'request-timeout-seconds', env: 'GPU_ADMISSION_REQUEST_TIMEOUT_SECONDS', fallback: '10', help: 'a whole request must arrive within this long' },
  maxInFlight: { flag: 'max-in-flight', env: 'GPU_ADMISSION_MAX_IN_FLIGHT', fallback: '8', help: 'reviews read and decided at once; more wait their turn' },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG', fallback: undefined, shown: '~/.kube/config, else in-cluster', help: 'the cluster to read' },
} as const satisfies Record<string, { flag: string; env: string; fallback: string | undefined; shown?: string; help: string }>;

/** Set in every pod by the kubelet: the webhook runs in a cluster, behind a Service. */
const IN_CLUSTER_ENV = 'KUBERNETES_SERVICE_HOST';

type Setting = keyof typeof SETTINGS;

/** The key of the policy inside its ConfigMap (a public name). */
export const POLICY_KEY = POLICY_CONFIGMAP.key;

/** Where `npm start` keeps its generated development certificate (git-ignored). */
export const DEV_CERT_DIR = fileURLToPath(new URL('../certs/dev/', import.meta.url));

const defaultOf = (s: (typeof SETTINGS)[Setting]): string => {
  const shown = 'shown' in s ? s.shown : s.fallback;
  return shown === undefined ? '' : ` (default ${shown})`;
};

/** `--help`: a line per flag, from the settings themselves. */
export const USAGE = `Usage: gpu-admission-webhook [flags]   (each flag also reads the environment variable named)
${Object.values(SETTINGS).map((s) => `  --${s.flag.padEnd(25)} ${s.env.padEnd(38)} ${s.help}${defaultOf(s)}`).join('\n')}
  --${'help'.padEnd(25)} ${''.padEnd(38)} print this
In a cluster: ${IN_CLUSTER_ENV} is set, as in every pod. Without --tls-cert and --tls-key a
development certificate is generated in certs/dev/.`;

/**
 * Reads the configuration — from this process's arguments and environment unless others are
 * given (tests) — and throws a ConfigError listing every problem. Returns 'help' for --help.
 */
export function loadConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config | 'help' {
  const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  if (values.help) return 'help';
  const read = (name: Setting): string | undefined => {
    const s = SETTINGS[name];
    const flag = values[s.flag];
    return (typeof flag === 'string' ? flag : undefined) ?? (env[s.env] || undefined) ?? s.fallback;
  };
  const problems: string[] = [];
  const policy = policyConfig(read, problems);
  // Where it runs decides two defaults: a laptop run listens on loopback only and stops at once;
  // in a pod it listens on every address and drains (the manifests and chart say so too).
  const inCluster = Boolean(env[IN_CLUSTER_ENV]);
  const config: Config = {
    port: integer(read('port'), 'port', 0, 65535, problems),
    host: read('host') ?? (inCluster ? undefined : '127.0.0.1'),
    tls: tlsConfig(read('certFile'), read('keyFile'), problems),
    policy,
    namespaceLabels: oneOf(read('namespaceLabels') ?? (policy.source === 'configmap' ? 'watch' : 'none'), 'namespace-labels', ['watch', 'none'] as const, problems),
    nodeWatch: oneOf(read('nodeWatch') ?? (policy.source === 'configmap' ? 'true' : 'false'), 'node-watch', ['true', 'false'] as const, problems) === 'true',
    logLevel: oneOf(read('logLevel') ?? 'info', 'log-level', LOG_LEVELS, problems),
    processMetrics: oneOf(read('processMetrics') ?? 'true', 'process-metrics', ['true', 'false'] as const, problems) === 'true',
    drainDelayMs: integer(read('drainDelay') ?? (inCluster ? '5' : '0'), 'drain-delay-seconds', 0, 600, problems) * 1000,
    shutdownTimeoutMs: integer(read('shutdownTimeout'), 'shutdown-timeout-seconds', 1, 3600, problems) * 1000,
    instance: env.POD_NAME || env.HOSTNAME || hostname(),
    notReadyAnswer: oneOf(read('notReadyAnswer') ?? 'deny', 'not-ready-answer', ['deny', 'unavailable'] as const, problems),
    requestTimeoutMs: integer(read('requestTimeout'), 'request-timeout-seconds', 1, 300, problems) * 1000,
    maxInFlight: integer(read('maxInFlight'), 'max-in-flight', 1, 10_000, problems),
    kubeconfig: read('kubeconfig'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function policyConfig(read: (name: Setting) => string | undefined, problems: string[]): PolicyConfig {
  const file = read('policyFile');
  const source = oneOf(read('policySource') ?? (file ? 'file' : 'embedded'), 'policy-source', ['embedded', 'file', 'configmap'] as const, problems);
  switch (source) {
    case 'embedded':
      return { source };
    case 'file':
      if (!file) problems.push('--policy-source file needs --policy-file (GPU_ADMISSION_POLICY_FILE)');
      return { source, file: file ?? '' };
    case 'configmap':
      return { source, namespace: read('policyNamespace') ?? '', name: read('policyConfigMap') ?? '', key: POLICY_KEY };
  }
}

function tlsConfig(certFile: string | undefined, keyFile: string | undefined, problems: string[]): TlsConfig {
  if (certFile && keyFile) return { kind: 'files', certFile, keyFile };
  if (certFile || keyFile) problems.push('--tls-cert and --tls-key go together (GPU_ADMISSION_TLS_CERT, GPU_ADMISSION_TLS_KEY)');
  return { kind: 'dev', dir: DEV_CERT_DIR };
}

function integer(text: string | undefined, name: string, min: number, max: number, problems: string[]): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < min || n > max) {
    problems.push(`--${name} must be an integer from ${min} to ${max}, got "${text ?? ''}"`);
    return min;
  }
  return n;
}

function oneOf<T extends string>(text: string, name: string, allowed: readonly T[], problems: string[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  problems.push(`--${name} must be one of ${allowed.join(', ')}, got "${text}"`);
  return allowed[0] as T;
}
