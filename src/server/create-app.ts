import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { POLICY_CONFIGMAP } from '../vocabulary/names.ts';
import type { NodeSource } from '../cluster/model.ts';
import type { NamespaceSource, PolicySource } from '../policy/source.ts';
import { healthRoutes } from './health.ts';
import { countPolicyEvents, createMetrics } from './metrics.ts';
import { mutateHandler } from './mutate.ts';
import { PoolNodeView } from './pool-nodes.ts';
import { inFlightLimit, reviewEndpoint, type ReviewEndpoint } from './review.ts';
import type { CertificateStatus } from './tls.ts';
import { validatePolicyHandler, type PolicyConfigMapRef } from './validate-policy.ts';
import { auditHandler, notOptedInHandler, validateWorkloadsHandler } from './workloads.ts';

export interface AppDeps {
  readonly policySource: PolicySource;
  readonly namespaceSource: NamespaceSource;
  /** The root logger; each review logs through a child of it. */
  readonly logger: Logger;
  readonly certificate: CertificateStatus;
  /** Where the metrics are registered; a fresh registry by default, never prom-client's global one. */
  readonly registry?: Registry;
  /** Also export process metrics (CPU, memory, event loop, GC). Default true. */
  readonly processMetrics?: boolean;
  /** Milliseconds since the epoch, with sub-millisecond precision for durations. */
  readonly now?: () => number;
  /** True once the process is shutting down. Default: never. */
  readonly draining?: () => boolean;
  /** The policy ConfigMap that POST /validate-policy guards. */
  readonly policyConfigMap?: PolicyConfigMapRef;
  /** While no policy is in force: refuse pods with the reason (`deny`, default) or answer 503 (`unavailable`). */
  readonly notReadyAnswer?: 'deny' | 'unavailable';
  /** Reviews read and decided at once (both webhooks); more wait; a full waiting line gets 429. Default 8. */
  readonly maxInFlight?: number;
  /** The watched GPU nodes (--node-watch): the no-Ready-node warning and the pool metrics. */
  readonly nodeSource?: NodeSource;
}

/** A review waiting this long for a slot has outlived the API server's wait (timeoutSeconds 5 in the manifests). */
export const STARVED_AFTER_MS = 5_000;

export const DEFAULT_POLICY_CONFIGMAP: PolicyConfigMapRef = POLICY_CONFIGMAP;

/**
 * The webhook's HTTP application. It does not listen: main (or a test) gives it a server. The
 * review webhooks' own requests (POST on their exact paths, a query allowed, as the API server
 * sends them) go straight to their endpoint; everything else — other methods and paths, health,
 * metrics, 404s — through express, which routes the same paths to the same endpoints.
 */
export function createApp(deps: AppDeps): RequestListener {
  const now = deps.now ?? (() => performance.timeOrigin + performance.now());
  const draining = deps.draining ?? (() => false);
  const registry = deps.registry ?? new Registry();
  const poolNodes = deps.nodeSource ? new PoolNodeView(deps.nodeSource) : undefined;
  const metrics = createMetrics(registry, {
    policySource: deps.policySource, certificateExpiry: () => deps.certificate.expiresAt(), now,
    ...(poolNodes ? { poolNodes } : {}),
  }, deps.processMetrics ?? true);
  countPolicyEvents(deps.policySource, metrics);
  const inFlight = inFlightLimit(deps.maxInFlight ?? 8);
  const reviewDeps = { logger: deps.logger, metrics, now, notReadyAnswer: deps.notReadyAnswer ?? 'deny', inFlight };
  // Reviews that wait longer than the API server waits are lost: then this replica should get no more.
  const starved = (): string | undefined => {
    const waited = inFlight.oldestWait(performance.now());
    return waited > STARVED_AFTER_MS ? `a review has waited ${(waited / 1000).toFixed(1)} s for one of ${inFlight.max} slots` : undefined;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const decideDeps = { ...deps, ...(poolNodes ? { poolNodes } : {}) };
  const endpoints = new Map<string, ReviewEndpoint>([
    ['/mutate', reviewEndpoint('mutate', mutateHandler(decideDeps), reviewDeps)],
    ['/validate-policy', reviewEndpoint('validate-policy', validatePolicyHandler(deps.policyConfigMap ?? DEFAULT_POLICY_CONFIGMAP), reviewDeps)],
    ['/validate-workloads', reviewEndpoint('validate-workloads', validateWorkloadsHandler(decideDeps), reviewDeps)],
    ['/audit', reviewEndpoint('audit', auditHandler(decideDeps), reviewDeps)],
    ['/validate-not-opted-in', reviewEndpoint('not-opted-in', notOptedInHandler(), reviewDeps)],
  ]);
  for (const [path, endpoint] of endpoints) app.post(path, (req, res, next) => endpoint(req, res, next));
  app.use(healthRoutes({ ...deps, draining, starved }));
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => requestFailed(deps.logger, req.path, err, res));
  return (req, res) => {
    // While draining, answer in-flight and queued requests but let each connection close after.
    if (draining()) res.setHeader('Connection', 'close');
    const path = req.method === 'POST' ? pathOf(req) : undefined;
    const endpoint = path === undefined ? undefined : endpoints.get(path);
    if (endpoint === undefined) app(req, res);
    else endpoint(req, res, (err) => requestFailed(deps.logger, path as string, err, res));
  };
}

/** The request's path, without its query (`/mutate?timeout=10s` is `/mutate`). */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * What a request that failed outside a review gets (express's error handler, and the review
 * endpoints' `fail`): body-parser's own client errors (an aborted upload) carry a 4xx status and
 * their message; the rest is ours, a 500.
 */
function requestFailed(logger: Logger, path: string, err: unknown, res: ServerResponse): void {
  const status = (err as { status?: unknown }).status;
  const clientError = typeof status === 'number' && status >= 400 && status < 500;
  if (clientError) logger.warn({ path, err: (err as Error).message }, 'request failed');
  else logger.error({ path, err }, 'request failed outside a review');
  if (res.headersSent) return;
  const body = JSON.stringify({ error: clientError ? (err as Error).message : 'internal error' });
  res.writeHead(clientError ? status : 500, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
