import { Router } from 'express';
import type { NamespaceSource, PolicySource } from '../policy/source.ts';
import type { CertificateStatus } from './tls.ts';

export interface ReadinessDeps {
  readonly policySource: PolicySource;
  readonly namespaceSource: NamespaceSource;
  readonly certificate: CertificateStatus;
  /** True once the process is shutting down: stop receiving new reviews. */
  readonly draining: () => boolean;
  /** Why reviews cannot get a slot in time (they wait longer than the API server waits), if they cannot. */
  readonly starved?: () => string | undefined;
}

/** Why this replica should not receive reviews; empty when it should. */
export function notReadyReasons({ policySource, namespaceSource, certificate, draining, starved }: ReadinessDeps): string[] {
  const reasons: string[] = [];
  if (draining()) reasons.push('shutting down');
  const busy = starved?.();
  if (busy) reasons.push(busy);
  if (!policySource.current()) reasons.push(`no policy in force: ${policySource.notReadyReason() ?? 'not loaded yet'}`);
  const namespaces = namespaceSource.notReadyReason();
  if (namespaces) reasons.push(`namespace labels: ${namespaces}`);
  const cert = certificate.notReadyReason();
  if (cert) reasons.push(`certificate: ${cert}`);
  return reasons;
}

/** GET /healthz: the process answers. GET /readyz: it can decide, and says why not. */
export function healthRoutes(deps: ReadinessDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  router.get('/readyz', (_req, res) => {
    const reasons = notReadyReasons(deps);
    res.status(reasons.length === 0 ? 200 : 503).json(reasons.length === 0 ? { ready: true } : { ready: false, reasons });
  });
  return router;
}
