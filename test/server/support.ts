import { readFileSync } from 'node:fs';
import fjp from 'fast-json-patch';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { AdmissionReview } from '../../src/admission/types.ts';
import type { Pod } from '../../src/engine/pod.ts';
import { defaultPolicy } from '../../src/policy/default-policy.ts';
import { NoNamespaceLabels, StaticPolicySource, type NamespaceSource, type PolicySource } from '../../src/policy/source.ts';
import { createApp, type AppDeps } from '../../src/server/create-app.ts';
import type { CertificateStatus } from '../../src/server/tls.ts';

/** A review as the API server sends it; loosely typed so tests can break it on purpose. */
export interface ReviewJson {
  apiVersion?: unknown;
  kind?: unknown;
  request?: Record<string, unknown> & { uid?: unknown; object?: unknown; operation?: unknown };
  [key: string]: unknown;
}

const FIXTURES = new URL('../fixtures/reviews/', import.meta.url);

/** A fresh copy of a fixture under test/fixtures/reviews/ (without `.json`). */
export function fixture(name: string): ReviewJson {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as ReviewJson;
}

export function podOf(review: ReviewJson): Pod {
  return structuredClone(review.request?.object) as Pod;
}

/** A log line as pino writes it. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A root logger that keeps every line it writes. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

export const validCertificate: CertificateStatus = { notReadyReason: () => undefined, expiresAt: () => 1_900_000_000 };

export interface TestApp {
  readonly app: ReturnType<typeof createApp>;
  readonly registry: Registry;
  readonly lines: LogLine[];
}

/** createApp with the embedded default policy, no namespace labels, a captured log and its own registry. */
export function testApp(overrides: Partial<AppDeps> = {}): TestApp {
  const { logger, lines } = capturingLogger();
  const registry = new Registry();
  const policySource: PolicySource = new StaticPolicySource(defaultPolicy());
  const namespaceSource: NamespaceSource = new NoNamespaceLabels();
  const app = createApp({
    policySource, namespaceSource, logger, registry, certificate: validCertificate, processMetrics: false, ...overrides,
  });
  return { app, registry, lines };
}

/** The JSON Patch of a response, decoded from base64. */
export function patchOf(review: AdmissionReview): fjp.Operation[] {
  const patch = review.response?.patch;
  if (patch === undefined) throw new Error(`the response has no patch: ${JSON.stringify(review.response)}`);
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as fjp.Operation[];
}

/** The pod as the API server would have it after applying the response's patch. */
export function patchedPod(pod: Pod, review: AdmissionReview): Pod {
  return fjp.applyPatch(structuredClone(pod), patchOf(review), true, false).newDocument;
}
