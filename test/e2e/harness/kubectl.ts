// kubectl, as an operator runs it, against the e2e control plane. The binary is the one
// build.sh made from the same Kubernetes version as the API server.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runProcess(bin: string, args: readonly string[], options: { input?: string | undefined } & Pick<SpawnOptions, 'env' | 'cwd'> = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const { input, ...spawnOptions } = options;
    const child = spawn(bin, [...args], { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that exits before reading its input (helm, a quick kubectl) closes the pipe: the
    // write then fails with EPIPE, which is not the program's result — its exit code and output are.
    child.stdin?.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') reject(e); });
    child.stdin?.end(input ?? '');
  });
}

export class Kubectl {
  readonly bin: string;
  readonly kubeconfig: string;
  constructor(bin: string, kubeconfig: string) {
    this.bin = bin;
    this.kubeconfig = kubeconfig;
  }

  /** Runs kubectl; resolves with its exit code and output (never rejects on a non-zero exit). */
  run(args: readonly string[], input?: string): Promise<KubectlResult> {
    return runProcess(this.bin, [`--kubeconfig=${this.kubeconfig}`, '--request-timeout=30s', ...args], { input });
  }

  /** Runs kubectl and fails with its stderr when it exits non-zero. */
  async ok(args: readonly string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async json<T = any>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.ok([...args, '-o', 'json'])) as T;
  }

  apply(objects: unknown, extra: readonly string[] = []): Promise<KubectlResult> {
    return this.run(['apply', '-f', '-', ...extra], JSON.stringify(objects));
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs` with the last state. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
