// The real webhook process, started as an operator would run it (ConfigMap policy source,
// certificate files, a kubeconfig with the ServiceAccount's token), on a loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { shippedNodeFlags } from '../../../bench/shipped.ts';

import { createServer, type AddressInfo } from 'node:net';

/** A port nobody listens on now (bind 0, read it, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface WebhookOptions {
  readonly root: string;
  readonly port: number;
  readonly kubeconfig: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPem: string;
  readonly logPath: string;
}

export interface Webhook {
  stop(): Promise<void>;
  /** GET a path over HTTPS, trusting the e2e CA. */
  get(path: string): Promise<{ status: number; body: string }>;
}

function get(caPem: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: caPem, servername: 'localhost', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export async function startWebhook(o: WebhookOptions): Promise<Webhook> {
  const log = createWriteStream(o.logPath, { flags: 'a' });
  // The built webhook (`npm run build`), as the image runs it: `node <the Dockerfile's flags> dist/main.js`.
  const child: ChildProcess = spawn(process.execPath, [...shippedNodeFlags(), join(o.root, 'dist/main.js')], {
    cwd: o.root,
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: o.kubeconfig,
      GPU_ADMISSION_POLICY_SOURCE: 'configmap',
      GPU_ADMISSION_TLS_CERT: o.certPath,
      GPU_ADMISSION_TLS_KEY: o.keyPath,
      GPU_ADMISSION_PORT: String(o.port),
      GPU_ADMISSION_HOST: '127.0.0.1',
      GPU_ADMISSION_LOG_LEVEL: 'debug',
      GPU_ADMISSION_DRAIN_DELAY_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = once(child, 'exit');
  const orphan = (): void => { child.kill('SIGKILL'); };
  process.once('exit', orphan); // never leave a webhook behind, whatever ends the test process
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`webhook exited with ${child.exitCode}; see ${o.logPath}`);
    const ready = await get(o.caPem, o.port, '/readyz').catch(() => undefined);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`webhook not ready within 30 s (last: ${ready?.status} ${ready?.body}); see ${o.logPath}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', orphan);
    },
    get: (path) => get(o.caPem, o.port, path),
  };
}
