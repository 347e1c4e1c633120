/**
 * The load generator of bench/server.bench.ts, run in its own process (child_process.fork) so
 * that it does not share an event loop with the server it measures. It receives one job over
 * IPC, runs autocannon, and sends back the figures.
 */
import autocannon from 'autocannon';

export interface DriverJob {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly bodies: readonly string[];
  /** Send this many requests, then stop (instead of running for `seconds`). */
  readonly amount?: number;
}

export interface DriverResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

/** autocannon's own percentiles are whole milliseconds; these come from each response's time. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function run(job: DriverJob): Promise<DriverResult> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const instance = autocannon({
      url: job.url,
      connections: job.connections,
      ...(job.amount ? { amount: job.amount } : { duration: job.seconds }),
      // Each connection cycles through the mix in order.
      requests: job.bodies.map((body) => ({ method: 'POST', path: '/mutate', headers: { 'content-type': 'application/json' }, body })),
    }, (err, result) => {
      if (err) {
        reject(err);
        return;
      }
      const sorted = Float64Array.from(latencies).sort();
      resolve({
        requestsPerSecond: result.requests.average,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        total: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
      });
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) latencies.push(ms);
    });
  });
}

process.once('message', (job: DriverJob) => {
  run(job).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`driver: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
