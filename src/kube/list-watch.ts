import type { Logger } from 'pino';
import { createBackoff, type Backoff, type BackoffOptions } from './backoff.ts';
import { systemClock, systemTimers, type Clock, type TimerId, type Timers } from './clock.ts';

/** The object fields the loop reads (Kubernetes' ObjectMeta names). */
export interface KubeObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
  };
}

export interface ObjectList<T> {
  readonly items: readonly T[];
  /** The list's `metadata.resourceVersion`: the watch starts from it. */
  readonly resourceVersion: string;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchRequest {
  readonly resourceVersion: string;
  /** Server-side timeout: the API server closes the watch cleanly after it. */
  readonly timeoutSeconds: number;
}

export interface WatchHandle {
  abort(): void;
}

/**
 * The Kubernetes I/O the loop drives — a list and a watch of one collection. kube-client.ts
 * builds it on @kubernetes/client-node; tests pass a scripted one.
 */
export interface ListWatchClient<T> {
  /** Lists the collection; should give up when `signal` aborts. */
  list(signal: AbortSignal): Promise<ObjectList<T>>;
  /**
   * Opens a watch. `onEvent` gets each event's type and object; `onDone` is called when the watch
   * ends (null: closed cleanly). The returned promise may also reject instead of calling onDone.
   */
  watch(
    request: WatchRequest,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<WatchHandle>;
}

type ListOutcome<T> = { readonly ok: true; readonly list: ObjectList<T> } | { readonly ok: false; readonly err: unknown };

/** Why the loop listed: first start, a 410 Gone, the periodic resync, or a retry after a failure. */
export type ListCause = 'start' | 'gone' | 'resync' | 'retry';

export interface WatchFailure {
  readonly phase: 'list' | 'watch';
  readonly message: string;
  readonly statusCode?: number;
}

/** What the loop tells its owner. A handler that throws is logged; the loop goes on. */
export interface ListWatchHandler<T> {
  /** The complete current set of objects, after each successful list. */
  snapshot(items: readonly T[], cause: ListCause): void;
  change(type: ChangeType, object: T): void;
  /** A list or watch failure; the loop retries after a backoff. */
  failure(failure: WatchFailure): void;
}

export interface ListWatchOptions<T> {
  readonly client: ListWatchClient<T>;
  readonly handler: ListWatchHandler<T>;
  readonly logger: Logger;
  /** What is watched, for logs: `ConfigMap gpu-admission/gpu-admission-policy`. */
  readonly what: string;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** A number in [0, 1), for jitter. */
  readonly random?: () => number;
  /** Relist this often (±10 %) to catch a watch that stalled without closing; 0 disables. Default 5 min. */
  readonly resyncIntervalMs?: number;
  /** A list not answered by then is aborted and retried. Default 30 s. */
  readonly listTimeoutMs?: number;
  /** Retry delays after failures. Default 1 s doubling to 30 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /** A watch that closes cleanly sooner than this is retried with backoff, not at once. Default 5 s. */
  readonly minWatchMs?: number;
  /** Each watch asks the server to close it after a random time in [this, 2 × this]. Default 300 s. */
  readonly minWatchTimeoutSeconds?: number;
}

const DEFAULTS = {
  resyncIntervalMs: 5 * 60_000,
  listTimeoutMs: 30_000,
  minWatchMs: 5_000,
  minWatchTimeoutSeconds: 300,
};

/**
 * A list-then-watch loop that does not stop: the reflector of client-go, reduced to what a
 * single ConfigMap or the Namespace cache needs. It is written on a plain watch (client-node's
 * `Watch` first; since ADR 0012 the same watch over node:https, src/kube/https-client.ts) rather than
 * client-node's `ListWatch`/`makeInformer` because of their known faults; docs/adr/0002 lists them
 * and how each is guarded here:
 *
 * - every list or watch failure is retried with capped, jittered backoff — `ListWatch` emits
 *   `error` and stops for good on any error that is not 410 or a timeout
 *   (kubernetes-client/javascript#2385, #795, #1933);
 * - a list or watch call that rejects or throws is caught — 2.0.1's `ListWatch.doneHandler`,
 *   run from the watch's done callback, awaits `Watch.watch()` unguarded, and that call rejects
 *   when credentials cannot be refreshed: an unhandled rejection ends the process (the class of
 *   #447, #836, #680);
 * - 410 Gone, as the HTTP status or as an in-stream ERROR event, relists from scratch;
 * - a clean close or client-side inactivity timeout resumes the watch from the last
 *   resourceVersion at once (#3020/#3022: the 2.x inactivity timeout fires on quiet watches);
 * - a list that hangs is aborted after `listTimeoutMs` (#2432), and a periodic relist catches a
 *   watch that stalls without closing (#596, #958, #364);
 * - callbacks of a watch that was replaced are ignored (each attempt carries a token), and the
 *   handler's exceptions are caught here, since `Watch` swallows them silently (#856).
 */
export class ListWatch<T extends KubeObject> {
  readonly #client: ListWatchClient<T>;
  readonly #handler: ListWatchHandler<T>;
  readonly #logger: Logger;
  readonly #what: string;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #settings: typeof DEFAULTS;
  #stopped = true;
  /** Token of the current list or watch; callbacks of older attempts are ignored. */
  #attempt = 0;
  /** Where the next watch starts; '' means the next step is a list. */
  #resourceVersion = '';
  #watch: WatchHandle | undefined;
  #listAbort: AbortController | undefined;
  #listTimer: TimerId | undefined;
  #abandonList: (() => void) | undefined;
  #retryTimer: TimerId | undefined;
  #resyncTimer: TimerId | undefined;

  constructor(options: ListWatchOptions<T>) {
    this.#client = options.client;
    this.#handler = options.handler;
    this.#what = options.what;
    this.#logger = options.logger.child({ component: 'list-watch', watched: options.what });
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
    this.#backoff = createBackoff({ random: this.#random, ...options.backoff });
    this.#settings = {
      resyncIntervalMs: options.resyncIntervalMs ?? DEFAULTS.resyncIntervalMs,
      listTimeoutMs: options.listTimeoutMs ?? DEFAULTS.listTimeoutMs,
      minWatchMs: options.minWatchMs ?? DEFAULTS.minWatchMs,
      minWatchTimeoutSeconds: options.minWatchTimeoutSeconds ?? DEFAULTS.minWatchTimeoutSeconds,
    };
  }

  /** Starts listing and watching; resolves once the first list has succeeded or failed. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#scheduleResync();
    await this.#list('start');
  }

  /** Stops: aborts the list or watch in flight and clears every timer (start() may start again). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel();
    if (this.#resyncTimer !== undefined) this.#timers.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
  }

  /** Ends the current attempt (list, watch or pending retry) and returns the next one's token. */
  #cancel(): number {
    this.#attempt += 1;
    this.#watch?.abort();
    this.#watch = undefined;
    this.#listAbort?.abort();
    this.#abandonList?.();
    this.#stopRetryTimer();
    return this.#attempt;
  }

  #stopListTimer(): void {
    if (this.#listTimer !== undefined) this.#timers.clearTimeout(this.#listTimer);
    this.#listTimer = undefined;
  }

  #stopRetryTimer(): void {
    if (this.#retryTimer !== undefined) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  async #list(cause: ListCause): Promise<void> {
    const attempt = this.#cancel();
    this.#resourceVersion = '';
    const outcome = await this.#listOnce();
    if (outcome === undefined || attempt !== this.#attempt || this.#stopped) return;
    if (!outcome.ok) {
      this.#fail('list', outcome.err);
      return;
    }
    const { list } = outcome;
    this.#resourceVersion = list.resourceVersion;
    this.#logger.debug({ cause, items: list.items.length, resourceVersion: list.resourceVersion }, 'listed');
    this.#safely('snapshot', () => this.#handler.snapshot(list.items, cause));
    this.#openWatch(true);
  }

  /**
   * One list call, settled by its answer, by the list timeout or by #cancel — whichever comes
   * first — so neither start() nor the loop waits on a request that never answers.
   */
  #listOnce(): Promise<ListOutcome<T> | undefined> {
    const abort = new AbortController();
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: ListOutcome<T> | undefined): void => {
        if (settled) return;
        settled = true;
        this.#stopListTimer();
        this.#listAbort = undefined;
        this.#abandonList = undefined;
        resolve(outcome);
      };
      this.#listAbort = abort;
      this.#abandonList = () => settle(undefined);
      const timeoutMs = this.#settings.listTimeoutMs;
      this.#listTimer = this.#timers.setTimeout(() => {
        abort.abort();
        settle({ ok: false, err: new Error(`list did not answer within ${timeoutMs} ms`) });
      }, timeoutMs);
      let call: Promise<ObjectList<T>>;
      try {
        call = this.#client.list(abort.signal);
      } catch (err) {
        call = Promise.reject(err);
      }
      call.then((list) => settle({ ok: true, list }), (err: unknown) => settle({ ok: false, err }));
    });
  }

  /** Opens a watch from #resourceVersion; `afterList` when that version comes from a list just made. */
  #openWatch(afterList = false): void {
    const attempt = this.#cancel();
    const openedAt = this.#clock.now();
    const listedAt = afterList ? openedAt : undefined;
    const request: WatchRequest = {
      resourceVersion: this.#resourceVersion,
      timeoutSeconds: Math.round(this.#settings.minWatchTimeoutSeconds * (1 + this.#random())),
    };
    let ended = false;
    const current = (): boolean => attempt === this.#attempt && !this.#stopped;
    const onEvent = (type: string, object: unknown): void => {
      if (current()) this.#onEvent(type, object, listedAt);
    };
    const onDone = (err: unknown): void => {
      if (ended || !current()) return;
      ended = true;
      this.#onDone(err, openedAt, listedAt);
    };
    let started: Promise<WatchHandle>;
    try {
      started = this.#client.watch(request, onEvent, onDone);
    } catch (err) {
      onDone(err ?? new Error('watch failed'));
      return;
    }
    started.then(
      (handle) => {
        if (current() && !ended) this.#watch = handle;
        else handle.abort();
      },
      (err: unknown) => onDone(err ?? new Error('watch failed')),
    );
  }

  #onEvent(type: string, object: unknown, listedAt: number | undefined): void {
    const resourceVersion = resourceVersionOf(object);
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        if (resourceVersion) this.#resourceVersion = resourceVersion;
        this.#backoff.reset();
        this.#safely('change', () => this.#handler.change(type, object as T));
        return;
      case 'BOOKMARK':
        if (resourceVersion) this.#resourceVersion = resourceVersion;
        this.#backoff.reset();
        return;
      case 'ERROR':
        this.#onErrorEvent(object, listedAt);
        return;
      default:
        this.#logger.debug({ type }, 'ignored a watch event of unknown type');
    }
  }

  /** An ERROR event carries a metav1.Status; the server ends the watch after it. */
  #onErrorEvent(status: unknown, listedAt: number | undefined): void {
    if (statusCodeOf(status) === 410) {
      this.#gone(listedAt);
      return;
    }
    this.#cancel();
    this.#fail('watch', status);
  }

  /**
   * 410 Gone: the resourceVersion is too old to resume from, so list again — at once, unless the
   * version came from a list made moments ago: then relisting at once could loop tightly.
   */
  #gone(listedAt: number | undefined): void {
    this.#cancel();
    this.#resourceVersion = '';
    const lived = listedAt === undefined ? Infinity : this.#clock.now() - listedAt;
    if (lived < this.#settings.minWatchMs) {
      this.#retry('watch', `410 Gone ${lived} ms after a fresh list`);
      return;
    }
    this.#logger.info('watch expired (410 Gone): relisting');
    void this.#list('gone');
  }

  #onDone(err: unknown, openedAt: number, listedAt: number | undefined): void {
    if (statusCodeOf(err) === 410) {
      this.#gone(listedAt);
      return;
    }
    const timedOut = isTimeout(err);
    if (err !== null && err !== undefined && !timedOut) {
      this.#fail('watch', err);
      return;
    }
    const lived = this.#clock.now() - openedAt;
    if (!timedOut && lived < this.#settings.minWatchMs) {
      this.#retry('watch', `the watch closed after ${lived} ms`);
      return;
    }
    if (!timedOut) this.#backoff.reset();
    this.#logger.debug({ timedOut, lived, resourceVersion: this.#resourceVersion }, 'watch closed: resuming');
    this.#openWatch();
  }

  #fail(phase: WatchFailure['phase'], err: unknown): void {
    const failure = describeFailure(phase, err);
    this.#safely('failure', () => this.#handler.failure(failure));
    this.#retry(phase, failure.message, failure.statusCode);
  }

  #retry(phase: WatchFailure['phase'], message: string, statusCode?: number): void {
    if (this.#stopped) return;
    const delayMs = this.#backoff.next();
    this.#logger.warn(
      { phase, statusCode, attempt: this.#backoff.attempts, delayMs },
      `${phase} of ${this.#what} failed: ${message}; retrying in ${delayMs} ms`,
    );
    this.#stopRetryTimer();
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#resume();
    }, delayMs);
  }

  #resume(): void {
    if (this.#stopped) return;
    if (this.#resourceVersion === '') void this.#list('retry');
    else this.#openWatch();
  }

  #scheduleResync(): void {
    const interval = this.#settings.resyncIntervalMs;
    if (interval <= 0 || this.#stopped) return;
    const delay = Math.round(interval * (0.9 + 0.2 * this.#random()));
    this.#resyncTimer = this.#timers.setTimeout(() => {
      this.#resyncTimer = undefined;
      if (this.#stopped) return;
      // A pending retry reconnects anyway; relisting now would only cut its backoff short.
      if (this.#retryTimer === undefined) {
        this.#logger.debug('periodic relist');
        void this.#list('resync');
      }
      this.#scheduleResync();
    }, delay);
  }

  #safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err, callback: what }, `the ${what} handler threw; the watch goes on`);
    }
  }
}

function resourceVersionOf(object: unknown): string | undefined {
  const metadata = (object as KubeObject | null)?.metadata;
  return typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
}

/** The HTTP code of a failed watch (`statusCode`), an ApiException (`code`) or a metav1.Status. */
function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === 'number') return statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** client-node's Watch ends a connect or inactivity timeout with a DOMException named TimeoutError. */
function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError';
}

const MAX_MESSAGE = 300;

function describeFailure(phase: WatchFailure['phase'], err: unknown): WatchFailure {
  const statusCode = statusCodeOf(err);
  const raw = typeof err === 'object' && err !== null && 'message' in err
    ? String((err as { message: unknown }).message)
    : String(err);
  const message = raw.length > MAX_MESSAGE ? `${raw.slice(0, MAX_MESSAGE)}…` : raw;
  return statusCode === undefined ? { phase, message } : { phase, message, statusCode };
}
