import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The most log text held while stdout is slower than the reviews (the container runtime's pipe
 * stalled): past it, lines are dropped, not held, so a stalled log cannot grow the heap or stop
 * the answers. At a few hundred bytes a line, thousands of reviews' lines.
 */
export const MAX_LOG_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * Where the webhook's log goes: stdout, written asynchronously, so the lines of many reviews
 * leave in one write instead of one system call each (flushed at exit; main flushes before it
 * exits on a signal or a fatal error).
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  return pino.destination({ dest, sync: false, maxLength: MAX_LOG_BACKLOG_BYTES });
}

/** The root logger: level names, not numbers (operators grep for "level":"error"). */
export function createLogger(level: string, destination: DestinationStream = logDestination()): Logger {
  return pino({ level, base: { service: 'gpu-admission' }, formatters: { level: (label) => ({ level: label }) } }, destination);
}
