import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { genCerts } from '../server/certs.ts';

/** The webhook as the image runs it (a child process on loopback, real TLS), for long runs. Its log (one line per review) is read for the port, then drained. */
export interface RunningWebhook {
  readonly port: number;
  readonly child: ChildProcess;
  /** Peak and current resident memory of the process, in MiB (Linux /proc). */
  memory(): { peakMiB: number; rssMiB: number };
  post(path: string, body: string): Promise<{ status: number; text: string }>;
  stop(): void;
}

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/**
 * Starts the webhook with these flags (Node's process metrics off, unless they say otherwise: of a
 * flag given twice the last wins); `env` is added to the environment (NODE_OPTIONS for the shipped
 * heap cap). `main` is the entry point: the sources, or the build the image runs
 * (dist/main.js); `nodeFlags` go before it on node's command line (V8 flags NODE_OPTIONS refuses).
 */
export async function startWebhook(args: readonly string[] = [], env: Readonly<Record<string, string>> = {}, main = MAIN,
  nodeFlags: readonly string[] = []): Promise<RunningWebhook> {
  const dir = mkdtempSync(join(tmpdir(), 'gpu-admission-run-'));
  genCerts(dir);
  const ca = readFileSync(join(dir, 'ca.crt'));
  const child = spawn(process.execPath, [...nodeFlags, main, '--port', '0', '--host', '127.0.0.1', '--tls-cert', join(dir, 'tls.crt'),
    '--tls-key', join(dir, 'tls.key'), '--process-metrics', 'false', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const m = /"port":(\d+)/.exec(buffer);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the webhook exited with ${code} before listening`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
  const status = (field: string): number => {
    const text = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
  };
  return {
    port,
    child,
    memory: () => ({ peakMiB: status('VmHWM'), rssMiB: status('VmRSS') }),
    post: (path, body) => new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    }),
    stop: () => {
      agent.destroy();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
