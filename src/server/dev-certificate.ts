import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevCertificate {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** False when a still-valid certificate from an earlier run was reused. */
  readonly created: boolean;
}

export interface DevCertificateOptions {
  /** DNS names and IP addresses the serving certificate is valid for. */
  readonly hosts?: readonly string[];
  readonly days?: number;
  readonly now?: () => number;
}

const LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'];
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A development CA and a serving certificate signed by it, made with openssl, for running the
 * webhook without a cluster. Reuses the files in `dir` while they cover the hosts for another day.
 */
export function ensureDevCertificate(dir: string, options: DevCertificateOptions = {}): DevCertificate {
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const hosts = options.hosts ?? LOCAL_HOSTS;
  if (stillGood(files, hosts, (options.now ?? Date.now)() + DAY_MS)) return { ...files, created: false };
  generate(dir, hosts, options.days ?? 30);
  return { ...files, created: true };
}

function stillGood(files: { caFile: string; certFile: string; keyFile: string }, hosts: readonly string[], until: number): boolean {
  if (![files.caFile, files.certFile, files.keyFile].every((f) => existsSync(f))) return false;
  try {
    const cert = new X509Certificate(readFileSync(files.certFile));
    return cert.validToDate.getTime() > until && hosts.every((h) => (isIp(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}

const isIp = (host: string): boolean => /^[\d.]+$/.test(host) || host.includes(':');

function generate(dir: string, hosts: readonly string[], days: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const at = (name: string): string => join(dir, name);
  const sans = hosts.map((h) => (isIp(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(at('tls.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', String(days + 1),
    '-subj', '/CN=gpu-admission development CA']);
  openssl(['req', ...ec, '-keyout', at('tls.key'), '-out', at('tls.csr'), '-subj', `/CN=${hosts[0] ?? 'localhost'}`]);
  openssl(['x509', '-req', '-in', at('tls.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-out', at('tls.crt'), '-days', String(days), '-extfile', at('tls.ext')]);
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}
