import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.ts';

/** The object an Event is about (Kubernetes' ObjectReference fields). */
export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** An events.k8s.io/v1 Event as this project writes it. */
export interface EventBody {
  readonly regarding: ObjectReference;
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, machine-readable: `InvalidPolicy`. */
  readonly reason: string;
  /** What the reporter did about it: `KeepLastGoodPolicy`. */
  readonly action: string;
  /** Human-readable, at most 1 kB. */
  readonly note: string;
  readonly eventTime: Date;
  readonly reportingController: string;
  readonly reportingInstance: string;
}

export interface EventSeries {
  readonly count: number;
  readonly lastObservedTime: Date;
}

/** Where Events go: the API server (kube-client.ts) or a test's list. */
export interface EventSink {
  /** Creates the Event in the regarded object's namespace; resolves to the new Event's name. */
  create(event: EventBody): Promise<string>;
  /** Marks an existing Event as a series that happened `count` times. */
  patchSeries(namespace: string, name: string, series: EventSeries): Promise<void>;
}

export interface RecordedEvent {
  readonly regarding: ObjectReference;
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

/** Records Events without ever failing its caller: errors are logged, repeats are folded. */
export interface EventRecorder {
  /** Resolves once the Event is written, folded or dropped; never rejects. */
  warning(event: RecordedEvent): Promise<void>;
}

export interface EventRecorderOptions {
  readonly sink: EventSink;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** `reportingController` of every Event. Default `gpu-admission`. */
  readonly reportingController?: string;
  /** `reportingInstance`: this replica (the pod name). */
  readonly reportingInstance: string;
  /** The same Event again within this time is only counted, not sent. Default 5 min. */
  readonly seriesIntervalMs?: number;
  /** New Events about one object and reason: at most `burst` at once, then one per `refillMs`. */
  readonly burst?: number;
  readonly refillMs?: number;
}

/** Events the API server accepts: note ≤ 1 kB, reportingInstance ≤ 128 characters. */
const NOTE_LIMIT = 1024;
const INSTANCE_LIMIT = 128;
/** Enough for every Event this webhook writes; the oldest are forgotten first. */
const CACHE_LIMIT = 256;

interface Seen {
  name: string | undefined;
  count: number;
  lastSentAt: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * An Event recorder with the spam guards of client-go's EventCorrelator, simplified:
 *
 * - the same Event (object, reason, note) again becomes a series — the count goes up and the
 *   first Event is patched (`series`), at most once per `seriesIntervalMs`;
 * - new Events about one object and reason take a token from a bucket (`burst`, refilled one per
 *   `refillMs`), so an edit that flaps between different broken versions cannot flood the
 *   namespace. Dropped Events are still in the log, which has every error.
 */
export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: 'events' });
  const seriesIntervalMs = options.seriesIntervalMs ?? 5 * 60_000;
  const burst = options.burst ?? 10;
  const refillMs = options.refillMs ?? 5 * 60_000;
  const reportingController = options.reportingController ?? 'gpu-admission';
  const reportingInstance = options.reportingInstance.slice(0, INSTANCE_LIMIT);
  const seen = new Map<string, Seen>();
  const buckets = new Map<string, Bucket>();

  function takeToken(key: string, now: number): boolean {
    const bucket = buckets.get(key) ?? { tokens: burst, updatedAt: now };
    const refilled = Math.floor((now - bucket.updatedAt) / refillMs);
    if (refilled > 0) {
      bucket.tokens = Math.min(burst, bucket.tokens + refilled);
      bucket.updatedAt += refilled * refillMs;
    }
    remember(buckets, key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  async function create(key: string, event: RecordedEvent, now: number): Promise<void> {
    const entry: Seen = { name: undefined, count: 1, lastSentAt: now };
    remember(seen, key, entry);
    try {
      entry.name = await options.sink.create({
        ...event,
        note: truncate(event.note, NOTE_LIMIT),
        type: 'Warning',
        eventTime: new Date(now),
        reportingController,
        reportingInstance,
      });
    } catch (err) {
      seen.delete(key);
      logger.warn({ err, reason: event.reason, regarding: event.regarding }, 'could not record an Event');
    }
  }

  async function patch(key: string, entry: Seen, name: string, event: RecordedEvent, now: number): Promise<void> {
    entry.lastSentAt = now;
    try {
      await options.sink.patchSeries(event.regarding.namespace, name, {
        count: entry.count,
        lastObservedTime: new Date(now),
      });
    } catch (err) {
      // Most likely the Event expired (the API server keeps Events for an hour): start anew.
      logger.debug({ err, reason: event.reason }, 'could not update an Event series; recording a new Event');
      await create(key, event, now);
    }
  }

  return {
    async warning(event) {
      const now = clock.now();
      const object = objectKey(event.regarding);
      const key = `${object}\u0000${event.reason}\u0000${event.note}`;
      const entry = seen.get(key);
      if (entry) {
        entry.count += 1;
        if (entry.name === undefined || now - entry.lastSentAt < seriesIntervalMs) return;
        await patch(key, entry, entry.name, event, now);
        return;
      }
      if (!takeToken(`${object}\u0000${event.reason}`, now)) {
        logger.debug({ reason: event.reason, regarding: event.regarding }, 'Event dropped by the rate limit');
        return;
      }
      await create(key, event, now);
    },
  };
}

function objectKey(ref: ObjectReference): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}/${ref.uid ?? ''}`;
}

function truncate(text: string, bytes: number): string {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytes) return text;
  // Cut on a character boundary and mark the cut.
  let cut = encoded.subarray(0, bytes - 3).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Map insertion order as recency: re-inserting moves a key last; the first is the oldest. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > CACHE_LIMIT) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
