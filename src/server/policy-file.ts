import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Logger } from 'pino';
import { parsePolicy, PolicyError } from '../policy/parse.ts';
import type { PolicyEvent, PolicySource } from '../policy/source.ts';
import type { Policy } from '../policy/types.ts';
import { policyWarnings } from '../policy/warnings.ts';
import { watchFiles } from './file-watch.ts';

/**
 * A file written in place must have been still for this long before it is read as the policy: a
 * writer that pauses mid-write exposes a prefix, and a prefix of a policy is often a valid policy
 * without its namespace rules. A file renamed over, or a ConfigMap volume's `..data` swap, is a
 * new file, whole at once: it is taken at once.
 */
export const QUIET_MS = 1_000;

export interface PolicyFileOptions {
  readonly logger: Logger;
  /** Wall-clock milliseconds, as file modification times are kept. */
  readonly now?: () => number;
  /** Re-read the file this often as well, in case a change notification is missed; 0: never. */
  readonly pollIntervalMs?: number;
}

/**
 * The policy from a file, followed like the serving certificate: in-place writes, rename-over
 * and a ConfigMap volume's `..data` symlink swap are all seen. A valid version replaces the
 * policy in one assignment; an invalid or unreadable one is logged with every error, reported
 * as an `invalid`/`error` event (counted in gpu_admission_policy_reloads_total), and the last
 * good policy stays — the ConfigMap source's rule. An invalid file at start-up stops the process.
 */
export class FilePolicySource implements PolicySource {
  readonly #file: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #pollMs: number;
  readonly #listeners = new Set<(event: PolicyEvent) => void>();
  #policy: Policy | undefined;
  #loadedAt: number | undefined;
  #text: string | undefined;
  /** The file read last (device and inode): a write to the same file is in place. */
  #identity: string | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stop: (() => void) | undefined;

  constructor(file: string, options: PolicyFileOptions) {
    this.#file = file;
    this.#log = options.logger.child({ component: 'policy-file', file });
    this.#now = options.now ?? Date.now;
    this.#pollMs = options.pollIntervalMs ?? 10_000;
  }

  current(): Policy | undefined { return this.#policy; }
  notReadyReason(): string | undefined { return this.#policy ? undefined : `policy file ${this.#file} not loaded yet`; }
  loadedAt(): number | undefined { return this.#loadedAt; }

  on(listener: (event: PolicyEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loads the file (throwing a PolicyError when it is invalid) and starts following it. */
  async start(): Promise<void> {
    if (this.#stop) return;
    const text = readFileSync(this.#file, 'utf8');
    const result = parsePolicy(text, 'file');
    if (!result.ok) throw new PolicyError(result.errors);
    this.#identity = identity(statSync(this.#file));
    this.#take(text, result.policy);
    this.#stop = watchFiles([this.#file], this.#pollMs, () => this.reload(), this.#log, 'policy file');
  }

  async stop(): Promise<void> {
    this.#stop?.();
    clearTimeout(this.#retry);
  }

  /**
   * Re-reads the file now; returns what happened, or undefined when it did not change or is not
   * whole yet (written in place less than QUIET_MS ago, or changing while read: read again later).
   */
  reload(): PolicyEvent | undefined {
    let text: string;
    let before: Stats;
    let after: Stats;
    try {
      before = statSync(this.#file);
      text = readFileSync(this.#file, 'utf8');
      after = statSync(this.#file);
    } catch (err) {
      return this.#emit({ type: 'error', message: `cannot read ${this.#file}: ${(err as Error).message}` });
    }
    if (text === this.#text) return undefined;
    const changing = before.mtimeMs !== after.mtimeMs || before.size !== after.size || identity(before) !== identity(after);
    const still = this.#now() - after.mtimeMs;
    if (changing || (identity(after) === this.#identity && still < QUIET_MS)) {
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => this.reload(), Math.max(50, QUIET_MS - Math.max(0, still)));
      this.#retry.unref();
      return undefined;
    }
    this.#identity = identity(after);
    this.#text = text;
    const result = parsePolicy(text, 'file');
    if (!result.ok) {
      this.#log.warn({ errors: result.errors, revision: this.#policy?.revision }, 'policy file is invalid; keeping the policy in force');
      return this.#emit({ type: 'invalid', errors: result.errors });
    }
    this.#take(text, result.policy);
    return this.#emit({ type: 'loaded', policy: result.policy });
  }

  #take(text: string, policy: Policy): void {
    this.#text = text;
    this.#policy = policy;
    this.#loadedAt = this.#now();
    const warnings = policyWarnings(policy);
    this.#log.info({ revision: policy.revision, pools: policy.pools.length, ...(warnings.length > 0 ? { warnings } : {}) }, 'policy loaded');
  }

  #emit(event: PolicyEvent): PolicyEvent {
    if (event.type === 'error') this.#log.warn({ reason: event.message }, 'policy file unreadable; keeping the policy in force');
    for (const listener of this.#listeners) listener(event);
    return event;
  }
}

/** A file's device and inode: a new one means the file was replaced whole (renamed over, a volume swap). */
function identity(stats: Stats): string {
  return `${stats.dev}:${stats.ino}`;
}
