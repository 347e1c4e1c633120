import type { Logger } from 'pino';
import { policyWarnings } from '../policy/warnings.ts';
import { parsePolicy, type PolicyResult } from '../policy/parse.ts';
import type { PolicyEvent, PolicySource } from '../policy/source.ts';
import type { Policy } from '../policy/types.ts';
import type { BackoffOptions } from './backoff.ts';
import { systemClock, type Clock, type Timers } from './clock.ts';
import type { EventRecorder, ObjectReference } from './events.ts';
import {
  ListWatch, type ChangeType, type KubeObject, type ListCause, type ListWatchClient, type ListWatchHandler,
  type WatchFailure,
} from './list-watch.ts';

/** The ConfigMap fields the reloader reads. */
export interface ConfigMapObject extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

/** Where the policy lives (`gpu-admission-policy` in `gpu-admission`, key `policy.yaml`). */
export interface PolicyLocation {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/** Reasons of the Warning Events recorded on the policy ConfigMap. */
export const POLICY_EVENT_REASONS = { invalid: 'InvalidPolicy', deleted: 'PolicyDeleted' } as const;

const NOT_READY = 'no policy is in force, the webhook is not ready';

/** The note of an InvalidPolicy Event: what the webhook kept (`keptRevision` reads it back for `inspect`), then the errors. */
export function refusalNote(kept: string | undefined, errors: readonly string[]): string {
  return `policy refused, ${kept ? `keeping revision ${kept}` : NOT_READY}: ${errors.join('; ')}`;
}

/** From an InvalidPolicy Event's note: the revision the webhook kept, null when it had none, undefined when the note says neither. */
export function keptRevision(note: string): string | null | undefined {
  if (note.startsWith(`policy refused, ${NOT_READY}`)) return null;
  return /^policy refused, keeping revision ([^\s:]+):/.exec(note)?.[1];
}

export interface PolicyReloaderOptions {
  readonly location: PolicyLocation;
  readonly recorder: EventRecorder;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/**
 * The policy in force, driven by what the list-watch loop sees of the ConfigMap. A valid
 * version replaces the policy in one assignment of a deep-frozen object, so a review that reads
 * `current()` once sees exactly one version. An invalid version, a deletion or an absence never
 * removes a policy once loaded: the last good one stays, and the operator learns why from the
 * log (every error path), a Warning Event on the ConfigMap and the `invalid`/`deleted` event.
 */
export class PolicyReloader implements ListWatchHandler<ConfigMapObject> {
  readonly #location: PolicyLocation;
  readonly #recorder: EventRecorder;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #what: string;
  readonly #listeners = new Set<(event: PolicyEvent) => void>();
  #policy: Policy | undefined;
  #loadedAt: number | undefined;
  #notReady: string;
  #listed = false;
  /** resourceVersion of the ConfigMap version last handled, so a relist does not handle it twice. */
  #handled: string | undefined;
  /** The ConfigMap as last seen, while it exists: a relist that misses it means it was deleted. */
  #lastSeen: ObjectReference | undefined;

  constructor(options: PolicyReloaderOptions) {
    this.#location = options.location;
    this.#recorder = options.recorder;
    this.#clock = options.clock ?? systemClock;
    this.#what = `ConfigMap ${options.location.namespace}/${options.location.name}`;
    this.#logger = options.logger.child({ component: 'policy-reloader', configMap: this.#what });
    this.#notReady = `waiting for the first list of ${this.#what}`;
  }

  current(): Policy | undefined {
    return this.#policy;
  }

  notReadyReason(): string | undefined {
    return this.#policy ? undefined : this.#notReady;
  }

  loadedAt(): number | undefined {
    return this.#loadedAt;
  }

  on(listener: (event: PolicyEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(items: readonly ConfigMapObject[], cause: ListCause): void {
    this.#listed = true;
    const configMap = items.find((item) => this.#isOurs(item));
    if (configMap) this.#apply(configMap, cause);
    else if (this.#lastSeen) this.#deleted(this.#lastSeen, cause);
    else this.#absent();
  }

  change(type: ChangeType, configMap: ConfigMapObject): void {
    if (!this.#isOurs(configMap)) return;
    if (type === 'DELETED') this.#deleted(this.#reference(configMap), undefined);
    else this.#apply(configMap, undefined);
  }

  failure(failure: WatchFailure): void {
    if (!this.#listed) this.#notReady = `cannot list ${this.#what}: ${failure.message}`;
    this.#emit({ type: 'error', message: `${failure.phase} of ${this.#what} failed: ${failure.message}` });
  }

  #isOurs(object: ConfigMapObject): boolean {
    return object.metadata?.name === this.#location.name
      && (object.metadata.namespace ?? this.#location.namespace) === this.#location.namespace;
  }

  #apply(configMap: ConfigMapObject, cause: ListCause | undefined): void {
    const resourceVersion = configMap.metadata?.resourceVersion ?? '';
    if (resourceVersion !== '' && resourceVersion === this.#handled) return;
    if (cause === 'resync' && this.#handled !== undefined) {
      this.#logger.warn({ resourceVersion }, 'the periodic relist found a change the watch missed');
    }
    const reference = this.#reference(configMap);
    this.#handled = resourceVersion;
    this.#lastSeen = reference;
    const result = this.#parse(configMap, resourceVersion);
    if (result.ok) this.#load(result.policy, resourceVersion);
    else this.#refuse(result.errors, reference);
  }

  #parse(configMap: ConfigMapObject, resourceVersion: string): PolicyResult {
    const text = configMap.data?.[this.#location.key];
    if (text === undefined) {
      return { ok: false, errors: [`/data: no key "${this.#location.key}" in ${this.#what}`] };
    }
    return parsePolicy(text, resourceVersion || undefined);
  }

  #load(policy: Policy, resourceVersion: string): void {
    const previous = this.#policy?.revision;
    this.#policy = policy;
    this.#loadedAt = this.#clock.now();
    const warnings = policyWarnings(policy);
    this.#logger.info({ revision: policy.revision, previous, resourceVersion, pools: policy.pools.length,
      ...(warnings.length > 0 ? { warnings } : {}) }, 'policy loaded');
    this.#emit({ type: 'loaded', policy });
  }

  #refuse(errors: readonly string[], configMap: ObjectReference): void {
    const kept = this.#policy?.revision;
    if (!kept) this.#notReady = `${this.#what} is invalid: ${errors[0] ?? 'unknown error'}${more(errors)}`;
    const outcome = kept ? `keeping revision ${kept}` : NOT_READY;
    this.#logger.error(
      { resourceVersion: configMap.resourceVersion, errors, kept },
      `policy edit refused (${errors.length} errors); ${outcome}`,
    );
    void this.#recorder.warning({
      regarding: configMap,
      reason: POLICY_EVENT_REASONS.invalid,
      action: 'RefusePolicy',
      note: refusalNote(kept, errors),
    });
    this.#emit({ type: 'invalid', errors });
  }

  /**
   * The Event goes on the deleted ConfigMap itself: Events need not refer to a live object, and it
   * lives in the namespace that still exists, so `kubectl get events -n gpu-admission` shows it.
   */
  #deleted(configMap: ObjectReference, cause: ListCause | undefined): void {
    this.#handled = undefined;
    this.#lastSeen = undefined;
    const kept = this.#policy?.revision;
    if (!kept) this.#notReady = `${this.#what} not found`;
    const outcome = kept ? `keeping revision ${kept} until it is recreated` : 'no policy is in force';
    this.#logger.warn({ kept, foundBy: cause }, `policy ConfigMap deleted; ${outcome}`);
    void this.#recorder.warning({
      regarding: configMap,
      reason: POLICY_EVENT_REASONS.deleted,
      action: 'KeepLastGoodPolicy',
      note: `${this.#what} was deleted; ${outcome}`,
    });
    this.#emit({ type: 'deleted' });
  }

  #absent(): void {
    const reason = `${this.#what} not found`;
    if (this.#notReady !== reason && !this.#policy) {
      this.#logger.warn(`${reason}: not ready until it is created`);
    }
    this.#notReady = reason;
  }

  #reference(configMap: ConfigMapObject): ObjectReference {
    const { uid, resourceVersion } = configMap.metadata ?? {};
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: this.#location.namespace,
      name: this.#location.name,
      ...(uid ? { uid } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
    };
  }

  #emit(event: PolicyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#logger.error({ err, event: event.type }, 'a policy event listener threw');
      }
    }
  }
}

function more(errors: readonly string[]): string {
  return errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
}

export interface PolicySourceOptions extends PolicyReloaderOptions {
  readonly client: ListWatchClient<ConfigMapObject>;
  readonly timers?: Timers;
  readonly random?: () => number;
  /** Periodic relist that catches a stalled watch. Default 5 min; 0 disables. */
  readonly resyncIntervalMs?: number;
  readonly listTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
}

/**
 * A PolicySource from any list-watch client: the reloader fed by the reconnecting loop.
 * `start()` resolves once the first list has answered (found, absent, or failed — the loop keeps
 * retrying and `notReadyReason()` says why), so the server can listen and report on /readyz.
 */
export function createPolicySource(options: PolicySourceOptions): PolicySource {
  const reloader = new PolicyReloader(options);
  const { client, logger, clock, timers, random, resyncIntervalMs, listTimeoutMs, backoff } = options;
  const loop = new ListWatch<ConfigMapObject>({
    client, logger, clock, timers, random, resyncIntervalMs, listTimeoutMs, backoff,
    handler: reloader,
    what: `ConfigMap ${options.location.namespace}/${options.location.name}`,
  });
  return {
    current: () => reloader.current(),
    notReadyReason: () => reloader.notReadyReason(),
    loadedAt: () => reloader.loadedAt(),
    on: (listener) => reloader.on(listener),
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
