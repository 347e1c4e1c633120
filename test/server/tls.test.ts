import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { AdmissionReview } from '../../src/admission/types.ts';
import {
  CertificateError, createTlsServer, loadKeyPair, watchCertificate, type CertificateEvent, type ServingCertificate,
} from '../../src/server/tls.ts';
import { SecretVolume, genCerts, pairIn } from './certs.ts';
import { parseExposition, valueOf } from './exposition.ts';
import { capturingLogger, testApp, type LogLine } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'gpu-admission-tls-'));
const servers = new Set<Running>();
after(() => {
  for (const running of servers) running.close();
  rmSync(root, { recursive: true, force: true });
});

/** A failure, not a hang, if a reload never comes: not a timing assertion, a bound on waiting. */
const GUARD = { timeout: 60_000 };

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly fingerprint: string;
  readonly reused: boolean;
}

function call(port: number, ca: Buffer, agent: Agent, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, agent, ca, method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    }, (res) => {
      // Read now: a keep-alive socket goes back to the agent's pool once the response ends.
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket, fingerprint }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The next certificate event of the given type (others are skipped). */
function next(certificate: ServingCertificate, type: CertificateEvent['type']): Promise<CertificateEvent> {
  return new Promise((resolve) => {
    const stop = certificate.on((event) => {
      if (event.type !== type) return;
      stop();
      resolve(event);
    });
  });
}

const fingerprintOf = (cert: Buffer): string => new X509Certificate(cert).fingerprint256;

interface Running {
  readonly server: Server;
  readonly port: number;
  readonly certificate: ServingCertificate;
  readonly lines: LogLine[];
  close(): void;
}

async function serve(certFile: string, keyFile: string): Promise<Running> {
  const { logger, lines } = capturingLogger();
  const certificate = watchCertificate({ certFile, keyFile }, { logger, pollIntervalMs: 0 });
  const server = createTlsServer(testApp({ certificate }).app, certificate);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const running: Running = {
    server, certificate, lines, port: (server.address() as AddressInfo).port,
    close() {
      servers.delete(running);
      certificate.stop();
      server.closeAllConnections();
      server.close();
    },
  };
  servers.add(running);
  return running;
}

describe('HTTPS with a certificate from gen-certs.sh', () => {
  const certs = join(root, 'generated');
  let ca: Buffer;
  before(() => {
    genCerts(certs);
    ca = readFileSync(join(certs, 'ca.crt'));
  });

  it('when the example review is posted over HTTPS, then the CA verifies the server and the answer is a patch', async () => {
    const running = await serve(join(certs, 'tls.crt'), join(certs, 'tls.key'));
    try {
      const body = readFileSync(new URL('../../examples/admission-review.json', import.meta.url), 'utf8');
      const answer = await call(running.port, ca, new Agent(), '/mutate', body);
      assert.equal(answer.status, 200);
      const review = JSON.parse(answer.text) as AdmissionReview;
      assert.equal(review.response?.uid, (JSON.parse(body) as AdmissionReview).request?.uid);
      assert.equal(review.response?.patchType, 'JSONPatch');
    } finally {
      running.close();
    }
  });

  it('when a client trusts another CA, then the handshake fails', async () => {
    const running = await serve(join(certs, 'tls.crt'), join(certs, 'tls.key'));
    try {
      const other = join(root, 'other-ca');
      genCerts(other);
      await assert.rejects(call(running.port, readFileSync(join(other, 'ca.crt')), new Agent(), '/healthz'), /self-signed|unable to verify|certificate/i);
    } finally {
      running.close();
    }
  });
});

describe('certificate rotation', () => {
  const issued = join(root, 'issued');
  let ca: Buffer;
  before(() => {
    genCerts(issued);
    ca = readFileSync(join(issued, 'ca.crt'));
  });

  it('when the Secret volume swaps in a new pair, then an open keep-alive connection keeps working and a new connection gets the new certificate', GUARD, async () => {
    const first = pairIn(issued);
    const volume = new SecretVolume(join(root, 'secret-volume'), first);
    const running = await serve(volume.certFile, volume.keyFile);
    const kept = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await call(running.port, ca, kept, '/healthz');
      assert.equal(before.fingerprint, fingerprintOf(first.cert));

      genCerts(issued); // a new serving certificate from the same CA
      const second = pairIn(issued);
      assert.notEqual(fingerprintOf(second.cert), fingerprintOf(first.cert));
      const reloaded = next(running.certificate, 'reloaded');
      volume.publish(second);
      await reloaded;

      const old = await call(running.port, ca, kept, '/mutate', readFileSync(new URL('../fixtures/reviews/shared-gpu-pod.json', import.meta.url), 'utf8'));
      assert.equal(old.reused, true, 'the request went over the connection opened before the rotation');
      assert.equal(old.status, 200);
      assert.equal(old.fingerprint, fingerprintOf(first.cert));

      const fresh = await call(running.port, ca, new Agent(), '/healthz');
      assert.equal(fresh.reused, false);
      assert.equal(fresh.fingerprint, fingerprintOf(second.cert));
      assert.ok(running.lines.some((l) => l.msg === 'serving certificate reloaded' && l.fingerprint === fingerprintOf(second.cert)));
    } finally {
      kept.destroy();
      running.close();
    }
  });

  it('when the new pair does not match, then the old certificate stays in force and the log says why', GUARD, async () => {
    const good = pairIn(issued);
    const volume = new SecretVolume(join(root, 'secret-volume-bad'), good);
    const running = await serve(volume.certFile, volume.keyFile);
    try {
      const other = join(root, 'mismatch');
      genCerts(other);
      const rejected = next(running.certificate, 'rejected');
      volume.publish({ cert: pairIn(other).cert, key: good.key });
      const event = await rejected;
      assert.equal(event.type === 'rejected' && event.code, 'GA_CERT_KEY_MISMATCH');
      const fresh = await call(running.port, ca, new Agent(), '/healthz');
      assert.equal(fresh.status, 200);
      assert.equal(fresh.fingerprint, fingerprintOf(good.cert));
      const line = running.lines.find((l) => l.msg === 'new certificate rejected; keeping the one in force');
      assert.equal(line?.code, 'GA_CERT_KEY_MISMATCH');
      assert.match(String(line?.reason), /is not the key of/);
    } finally {
      running.close();
    }
  });

  it('when gen-certs.sh renews the files in place, then new connections get the new certificate and the expiry metric follows', GUARD, async () => {
    const dir = join(root, 'in-place');
    genCerts(dir, '-d', '30');
    const running = await serve(join(dir, 'tls.crt'), join(dir, 'tls.key'));
    try {
      const reloaded = next(running.certificate, 'reloaded');
      genCerts(dir, '-d', '90');
      await reloaded;
      const renewed = pairIn(dir);
      const fresh = await call(running.port, readFileSync(join(dir, 'ca.crt')), new Agent(), '/healthz');
      assert.equal(fresh.fingerprint, fingerprintOf(renewed.cert));
      const metrics = parseExposition((await call(running.port, readFileSync(join(dir, 'ca.crt')), new Agent(), '/metrics')).text);
      const notAfter = new X509Certificate(renewed.cert).validToDate.getTime() / 1000;
      assert.equal(valueOf(metrics, 'gpu_admission_certificate_expiry_timestamp_seconds'), notAfter);
    } finally {
      running.close();
    }
  });
});

describe('loadKeyPair', () => {
  const dir = join(root, 'load');
  const otherDir = join(root, 'load-other');
  before(() => {
    genCerts(dir);
    genCerts(otherDir);
    writeFileSync(join(root, 'garbage.crt'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
  });
  const cases: { when: string; files: () => { certFile: string; keyFile: string }; now?: () => number; code: string; names: RegExp }[] = [
    { when: 'the key file is missing', files: () => ({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'nope.key') }), code: 'GA_CERT_UNREADABLE', names: /nope\.key/ },
    { when: 'the certificate is not PEM', files: () => ({ certFile: join(root, 'garbage.crt'), keyFile: join(dir, 'tls.key') }), code: 'GA_CERT_INVALID', names: /garbage\.crt: not a PEM certificate/ },
    { when: 'the key belongs to another certificate', files: () => ({ certFile: join(dir, 'tls.crt'), keyFile: join(otherDir, 'tls.key') }), code: 'GA_CERT_KEY_MISMATCH', names: /is not the key of/ },
    {
      when: 'the certificate has expired', files: () => ({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }),
      now: () => Date.parse('2100-01-01T00:00:00Z'), code: 'GA_CERT_EXPIRED', names: /expired at/,
    },
  ];
  for (const c of cases) {
    it(`when ${c.when}, then it throws ${c.code}`, () => {
      assert.throws(() => loadKeyPair(c.files(), c.now), (err: unknown) => {
        assert.ok(err instanceof CertificateError);
        assert.equal(err.code, c.code);
        assert.match(err.message, c.names);
        return true;
      });
    });
  }

  it('when the pair is good, then its fingerprint and expiry are known', () => {
    const pair = loadKeyPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') });
    assert.equal(pair.fingerprint, fingerprintOf(pair.cert));
    assert.ok(pair.notAfter.getTime() > Date.now());
  });
});
