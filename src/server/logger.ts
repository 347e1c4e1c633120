import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The most log text held while stdout is slower than the reviews (the container runtime's pipe
 * stalled): past it, lines are dropped, not held, so a stalled log cannot grow the heap or stop
 * the answers. At a few hundred bytes a line, thousands of reviews' lines.
 */
export const MAX_LOG_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * Lines are written once this much text has gathered, or every LOG_FLUSH_MS: under load, the
 * lines of a dozen reviews leave in one write (each write is a trip to libuv's thread pool and
 * back) instead of one write each; when idle, a line waits at most LOG_FLUSH_MS.
 */
export const LOG_BATCH_BYTES = 8 * 1024;
export const LOG_FLUSH_MS = 100;

/**
 * Where the webhook's log goes: stdout, written asynchronously and in batches (LOG_BATCH_BYTES,
 * LOG_FLUSH_MS), so the lines of many reviews leave in one write instead of one system call
 * each (flushed at exit; main flushes before it exits on a signal or a fatal error).
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  return pino.destination({ dest, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS, maxLength: MAX_LOG_BACKLOG_BYTES });
}

/** The root logger: level names, not numbers (operators grep for "level":"error"). */
export function createLogger(level: string, destination: DestinationStream = logDestination()): Logger {
  return pino({ level, base: { service: 'gpu-admission' }, formatters: { level: (label) => ({ level: label }) } }, destination);
}
