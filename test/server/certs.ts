import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GEN_CERTS = fileURLToPath(new URL('../../certs/gen-certs.sh', import.meta.url));

/** Runs certs/gen-certs.sh into `dir` (reusing the CA there, if any); returns what it printed. */
export function genCerts(dir: string, ...args: string[]): string {
  return execFileSync('bash', [GEN_CERTS, '-o', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface PemPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export const pairIn = (dir: string): PemPair => ({ cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) });

/**
 * A directory laid out like a Kubernetes Secret volume: `tls.crt -> ..data/tls.crt`,
 * `..data -> ..<timestamp>`; publishing a new pair writes a new timestamped directory and swaps
 * `..data` with an atomic rename, as the kubelet's atomic writer does.
 */
export class SecretVolume {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  #version = 0;

  constructor(dir: string, first: PemPair) {
    this.dir = dir;
    this.certFile = join(dir, 'tls.crt');
    this.keyFile = join(dir, 'tls.key');
    mkdirSync(dir, { recursive: true });
    this.publish(first);
    symlinkSync(join('..data', 'tls.crt'), this.certFile);
    symlinkSync(join('..data', 'tls.key'), this.keyFile);
  }

  publish(pair: PemPair): void {
    this.#version += 1;
    const data = join(this.dir, '..data');
    const previous = existsSync(data) ? readlinkSync(data) : undefined;
    const version = `..2026_11_28_13_00_00.${String(this.#version).padStart(9, '0')}`;
    mkdirSync(join(this.dir, version));
    writeFileSync(join(this.dir, version, 'tls.crt'), pair.cert);
    writeFileSync(join(this.dir, version, 'tls.key'), pair.key);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), data);
    if (previous) rmSync(join(this.dir, previous), { recursive: true, force: true });
  }
}

export function copyPair(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  copyFileSync(join(from, 'tls.crt'), join(to, 'tls.crt'));
  copyFileSync(join(from, 'tls.key'), join(to, 'tls.key'));
}
