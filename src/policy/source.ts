import type { Policy } from './types.ts';

/** What happened to the policy in force. */
export type PolicyEvent =
  | { readonly type: 'loaded'; readonly policy: Policy }
  | { readonly type: 'invalid'; readonly errors: readonly string[] }
  | { readonly type: 'deleted' }
  | { readonly type: 'error'; readonly message: string };

/**
 * Where the webhook gets its policy: embedded, a file, or the watched ConfigMap. Each review
 * reads `current()` once, so it sees exactly one policy version.
 */
export interface PolicySource {
  /** The policy in force, or undefined while none has been loaded. */
  current(): Policy | undefined;
  /** Why there is no policy in force, for /readyz. */
  notReadyReason(): string | undefined;
  /** When the policy in force was loaded (ms since the epoch). */
  loadedAt(): number | undefined;
  /** Listens to policy events; returns the function that stops listening. */
  on(listener: (event: PolicyEvent) => void): () => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Labels of namespaces, which AdmissionReviews do not carry. */
export interface NamespaceSource {
  /** The namespace's labels, or undefined when the namespace is not (yet) known. */
  labels(name: string): Readonly<Record<string, string>> | undefined;
  /** Why the source is not ready, for /readyz (undefined when ready). */
  notReadyReason(): string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A fixed policy (embedded default or a file), loaded once. */
export class StaticPolicySource implements PolicySource {
  readonly #policy: Policy;
  readonly #loadedAt: number;
  constructor(policy: Policy, now: () => number = Date.now) {
    this.#policy = policy;
    this.#loadedAt = now();
  }
  current(): Policy { return this.#policy; }
  notReadyReason(): undefined { return undefined; }
  loadedAt(): number { return this.#loadedAt; }
  on(): () => void { return () => {}; }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/**
 * No cluster: namespaces are known by name only. Their labels are unknown (not "none"), so a
 * policy rule that selects namespaces by label fails closed instead of silently never matching.
 */
export class NoNamespaceLabels implements NamespaceSource {
  labels(): undefined { return undefined; }
  notReadyReason(): undefined { return undefined; }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
