/** Time, injected so the watch's backoff, resync and list timeout can be tested without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** An opaque handle of a scheduled callback. */
export type TimerId = unknown;

/** One-shot timers, as `setTimeout`/`clearTimeout` (client-node injects `delayFn` the same way). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Real timers, unref'd: a pending retry or resync never keeps the process alive on its own. */
export const systemTimers: Timers = {
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(id) {
    clearTimeout(id as ReturnType<typeof setTimeout>);
  },
};
