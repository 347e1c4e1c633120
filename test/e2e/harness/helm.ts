// helm, as an operator runs it: the binary build.sh made from helm.sh/helm/v3, with its own
// config, cache and data directories (never the user's), against the e2e control plane.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runProcess, type KubectlResult } from './kubectl.ts';

export type Obj = Record<string, any>;

export class Helm {
  readonly bin: string;
  readonly home: string;
  readonly kubeconfig: string | undefined;
  constructor(bin: string, home: string, kubeconfig?: string) {
    this.bin = bin;
    this.home = home;
    this.kubeconfig = kubeconfig;
  }

  /** Runs helm; resolves with its exit code and output (never rejects on a non-zero exit). */
  run(args: readonly string[], input?: string): Promise<KubectlResult> {
    const env = {
      PATH: process.env.PATH ?? '',
      // Without HOME, client-go's discovery cache would land in the working directory.
      HOME: this.home,
      HELM_CACHE_HOME: join(this.home, 'cache'),
      HELM_CONFIG_HOME: join(this.home, 'config'),
      HELM_DATA_HOME: join(this.home, 'data'),
      ...(this.kubeconfig ? { KUBECONFIG: this.kubeconfig } : {}),
    };
    return runProcess(this.bin, args, { env, input });
  }

  async ok(args: readonly string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * `helm template` of the chart: the objects `helm install` creates (NOTES excluded, as Helm
   * does; the `helm test` pods too, which only `helm test` creates: pass '--skip-tests=false').
   */
  async template(chart: string, args: readonly string[] = []): Promise<Obj[]> {
    const out = await this.ok(['template', 'gpu-admission', chart, '--namespace', 'gpu-admission', '--skip-tests', ...args]);
    return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter((o) => o !== null);
  }
}

export interface Registry {
  /** host:port of the registry, on loopback. */
  readonly host: string;
  stop(): Promise<void>;
}

/**
 * go-containerregistry's in-memory OCI registry (cmd/registry, built by build.sh) on a port the
 * kernel picks (-port 0; it logs "serving on port N"), for `helm push` and `helm install oci://`.
 */
export async function startRegistry(bin: string): Promise<Registry> {
  const child = spawn(bin, ['-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const orphan = (): void => { child.kill('SIGKILL'); };
  process.once('exit', orphan);
  const exited = once(child, 'exit');
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start in 10 s:\n${log}`)), 10_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /serving on port (\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    void exited.then(() => { clearTimeout(timer); reject(new Error(`registry exited:\n${log}`)); });
  });
  return {
    host: `127.0.0.1:${port}`,
    async stop() {
      process.removeListener('exit', orphan);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
