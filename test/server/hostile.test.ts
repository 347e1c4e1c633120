// The webhook under callers that try to stop it (issue #24, docs/reliability.md "Bounds"): bodies
// too wide to parse, uploads that trickle, connections that never start TLS. Each runs against
// the real HTTPS server on loopback. GUARD bounds how long a test may wait for an answer: a
// liveness bound (the old code never answered), not a performance assertion.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { MAX_JSON_VALUES } from '../../src/server/body.ts';
import { ensureDevCertificate } from '../../src/server/dev-certificate.ts';
import { BODY_TIMEOUT_MS } from '../../src/server/review.ts';
import { HANDSHAKE_TIMEOUT_MS, createTlsServer, watchCertificate } from '../../src/server/tls.ts';
import { fixture, testApp } from './support.ts';

const GUARD = { timeout: 60_000 };
const dir = mkdtempSync(join(tmpdir(), 'gpu-admission-hostile-'));
let server: Server;
let port: number;
let ca: Buffer;
let stopCertificate: () => void;

before(async () => {
  const dev = ensureDevCertificate(dir);
  ca = readFileSync(dev.caFile);
  const certificate = watchCertificate(dev, { logger: pino({ level: 'silent' }), pollIntervalMs: 0 });
  stopCertificate = () => certificate.stop();
  // A request timeout far beyond GUARD: only the webhook's own bounds can free a slot in time.
  server = createTlsServer(testApp({ maxInFlight: 2 }).app, certificate, 300_000);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
  stopCertificate();
  rmSync(dir, { recursive: true, force: true });
});

function review(body: string): Promise<{ status: number; review: AdmissionReview }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca, servername: 'localhost', agent: false,
      headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, review: JSON.parse(text) as AdmissionReview }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const normal = (): string => JSON.stringify(fixture('shared-gpu-pod'));

describe('hostile callers against the HTTPS server', () => {
  it('when a GPU pod carries a million empty tolerations (3 MB), then it is refused before it is parsed, the uid echoed', GUARD, async () => {
    const body = fixture('shared-gpu-pod');
    const pod = body.request?.object as { spec: Record<string, unknown> };
    pod.spec.tolerations = Array.from({ length: 1_000_000 }, () => ({}));
    const { status, review: answer } = await review(JSON.stringify(body));
    assert.equal(status, 400);
    assert.equal(answer.response?.uid, body.request?.uid);
    assert.match(answer.response?.status?.message ?? '', new RegExp(`more than ${MAX_JSON_VALUES} JSON values`));
    assert.equal((await review(normal())).status, 200, 'the next review is served');
  });

  it('when every slot is taken by uploads that trickle, then they are cut and a normal review is still answered', GUARD, async () => {
    const trickles = [0, 1, 2].map(() => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
      socket.on('error', () => {});
      socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      const drip = setInterval(() => socket.writable && socket.write(' '), 200);
      const closed = new Promise<void>((resolve) => socket.on('close', () => { clearInterval(drip); resolve(); }));
      return closed;
    });
    await new Promise((r) => setTimeout(r, 300)); // the trickles hold both slots and wait in line
    const { status } = await review(normal());
    assert.equal(status, 200);
    await Promise.all(trickles); // each cut after BODY_TIMEOUT_MS, not the 300 s request timeout
    assert.ok(BODY_TIMEOUT_MS < GUARD.timeout);
  });

  it('when a connection never starts TLS, then the server closes it after the handshake timeout', GUARD, async () => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    assert.ok(HANDSHAKE_TIMEOUT_MS < GUARD.timeout, 'Node\'s default (120 s) would outlast GUARD');
  });
});
