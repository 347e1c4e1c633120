import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { ConfigError, DEV_CERT_DIR, USAGE, loadConfig, type Config } from '../../src/config.ts';

const load = (argv: string[], env: Record<string, string> = {}): Config => {
  const config = loadConfig(argv, env);
  assert.notEqual(config, 'help');
  return config as Config;
};

describe('loadConfig', () => {
  it('when nothing is given, then port 8443, the embedded policy, a development certificate and info logs', () => {
    const config = load([], { HOSTNAME: 'gpu-admission-5d9f-abcde' });
    assert.deepEqual(config, {
      port: 8443, host: '127.0.0.1', tls: { kind: 'dev', dir: DEV_CERT_DIR }, policy: { source: 'embedded' },
      namespaceLabels: 'none', logLevel: 'info', processMetrics: true, drainDelayMs: 0, shutdownTimeoutMs: 25000,
      instance: 'gpu-admission-5d9f-abcde',
      notReadyAnswer: 'deny',
      requestTimeoutMs: 10_000,
      maxInFlight: 8,
      kubeconfig: undefined,
      nodeWatch: false,
    });
  });

  it('when it runs in a pod (KUBERNETES_SERVICE_HOST set), then it listens on every address and drains 5 s; out of one, loopback and no drain; flags win', () => {
    const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1' };
    assert.deepEqual([load([], pod).host, load([], pod).drainDelayMs], [undefined, 5000]);
    assert.deepEqual([load([], {}).host, load([], {}).drainDelayMs], ['127.0.0.1', 0]);
    assert.deepEqual([load(['--host', '0.0.0.0', '--drain-delay-seconds', '2'], {}).host, load(['--drain-delay-seconds', '2'], {}).drainDelayMs], ['0.0.0.0', 2000]);
    assert.equal(load(['--drain-delay-seconds', '0'], pod).drainDelayMs, 0);
  });

  it('when --help is printed, then every flag has a line with its variable and what it does, and the operators\' flag table has a row for each', () => {
    const readme = readFileSync(new URL('../../docs/operators.md', import.meta.url), 'utf8');
    const flags = [...USAGE.matchAll(/^ {2}--([a-z-]+) +(\S+) +(.+)$/gm)];
    assert.ok(flags.length >= 19, USAGE);
    for (const [, flag, variable, what] of flags) {
      if (flag === 'help') continue;
      assert.match(variable!, /^(GPU_ADMISSION_[A-Z_]+|KUBECONFIG)$/);
      assert.ok(what!.length > 5, `--${flag}: ${what}`);
      assert.match(readme, new RegExp(`^\\| [^|]*\`--${flag}\`[^|]*\\| [^|]*\`${variable}\``, 'm'), `docs/operators.md's flag table has no row for --${flag}`);
    }
  });

  it('when the policy comes from the cluster, then nodes are watched unless --node-watch=false', () => {
    assert.equal(load(['--policy-source', 'configmap']).nodeWatch, true);
    assert.equal(load(['--policy-source', 'configmap', '--node-watch=false']).nodeWatch, false);
    assert.equal(load([], { GPU_ADMISSION_NODE_WATCH: 'true' }).nodeWatch, true);
    assert.throws(() => load(['--node-watch', 'yes']), /node-watch/);
  });

  it('when the environment sets values, then they are used', () => {
    const config = load([], {
      GPU_ADMISSION_PORT: '9443', GPU_ADMISSION_TLS_CERT: '/tls/tls.crt', GPU_ADMISSION_TLS_KEY: '/tls/tls.key',
      GPU_ADMISSION_POLICY_SOURCE: 'configmap', GPU_ADMISSION_POLICY_NAMESPACE: 'gpu', GPU_ADMISSION_LOG_LEVEL: 'debug',
      GPU_ADMISSION_PROCESS_METRICS: 'false', POD_NAME: 'gpu-admission-0',
    });
    assert.equal(config.port, 9443);
    assert.deepEqual(config.tls, { kind: 'files', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
    assert.deepEqual(config.policy, { source: 'configmap', namespace: 'gpu', name: 'gpu-admission-policy', key: 'policy.yaml' });
    assert.equal(config.namespaceLabels, 'watch');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.processMetrics, false);
    assert.equal(config.instance, 'gpu-admission-0');
  });

  it('when a flag and the environment disagree, then the flag wins', () => {
    assert.equal(load(['--port', '10443'], { GPU_ADMISSION_PORT: '9443' }).port, 10443);
    assert.equal(load(['--log-level=warn'], { GPU_ADMISSION_LOG_LEVEL: 'debug' }).logLevel, 'warn');
  });

  it('when only a policy file is given, then the source is that file', () => {
    assert.deepEqual(load(['--policy-file', 'policy.yaml']).policy, { source: 'file', file: 'policy.yaml' });
  });

  it('when --help is given, then help is asked for', () => {
    assert.equal(loadConfig(['--help'], {}), 'help');
  });

  const invalid: { when: string; argv: string[]; env?: Record<string, string>; problems: RegExp[] }[] = [
    { when: 'the port is not a number', argv: ['--port', 'https'], problems: [/--port must be an integer from 0 to 65535, got "https"/] },
    { when: 'the port is too large', argv: ['--port', '70000'], problems: [/--port must be an integer/] },
    { when: 'only the certificate is given', argv: ['--tls-cert', 'a.crt'], problems: [/--tls-cert and --tls-key go together/] },
    { when: 'the policy source is unknown', argv: ['--policy-source', 'etcd'], problems: [/--policy-source must be one of embedded, file, configmap, got "etcd"/] },
    { when: 'a file source has no file', argv: ['--policy-source', 'file'], problems: [/--policy-source file needs --policy-file/] },
    { when: 'the log level is unknown', argv: [], env: { GPU_ADMISSION_LOG_LEVEL: 'loud' }, problems: [/--log-level must be one of trace, debug/] },
    { when: 'a flag is unknown', argv: ['--prot', '1'], problems: [/Unknown option '--prot'/] },
    { when: 'several things are wrong', argv: ['--port', 'x', '--tls-key', 'k'], problems: [/--port/, /--tls-cert and --tls-key/] },
  ];
  for (const c of invalid) {
    it(`when ${c.when}, then a ConfigError lists the problem`, () => {
      assert.throws(() => loadConfig(c.argv, c.env ?? {}), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, c.problems.length);
        c.problems.forEach((p, i) => assert.match(err.problems[i] ?? '', p));
        return true;
      });
    });
  }
});
