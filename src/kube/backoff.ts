export interface BackoffOptions {
  /** First delay before jitter (ms). */
  readonly baseMs?: number;
  /** Largest delay (ms); jitter never exceeds it. */
  readonly maxMs?: number;
  /** A number in [0, 1); Math.random unless a test injects one. */
  readonly random?: () => number;
}

export interface Backoff {
  /** The delay before the next attempt; each call doubles the ceiling up to maxMs. */
  next(): number;
  /** Forget past failures (after a healthy watch). */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

/**
 * Capped exponential backoff with "equal jitter": attempt n waits between half and all of
 * min(maxMs, baseMs × 2ⁿ), so replicas that lost the API server together do not come back in
 * lockstep, and no delay exceeds the cap.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const baseMs = options.baseMs ?? 1_000;
  const maxMs = options.maxMs ?? 30_000;
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 30));
      attempts += 1;
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
