import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PolicySource } from '../policy/source.ts';
import type { PoolNodes } from '../cluster/model.ts';
import type { PoolNodeView } from './pool-nodes.ts';

export const METRIC_PREFIX = 'gpu_admission_';

/**
 * Which webhook answered: the pod mutation, the policy ConfigMap validation, the workload
 * templates, audit mode, or the vocabulary outside opted-in namespaces.
 */
export type Webhook = 'mutate' | 'validate-policy' | 'validate-workloads' | 'audit' | 'not-opted-in';

/** How a review ended; `invalid` is a request the webhook could not read, `error` its own failure. */
/** `accepted`: a policy the policy webhook validated; `audit-*`: what audit mode would have done. */
export type ReviewResult = 'patched' | 'unchanged' | 'accepted' | 'denied' | 'audit-patched' | 'audit-denied' | 'invalid' | 'error';

/** Where the metrics read the state they report at scrape time. */
export interface MetricSources {
  readonly policySource: PolicySource;
  /** Expiry of the serving certificate in force, seconds since the epoch. */
  readonly certificateExpiry: () => number | undefined;
  readonly now: () => number;
  /** The pools' watched nodes (--node-watch); without it the pool gauges are not exported. */
  readonly poolNodes?: PoolNodeView;
}

export interface Metrics {
  readonly registry: Registry;
  readonly reviews: Counter<'webhook' | 'result'>;
  readonly duration: Histogram<'webhook'>;
  readonly denials: Counter<'webhook' | 'reason'>;
  readonly routed: Counter<'pool' | 'backend'>;
  readonly policyReloads: Counter<'result'>;
}

/** Admission calls take well under a millisecond to a few; the API server gives up after seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Registers the webhook's metrics on `registry` (one per app, never prom-client's global one, so
 * apps in the same process — tests, the benchmark — do not share counts).
 */
export function createMetrics(registry: Registry, sources: MetricSources, processMetrics: boolean): Metrics {
  const registers = [registry];
  // Process metrics keep their standard names (process_*, nodejs_*) so stock dashboards work.
  if (processMetrics) collectProcessMetrics(registry);
  const metrics: Metrics = {
    registry,
    reviews: new Counter({
      name: `${METRIC_PREFIX}reviews_total`, help: 'Admission reviews answered, by webhook and result.',
      labelNames: ['webhook', 'result'], registers,
    }),
    duration: new Histogram({
      name: `${METRIC_PREFIX}review_duration_seconds`, help: 'Time from the first byte of a review to its answer.',
      labelNames: ['webhook'], buckets: DURATION_BUCKETS, registers,
    }),
    denials: new Counter({
      name: `${METRIC_PREFIX}denials_total`, help: 'Reviews denied, by webhook and the first reason\'s code.',
      labelNames: ['webhook', 'reason'], registers,
    }),
    routed: new Counter({
      name: `${METRIC_PREFIX}routed_total`, help: 'Pods patched, by each pool they were routed to and its backend.',
      labelNames: ['pool', 'backend'], registers,
    }),
    policyReloads: new Counter({
      name: `${METRIC_PREFIX}policy_reloads_total`, help: 'Policy source events: loaded, invalid (last good kept), deleted, error.',
      labelNames: ['result'], registers,
    }),
  };
  registerStateGauges(registry, sources);
  return metrics;
}

/**
 * prom-client's default metrics (`collectDefaultMetrics`), each registered by its own module with
 * prom-client's defaults, but `gc` (`nodejs_gc_duration_seconds`). That one observes every
 * collection through a perf_hooks PerformanceObserver, and for each Node builds an entry with four
 * deprecated accessors (DEP0152), whose maps V8 allocates in the old space: about 10 KB of
 * old-space garbage a scavenge, a scavenge every 50 reviews or so, 12 MiB over 100,000 reviews
 * (docs/benchmarks.md, the tenth pass).
 */
function collectProcessMetrics(registry: Registry): void {
  const require = createRequire(import.meta.url);
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'gc') continue;
    const register = require(`prom-client/lib/metrics/${name}.js`) as (registry: Registry, config: object) => void;
    register(registry, {});
  }
}

function registerStateGauges(registry: Registry, { policySource, certificateExpiry, now, poolNodes }: MetricSources): void {
  const registers = [registry];
  if (poolNodes) {
    // The pools' nodes under the policy in force; none before a policy and the first node list.
    const summaryNow = (): ReadonlyMap<string, PoolNodes> => {
      const policy = policySource.current();
      return (policy && poolNodes.summary(policy)) ?? new Map();
    };
    new Gauge({
      name: `${METRIC_PREFIX}pool_nodes`, help: 'Nodes of each pool of the policy in force, Ready or not (the watched GPU nodes).',
      labelNames: ['pool', 'ready'], registers,
      collect() {
        this.reset();
        for (const [pool, n] of summaryNow()) {
          this.set({ pool, ready: 'true' }, n.ready);
          this.set({ pool, ready: 'false' }, n.total - n.ready);
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}pool_capacity`, help: 'What the nodes of each pool advertise (allocatable) of the resources the pool hands out.',
      labelNames: ['pool', 'resource'], registers,
      collect() {
        this.reset();
        for (const [pool, n] of summaryNow()) for (const [resource, value] of Object.entries(n.capacity)) this.set({ pool, resource }, value);
      },
    });
  }
  new Gauge({
    name: `${METRIC_PREFIX}policy_info`, help: 'The policy in force (value 1), by revision.', labelNames: ['revision'], registers,
    collect() {
      this.reset();
      const revision = policySource.current()?.revision;
      if (revision !== undefined) this.set({ revision }, 1);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}policy_age_seconds`, help: 'Seconds since the policy in force was loaded.', registers,
    collect() {
      this.reset();
      const loadedAt = policySource.loadedAt();
      if (loadedAt !== undefined) this.set(Math.max(0, (now() - loadedAt) / 1000));
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}certificate_expiry_timestamp_seconds`, help: 'Expiry (notAfter) of the serving certificate in force.', registers,
    collect() {
      this.reset();
      const expiry = certificateExpiry();
      if (expiry !== undefined) this.set(expiry);
    },
  });
}

/** Counts the policy source's events; returns the function that stops counting. */
export function countPolicyEvents(source: PolicySource, metrics: Metrics): () => void {
  return source.on((event) => metrics.policyReloads.inc({ result: event.type }));
}
